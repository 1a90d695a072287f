// Per-thread object caches in front of one global heap: the magazine layer of Bonwick & Adams ("Magazines and Vmem:
// Extending the Slab Allocator to Many CPUs and Arbitrary Resources", USENIX ATC 2001) and the thread caches of
// tcmalloc (Ghemawat & Menage) and jemalloc (Evans, "A Scalable Concurrent malloc(3) Implementation for FreeBSD",
// BSDCan 2006). Each thread keeps a cache of free objects per size class: an allocation takes one from it and a free
// puts one back, with no shared lock. Only when the cache is empty does the thread refill a batch of objects from the
// global heap, and only when it overflows does it flush a batch back, both under the global heap's lock; so the lock
// (and its bouncing cache line) is taken about once per `batch_objects` operations, not once per operation. Objects
// larger than `max_cached_bytes` bypass the caches and take the global lock every time.
#include <fmt/format.h>

#include <array>
#include <bit>

#include "sim/api/memory.hpp"
#include "sim/api/param_struct.hpp"

namespace mksim {

namespace {

struct PerThreadParams {
  double fast_cycles = 0, heap_cycles = 0, object_cycles = 0, max_cached_bytes = 0;
  int batch_objects = 0, cache_objects = 0;

  static const ParamStruct<PerThreadParams>& declare() {
    using P = PerThreadParams;
    static const ParamStruct<P> d =
        ParamStruct<P>()
            .bind(&P::fast_cycles,
                  Field::number("fast_cycles", 20, "cycles", "allocation or free served by the thread's own cache")
                      .at_least(0))
            .bind(&P::heap_cycles, Field::number("heap_cycles", 60, "cycles",
                                                 "work under the global heap lock per refill, flush or large object")
                                       .at_least(0))
            .bind(&P::object_cycles,
                  Field::number("object_cycles", 10, "cycles", "work under the global heap lock per object moved")
                      .at_least(0))
            .bind(&P::batch_objects, Field::integer("batch_objects", 32, "objects", "objects moved per refill or flush")
                                         .at_least(1)
                                         .at_most(1 << 20))
            .bind(&P::cache_objects, Field::integer("cache_objects", 64, "objects",
                                                    "objects a thread caches per size class before it flushes")
                                         .at_least(1)
                                         .at_most(1 << 20))
            .bind(&P::max_cached_bytes,
                  Field::number("max_cached_bytes", 32768, "bytes", "larger objects bypass the caches")
                      .at_least(0)
                      .at_most(1125899906842624.0));
    return d;
  }
};

class PerThreadCache final : public Allocator {
 public:
  PerThreadCache(const PerThreadParams& v, const Params& p)
      : fast_cycles_(v.fast_cycles),
        heap_cycles_(v.heap_cycles),
        object_cycles_(v.object_cycles),
        batch_(v.batch_objects),
        capacity_(v.cache_objects),
        max_cached_bytes_(static_cast<uint64_t>(v.max_cached_bytes)) {
    if (batch_ > capacity_)
      p.fail("batch_objects",
             fmt::format("found {}, expected at most cache_objects ({}): a refill must fit in the cache", batch_,
                         capacity_));
    lock_.name = "heap";
  }

  void allocate(Cpu& cpu, Thread& t, uint64_t bytes) override {
    if (bytes > max_cached_bytes_) return global(cpu, 1);
    // global() takes a lock, so other cores run meanwhile and may grow caches_: look the cache up again after it.
    if (cache(t, bytes) == 0) {
      global(cpu, batch_);
      cache(t, bytes) = batch_;
      cpu.count("cache_refill");
    }
    --cache(t, bytes);
    cpu.spend_cycles(fast_cycles_, Work::User);
  }

  void release(Cpu& cpu, Thread& t, uint64_t bytes) override {
    if (bytes > max_cached_bytes_) return global(cpu, 1);
    ++cache(t, bytes);
    cpu.spend_cycles(fast_cycles_, Work::User);
    if (cache(t, bytes) > capacity_) {
      global(cpu, batch_);
      cache(t, bytes) -= batch_;
      cpu.count("cache_flush");
    }
  }

 private:
  static constexpr int kClasses = 65;  // size classes: powers of two up to 2^64

  int& cache(const Thread& t, uint64_t bytes) {
    if (t.id >= caches_.size()) caches_.resize(t.id + 1, {});
    return caches_[t.id][std::bit_width(bytes > 1 ? bytes - 1 : 1)];
  }

  // Moving `objects` between a thread and the global heap, under its lock.
  void global(Cpu& cpu, int objects) {
    cpu.lock(lock_);
    cpu.spend_cycles(heap_cycles_ + objects * object_cycles_, Work::User);
    cpu.unlock(lock_);
  }

  double fast_cycles_, heap_cycles_, object_cycles_;
  int batch_, capacity_;
  uint64_t max_cached_bytes_;
  SpinLock lock_;
  std::vector<std::array<int, kClasses>> caches_;  // by thread id, by size class: free objects cached
};

AllocatorRegistry::Add reg(
    "allocator", "per-thread",
    "per-thread object caches (magazines); the global heap lock only on a refill or flush of a batch",
    PerThreadParams::declare().schema(),
    [](const Params& p) { return std::make_unique<PerThreadCache>(PerThreadParams::declare().read(p), p); });

}  // namespace
}  // namespace mksim
