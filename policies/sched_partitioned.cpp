// Spatial partitioning: every process (component) owns a set of cores, as Genode's affinity spaces give each component
// a rectangle of CPUs (Feske, "Genode Foundations", section "Affinity propagation"), and a partition's threads share
// one run queue that only its cores serve — clustered scheduling (Calandrino, Anderson, Baumberger, "A Hybrid Real-Time
// Scheduling Approach for Large-Scale Multicore Platforms", ECRTS 2007). Load balances inside a partition for free
// (any of its cores takes the next thread) and its lock's line moves only between its own cores; nothing ever
// migrates out of a partition, so partitions do not disturb each other's caches or queues.
//
// A thread's partition is, in order:
//  - `partitions[P]` if its process P is named there (those cores, within the thread's own affinity);
//  - else, with `exclusive`, its affinity minus every core a named partition claims;
//  - else its affinity: the cores of its process (env.create_process(name, cores)), all cores when that is empty.
// Partitions are identified by their set of cores: processes created with the same cores share a queue.
// Thread carries no process name, so a thread's process is the part of its name before the first '.' (the engine
// names threads "<process>.<n>", and the workloads follow that convention).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <set>

#include "sim/api/param_struct.hpp"
#include "sim/api/scheduler.hpp"

namespace mksim {

namespace {

struct PartitionedParams {
  double time_slice_us = 0, queue_op_cycles = 0;
  bool exclusive = false;

  static const ParamStruct<PartitionedParams>& declare() {
    using P = PartitionedParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .bind(&P::time_slice_us, Field::number("time_slice_us", 4000, "us", "time slice").above(0))
            .bind(&P::queue_op_cycles, Field::number("queue_op_cycles", 100, "cycles",
                                                     "work under a partition's queue lock per enqueue or pick")
                                           .at_least(0))
            // read in the constructor: a process name to its cores
            .unbound(Field::optional("partitions", FieldType::Object, "core ids",
                                     "cores of named processes, e.g. {\"kv0\": [0, 1, 2, 3]}; overrides the process's "
                                     "own cores"))
            .bind(&P::exclusive, Field::boolean("exclusive", true,
                                                "cores named in `partitions` are reserved: other processes' threads "
                                                "never run there"));
    return d;
  }
};

class Partitioned final : public Scheduler {
 public:
  Partitioned(const PartitionedParams& v, const Params& p)
      : params_(p), slice_s_(v.time_slice_us * 1e-6), queue_op_cycles_(v.queue_op_cycles), exclusive_(v.exclusive) {
    if (!p.has("partitions")) return;
    const Params parts = p.child("partitions");
    for (const auto& [process, cores] : parts.raw().items()) {
      std::vector<int> list;
      bool ok = cores.is_array() && !cores.empty();
      if (ok)
        for (const auto& c : cores) {
          // In int range before the cast; init() checks the core exists.
          ok = ok && c.is_number() && c.get<double>() >= 0 && c.get<double>() <= 1 << 30 &&
               c.get<double>() == std::floor(c.get<double>());
          if (ok) list.push_back(static_cast<int>(c.get<double>()));
        }
      if (!ok) parts.fail(process, fmt::format("found {}, expected a non-empty list of core ids", cores.dump()));
      std::sort(list.begin(), list.end());
      list.erase(std::unique(list.begin(), list.end()), list.end());
      named_[process] = list;
    }
  }

  void init(const Machine& m) override {
    Scheduler::init(m);
    const Params parts = params_.has("partitions") ? params_.child("partitions") : params_;
    std::map<int, std::string> owner;
    for (const auto& [process, cores] : named_)
      for (int c : cores) {
        if (c >= m.num_cores())
          parts.fail(process, fmt::format("core {} does not exist, the machine has cores 0..{}", c, m.num_cores() - 1));
        if (exclusive_ && owner.count(c))
          parts.fail(process, fmt::format("core {} is also in the partition of '{}'; exclusive partitions are "
                                          "disjoint (set exclusive to false to let them overlap)",
                                          c, owner[c]));
        owner[c] = process;
        claimed_.insert(c);
      }
    of_core_.assign(m.num_cores(), {});
    idle_.assign(m.num_cores(), 0);
  }

  // A partition for a process the run does not have is never used: most likely a typo.
  void setup_done(const std::vector<std::string>& processes, const std::vector<std::string>& threads) override {
    std::set<std::string> known(processes.begin(), processes.end());
    for (const auto& t : threads) known.insert(process_of(t));
    for (const auto& [process, cores] : named_)
      if (!known.count(process))
        params_.child("partitions")
            .fail(process, fmt::format("no process of the run is named '{}', {}", process,
                                       one_of(process, std::vector<std::string>(known.begin(), known.end()))));
  }

  int enqueue(Thread& t, Cpu* from, EnqueueReason why) override {
    Partition& p = partitions_[partition_of(t)];
    if (from) {
      from->lock(p.lock);
      from->spend_cycles(queue_op_cycles_, Work::Kernel);
    }
    p.threads.push_back({&t, seq_++});
    if (from) from->unlock(p.lock);
    // Wake one of the partition's idle cores (the engine's "any idle core" could pick one outside the partition); a
    // woken core no longer counts as idle, so that a burst of new threads wakes as many cores.
    for (int c : p.cores)
      if (idle_[c]) {
        idle_[c] = 0;
        return c;
      }
    return t.last_core >= 0 && std::binary_search(p.cores.begin(), p.cores.end(), t.last_core) ? t.last_core
                                                                                               : p.cores.front();
  }

  Thread* pick_next(Cpu& cpu) override {
    const int core = cpu.core();
    for (;;) {
      cpu.sync();  // the partition's queue is shared: look at it at this core's own time
      // Of the partitions this core serves (one, unless partitions overlap), the one whose head waited longest.
      Partition* best = nullptr;
      for (size_t i : of_core_[core]) {
        Partition& p = partitions_[i];
        if (!p.threads.empty() && (!best || p.threads.front().seq < best->threads.front().seq)) best = &p;
      }
      if (!best) break;
      cpu.lock(best->lock);
      cpu.spend_cycles(queue_op_cycles_, Work::Kernel);
      Thread* t = nullptr;
      if (!best->threads.empty()) {  // another core of the partition may have taken it while this one spun
        t = best->threads.front().thread;
        best->threads.pop_front();
      }
      cpu.unlock(best->lock);
      if (t) {
        idle_[core] = 0;
        return t;
      }
    }
    idle_[core] = 1;
    return nullptr;
  }

  bool has_waiting(int core) const override {
    for (size_t i : of_core_[core])
      if (!partitions_[i].threads.empty()) return true;
    return false;
  }
  size_t queue_length(int core) const override {
    size_t n = 0;
    for (size_t i : of_core_[core]) n += partitions_[i].threads.size();
    return n;
  }
  double time_slice_s(int core, const Thread& t) const override { return slice_s_; }

 private:
  struct Waiting {
    Thread* thread;
    uint64_t seq;
  };
  struct Partition {
    std::vector<int> cores;  // sorted
    std::deque<Waiting> threads;
    SpinLock lock;
  };

  static std::string process_of(const std::string& thread) { return thread.substr(0, thread.find('.')); }
  static std::string process_of(const Thread& t) { return process_of(t.name); }

  // The partition of a thread, created on its first enqueue (see the opening comment for the rules).
  size_t partition_of(const Thread& t) {
    if (t.id < partition_of_thread_.size() && partition_of_thread_[t.id] >= 0)
      return static_cast<size_t>(partition_of_thread_[t.id]);
    const std::string process = process_of(t);
    std::vector<int> cores;
    auto named = named_.find(process);
    for (int c = 0; c < machine_->num_cores(); ++c) {
      if (!t.may_run_on(c)) continue;
      if (named != named_.end() ? std::binary_search(named->second.begin(), named->second.end(), c)
                                : !(exclusive_ && claimed_.count(c)))
        cores.push_back(c);
    }
    if (cores.empty()) {
      const Params parts = params_.has("partitions") ? params_.child("partitions") : params_;
      if (named != named_.end())
        parts.fail(process, fmt::format("thread '{}' may run on none of the cores of the partition of process '{}'",
                                        t.name, process));
      params_.fail("partitions", fmt::format("thread '{}' of process '{}' has no core left: every core it may use "
                                             "belongs to a named partition (name its process, or set exclusive to "
                                             "false)",
                                             t.name, process));
    }
    size_t index = partitions_.size();
    for (size_t i = 0; i < partitions_.size(); ++i)
      if (partitions_[i].cores == cores) index = i;
    if (index == partitions_.size()) {
      partitions_.emplace_back();
      partitions_.back().cores = cores;
      partitions_.back().lock.name = fmt::format("partition{}", index);
      for (int c : cores) of_core_[c].push_back(index);
    }
    if (t.id >= partition_of_thread_.size()) partition_of_thread_.resize(t.id + 1, -1);
    partition_of_thread_[t.id] = static_cast<int64_t>(index);
    return index;
  }

  Params params_;
  double slice_s_, queue_op_cycles_;
  bool exclusive_;
  std::map<std::string, std::vector<int>> named_;  // process name -> its cores (sorted)
  std::set<int> claimed_;                          // cores some named partition owns
  std::deque<Partition> partitions_;               // a deque: partitions keep their address as more are made
  std::vector<std::vector<size_t>> of_core_;       // partitions each core serves
  std::vector<int64_t> partition_of_thread_;       // by thread id; -1: not yet placed
  std::vector<char> idle_;
  uint64_t seq_ = 0;
};

SchedulerRegistry::Add reg(
    "scheduler", "partitioned",
    "spatial partitioning (Genode affinity spaces): each process's threads share one queue served only by its cores",
    PartitionedParams::declare().schema(),
    [](const Params& p) { return std::make_unique<Partitioned>(PartitionedParams::declare().read(p), p); });

}  // namespace
}  // namespace mksim
