"""Python versions of three built-in policies, written against the Python policy interface (docs/writing-a-policy.md):
they make exactly the decisions, and charge exactly the costs, of their C++ originals, so a run with one gives the
same results, byte for byte, as with the built-in (tests/python/test_py_policies.py checks it; bench/run measures how
much slower the Python scheduler is). Start from them to write your own.

    import mksim
    from mksim.policy_examples import register_all
    register_all()          # py-round-robin, py-interleave, py-global-heap
    mksim.run("configs/fork-join.json", **{"kernel.scheduler": "py-round-robin"})
"""

from collections import deque

from . import policies


class RoundRobin(policies.Scheduler):
    """Per-core FIFO run queues with fixed time slices; new threads go to the least loaded core (as round-robin)."""

    def __init__(self, params):
        self.slice_s = params["time_slice_us"] * 1e-6

    def init(self, machine):
        self.queues = [deque() for _ in range(machine.num_cores)]
        self.running = [0] * machine.num_cores

    def enqueue(self, thread, cpu, why):
        core = thread.last_core
        if why == "spawned" or core < 0 or not thread.may_run_on(core):
            core = self._least_loaded(thread)
        self.queues[core].append(thread)
        return core

    def pick_next(self, cpu):
        queue = self.queues[cpu.core]
        if not queue:
            return None
        self.running[cpu.core] = 1
        return queue.popleft()

    def ran(self, thread, core, ran_s):
        self.running[core] = 0

    def has_waiting(self, core):
        return bool(self.queues[core])

    def queue_length(self, core):
        return len(self.queues[core])

    def time_slice_s(self, core, thread):
        return self.slice_s

    def _least_loaded(self, thread):
        best, best_load = -1, None
        for core, queue in enumerate(self.queues):
            if not thread.may_run_on(core):
                continue
            load = len(queue) + self.running[core]
            if best_load is None or load < best_load:
                best, best_load = core, load
        return 0 if best < 0 else best


class Interleave(policies.Placement):
    """Pages spread evenly over the given NUMA nodes (all by default), as interleave."""

    def __init__(self, params):
        self.given = [int(n) for n in params["nodes"]]

    def init(self, machine):
        self.nodes = self.given or list(range(machine.num_nodes))
        self.num_nodes = machine.num_nodes

    def place(self, region, thread, core):
        share = [0.0] * self.num_nodes
        for n in self.nodes:
            share[n] += 1.0 / len(self.nodes)
        return share


class GlobalHeap(policies.Allocator):
    """One heap behind one lock shared by every thread, as global-heap."""

    def __init__(self, params):
        self.alloc_cycles = params["alloc_cycles"]
        self.free_cycles = params["free_cycles"]
        self.lock = policies.SpinLock("heap")

    def allocate(self, cpu, thread, nbytes):
        cpu.lock(self.lock)
        cpu.spend_cycles(self.alloc_cycles, kernel=False)
        cpu.unlock(self.lock)

    def release(self, cpu, thread, nbytes):
        cpu.lock(self.lock)
        cpu.spend_cycles(self.free_cycles, kernel=False)
        cpu.unlock(self.lock)


def register_all():
    """Register the three as py-round-robin, py-interleave and py-global-heap, with the parameters of the originals."""
    param = policies.param
    policies.register_scheduler("py-round-robin", RoundRobin,
                                params={"time_slice_us": param(4000.0, unit="us", doc="time slice", above=0)})
    policies.register_placement("py-interleave", Interleave,
                                params={"nodes": param([], type="numbers", doc="nodes to spread over (empty: all)")})
    policies.register_allocator("py-global-heap", GlobalHeap, params={
        "alloc_cycles": param(60.0, unit="cycles", doc="work inside the lock per allocation", min=0),
        "free_cycles": param(40.0, unit="cycles", doc="work inside the lock per free", min=0)})
