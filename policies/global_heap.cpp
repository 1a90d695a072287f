// One global heap behind one lock, the default of many C libraries and kernels of old: every allocation and free
// takes the same lock, so its cache line bounces between all allocating cores (Berger et al., Hoard, ASPLOS 2000).
#include "sim/api/memory.hpp"
#include "sim/api/param_struct.hpp"

namespace mksim {

namespace {

struct GlobalHeapParams {
  double alloc_cycles = 0, free_cycles = 0;

  static const ParamStruct<GlobalHeapParams>& declare() {
    static const ParamStruct<GlobalHeapParams> d =
        ParamStruct<GlobalHeapParams>()
            .bind(&GlobalHeapParams::alloc_cycles,
                  Field::number("alloc_cycles", 60, "cycles", "work inside the lock per allocation").at_least(0))
            .bind(&GlobalHeapParams::free_cycles,
                  Field::number("free_cycles", 40, "cycles", "work inside the lock per free").at_least(0));
    return d;
  }
};

class GlobalHeap final : public Allocator {
 public:
  explicit GlobalHeap(const GlobalHeapParams& p) : alloc_cycles_(p.alloc_cycles), free_cycles_(p.free_cycles) {
    lock_.name = "heap";
  }
  void allocate(Cpu& cpu, Thread&, uint64_t) override {
    cpu.lock(lock_);
    cpu.spend_cycles(alloc_cycles_, Work::User);
    cpu.unlock(lock_);
  }
  void release(Cpu& cpu, Thread&, uint64_t) override {
    cpu.lock(lock_);
    cpu.spend_cycles(free_cycles_, Work::User);
    cpu.unlock(lock_);
  }

 private:
  double alloc_cycles_, free_cycles_;
  SpinLock lock_;
};

AllocatorRegistry::Add reg("allocator", "global-heap", "one heap behind one lock shared by every thread",
                           GlobalHeapParams::declare().schema(), [](const Params& p) {
                             return std::make_unique<GlobalHeap>(GlobalHeapParams::declare().read(p));
                           });

}  // namespace
}  // namespace mksim
