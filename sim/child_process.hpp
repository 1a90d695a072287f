// The one fork-pipe-reap runner of mksim. Three things run in a forked child process: a simulation (SimGrid allows one
// engine per process; run_isolated and the sweep's start_run), and libhwloc reading an XML file (it crashes on some
// malformed files). start_child forks and runs a body in the child; run_child also hands the body's answer back through
// a pipe (and, on request, what the child wrote on stderr) and reaps the child.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mksim {

// Hooks around the fork() of the children that ask for them (ChildSpec::fork_hooks: the sweep's runs), for a host
// process with a runtime of its own: the Python module takes the GIL before the fork and lets the interpreter
// reinitialise itself in the child (as os.fork does), so that policies written in Python can run in the child.
// `parent` runs in the parent after the fork (also when it failed), `child` in the child. Null: nothing.
struct ForkHooks {
  void (*before)() = nullptr;
  void (*parent)() = nullptr;
  void (*child)() = nullptr;
};
void set_fork_hooks(const ForkHooks& hooks);

struct ChildSpec {
  std::vector<int> default_signals;  // reset to SIG_DFL in the child (a crash ends the child, not a host's handler)
  unsigned timeout_s = 0;            // alarm(): SIGALRM ends a child that runs longer (0: no limit)
  bool capture_stderr = false;       // run_child: the child's stderr is read into ChildExit::err
  bool fork_hooks = false;           // run the ForkHooks around this fork
};

// No child could be started (pipe or fork failed); what() says which and why ("fork: Resource temporarily ...").
struct ChildStartError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Forks a child that runs `body` and exits with the status it returns (1 if it throws); returns the child's pid, which
// the caller reaps (wait_child). Buffered output is flushed before the fork and again before the child exits.
pid_t start_child(const ChildSpec& spec, const std::function<int()>& body);

struct ChildExit {
  int status = 0;   // as waitpid gives it
  std::string out;  // what the body returned
  std::string err;  // the child's stderr (with ChildSpec::capture_stderr; at most about 1 MiB)
};

// Runs `body` in a child and waits for it: the text the body returns is sent back through a pipe. The child exits with
// status 0 once the text is written (with 1 and no text if the body throws).
ChildExit run_child(const ChildSpec& spec, const std::function<std::string()>& body);

// waitpid for one child, retried when a signal interrupts it; -1 when `flags` has WNOHANG and the child still runs.
int wait_child(pid_t pid, int flags = 0);

// "signal 11 (Segmentation fault)" or "exit status 3", for messages.
std::string describe_exit(int status);

// While one lives, SIGINT and SIGTERM only record that they came (interrupt_signal), so that a batch of children can
// be ended with its parent: a signal sent to the parent alone (kill, a batch scheduler's SIGTERM) would otherwise leave
// the running children to finish as orphans. A signal the process inherited as ignored stays ignored (a background
// job's SIGINT). The destructor puts the previous handlers back. For the CLI's batch commands; one at a time.
class InterruptWatch {
 public:
  InterruptWatch();
  ~InterruptWatch();
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;

 private:
  struct Saved;
  std::unique_ptr<std::vector<Saved>> saved_;  // the handlers replaced
};
// The signal an InterruptWatch recorded (the first), or 0.
int interrupt_signal();

// Thrown by a batch that ended its children because interrupt_signal() was set.
struct Interrupted : std::runtime_error {
  explicit Interrupted(int sig);
  int signal;
};

}  // namespace mksim
