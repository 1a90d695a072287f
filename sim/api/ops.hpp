// The operation vocabulary: what a simulated thread asks of the OS and the hardware. Workloads speak only this; kernel
// architectures (policies/) turn each operation into simulated hardware work (core time, memory traffic, cross-core
// messages). One flat value type, cheap to copy, so that a million operations per second cost little.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mksim {

enum class OpKind : uint8_t {
  Compute,    // cycles of user-level work on the core
  MemAccess,  // bytes of a memory region, with an access pattern
  Syscall,    // a system call doing `cycles` of in-kernel work (`target`: which service, see SyscallClass)
  Send,       // message of `bytes` on channel `target` (asynchronous; a full channel does not block in this model)
  Recv,       // blocks until a message is on channel `target`; result: the sender's message value
  Lock,       // acquire lock `target` (a user-level lock in shared memory)
  Unlock,     // release lock `target`
  Alloc,      // allocate `bytes` of memory; result: the region id
  Free,       // free region `target`
  Map,        // map `bytes` into the address space (page-table work)
  Unmap,      // unmap `bytes` from the address space: TLB shootdown on every core that may cache the mapping
  Spawn,      // start thread template `target`; result: the new thread's id
  Join,       // wait for thread `target` to exit
  Sleep,      // sleep `seconds`
  Wait,       // block until woken (`Wake`) or until a pending wake-up token is there
  Wake,       // wake thread `target`
  Yield,      // give the core to another runnable thread
  NextJob,    // a real-time thread's next job: sleep until its release at `seconds` (absolute simulated time; no sleep
              // when that has passed), which sets Thread::sched's release and absolute deadline (release + relative
              // deadline, else + period)
  Count
};

enum class AccessPattern : uint8_t {
  Sequential,  // streaming: bandwidth-bound, many misses in flight
  Random,      // independent random lines: bounded by misses in flight (memory-level parallelism)
  Chase,       // dependent loads (pointer chasing): one miss at a time, latency-bound
};

enum class AccessKind : uint8_t { Read, Write };

// What kind of kernel service a system call asks for; architectures cost them differently.
enum class SyscallClass : uint8_t {
  Null,     // a trap that does nothing (getpid): pure entry/exit cost
  File,     // a call served by the file system / VFS service
  Memory,   // a call on the address space (touches shared VM state)
  Process,  // process / thread management
  Net,      // a call served by the network stack
  Count
};

std::string_view to_string(OpKind k);
std::string_view to_string(AccessPattern p);
std::string_view to_string(SyscallClass c);
bool parse_op_kind(std::string_view s, OpKind& out);
bool parse_access_pattern(std::string_view s, AccessPattern& out);
bool parse_syscall_class(std::string_view s, SyscallClass& out);

struct Op {
  OpKind kind = OpKind::Compute;
  AccessPattern pattern = AccessPattern::Sequential;
  AccessKind access = AccessKind::Read;
  uint32_t target = 0;  // channel, lock, region, thread, template or syscall class, by kind
  double cycles = 0;    // Compute, Syscall (in-kernel work)
  uint64_t bytes = 0;   // MemAccess, Send, Alloc, Map, Unmap
  double seconds = 0;   // Sleep (a duration), NextJob (a release time)
  uint64_t value = 0;   // Send: a value carried to the receiver (e.g. a request's arrival time stamp in ns)

  static Op compute(double cycles) { return {.kind = OpKind::Compute, .cycles = cycles}; }
  static Op mem(uint32_t region, uint64_t bytes, AccessPattern p = AccessPattern::Sequential,
                AccessKind a = AccessKind::Read) {
    return {.kind = OpKind::MemAccess, .pattern = p, .access = a, .target = region, .bytes = bytes};
  }
  static Op syscall(SyscallClass c, double kernel_cycles = 0) {
    return {.kind = OpKind::Syscall, .target = static_cast<uint32_t>(c), .cycles = kernel_cycles};
  }
  static Op send(uint32_t channel, uint64_t bytes, uint64_t value = 0) {
    return {.kind = OpKind::Send, .target = channel, .bytes = bytes, .value = value};
  }
  static Op recv(uint32_t channel) { return {.kind = OpKind::Recv, .target = channel}; }
  static Op lock(uint32_t id) { return {.kind = OpKind::Lock, .target = id}; }
  static Op unlock(uint32_t id) { return {.kind = OpKind::Unlock, .target = id}; }
  static Op alloc(uint64_t bytes) { return {.kind = OpKind::Alloc, .bytes = bytes}; }
  static Op free(uint32_t region) { return {.kind = OpKind::Free, .target = region}; }
  static Op map(uint64_t bytes) { return {.kind = OpKind::Map, .bytes = bytes}; }
  static Op unmap(uint64_t bytes) { return {.kind = OpKind::Unmap, .bytes = bytes}; }
  static Op spawn(uint32_t templ) { return {.kind = OpKind::Spawn, .target = templ}; }
  static Op join(uint32_t thread) { return {.kind = OpKind::Join, .target = thread}; }
  static Op sleep(double seconds) { return {.kind = OpKind::Sleep, .seconds = seconds}; }
  static Op wait() { return {.kind = OpKind::Wait}; }
  static Op wake(uint32_t thread) { return {.kind = OpKind::Wake, .target = thread}; }
  static Op yield() { return {.kind = OpKind::Yield}; }
  static Op next_job(double release_s) { return {.kind = OpKind::NextJob, .seconds = release_s}; }
};

// What an operation gave back to the thread that issued it.
struct OpResult {
  double time_s = 0;   // simulated time when the operation completed
  uint64_t value = 0;  // region id, thread id, received message value, ...
};

}  // namespace mksim
