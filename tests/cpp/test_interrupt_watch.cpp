// InterruptWatch: what the CLI's batch commands do with SIGINT and SIGTERM (sim/child_process.hpp).
#include <catch2/catch.hpp>
#include <csignal>
#include <stdexcept>
#include <string>

#include "sim/child_process.hpp"
#include "sim/sweep.hpp"

using namespace mksim;

namespace {
bool handler_is(int sig, void (*h)(int)) {
  struct sigaction now {};
  sigaction(sig, nullptr, &now);
  return now.sa_handler == h;
}
}  // namespace

TEST_CASE("an InterruptWatch records SIGINT and SIGTERM instead of dying, and puts the old handlers back") {
  auto old_int = std::signal(SIGINT, SIG_DFL);
  auto old_term = std::signal(SIGTERM, SIG_DFL);
  {
    InterruptWatch watch;
    CHECK(interrupt_signal() == 0);
    std::raise(SIGTERM);  // without the watch this ends the test program
    CHECK(interrupt_signal() == SIGTERM);
    std::raise(SIGINT);
    CHECK(interrupt_signal() == SIGTERM);  // the first one is kept
  }
  CHECK(interrupt_signal() == 0);
  CHECK(handler_is(SIGINT, SIG_DFL));
  CHECK(handler_is(SIGTERM, SIG_DFL));
  std::signal(SIGINT, old_int);
  std::signal(SIGTERM, old_term);
}

TEST_CASE("a signal inherited as ignored stays ignored under an InterruptWatch (a background job's SIGINT)") {
  auto old_int = std::signal(SIGINT, SIG_IGN);
  {
    InterruptWatch watch;
    CHECK(handler_is(SIGINT, SIG_IGN));
    std::raise(SIGINT);
    CHECK(interrupt_signal() == 0);
  }
  CHECK(handler_is(SIGINT, SIG_IGN));
  std::signal(SIGINT, old_int);
}

TEST_CASE(
    "a batch that sees an interrupt stops starting runs and says which signal (its running children are killed)") {
  InterruptWatch watch;
  std::raise(SIGINT);
  BatchItem item{[]() -> Scenario { throw std::runtime_error("not reached"); }, "unused"};
  CHECK_THROWS_MATCHES(run_batch({item}, 1), Interrupted,
                       Catch::Matchers::Predicate<Interrupted>([](const Interrupted& e) {
                         return e.signal == SIGINT && std::string(e.what()) == "interrupted by signal 2 (Interrupt)";
                       }));
}
