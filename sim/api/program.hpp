// How a simulated thread's behaviour is written: an OpSource hands the kernel one operation at a time and receives
// each result. Workloads write them as C++20 coroutines (`co_await Op::compute(1000)` returns the OpResult), traces
// replay them from files. A thread is a plain object driven by its core's actor: no SimGrid actor per thread.
#pragma once

#include <coroutine>
#include <exception>
#include <memory>
#include <utility>

#include "sim/api/ops.hpp"

namespace mksim {

class OpSource {
 public:
  virtual ~OpSource() = default;
  // The next operation, given the result of the previous one; false when the thread has finished.
  virtual bool next(const OpResult& last, Op& out) = 0;
};

// A coroutine that yields operations: `Program worker(...) { auto r = co_await Op::recv(0); ... }`.
class Program final : public OpSource {
 public:
  struct promise_type {
    Op pending;
    OpResult result;
    std::exception_ptr error;

    Program get_return_object() { return Program(std::coroutine_handle<promise_type>::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { error = std::current_exception(); }

    struct Awaiter {
      promise_type* p;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<>) const noexcept {}
      OpResult await_resume() const noexcept { return p->result; }
    };
    Awaiter await_transform(const Op& op) noexcept {
      pending = op;
      return Awaiter{this};
    }
  };

  Program(Program&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Program& operator=(Program&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  ~Program() override {
    if (h_) h_.destroy();
  }

  bool next(const OpResult& last, Op& out) override {
    if (!h_ || h_.done()) return false;
    h_.promise().result = last;
    h_.resume();
    if (h_.promise().error) std::rethrow_exception(std::exchange(h_.promise().error, nullptr));
    if (h_.done()) return false;
    out = h_.promise().pending;
    return true;
  }

 private:
  explicit Program(std::coroutine_handle<promise_type> h) : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

template <class P>
std::unique_ptr<OpSource> boxed(P&& program) {
  return std::make_unique<std::decay_t<P>>(std::forward<P>(program));
}

}  // namespace mksim
