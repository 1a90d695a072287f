// A Cpu test double that does nothing and stays at time 0, for running a kernel mechanism (an agreement protocol)
// without a simulation; a test derives from it and overrides what it records.
#pragma once

#include "sim/api/cpu.hpp"

namespace mksim {

class QuietCpu : public Cpu {
 public:
  QuietCpu(const Machine& m, int core) : m_(m), core_(core) {}
  int core() const override { return core_; }
  const Machine& machine() const override { return m_; }
  double now_s() const override { return 0; }
  void spend_cycles(double, Work) override {}
  void spend_s(double, Work) override {}
  void lock(SpinLock&) override {}
  void unlock(SpinLock&) override {}
  void run_handler(int, int, double, double, double) override {}
  void count(const char*, uint64_t) override {}
  void sync() override {}
  void block_until(double, const char*) override {}
  bool is_idle(int) const override { return false; }

 private:
  const Machine& m_;
  int core_;
};

}  // namespace mksim
