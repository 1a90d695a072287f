#include "sim/child_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

namespace mksim {

namespace {

ForkHooks g_fork_hooks;

void write_all(int fd, const std::string& text) {
  for (size_t off = 0; off < text.size();) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// Reads the pipes to their end (a child that fills one while the parent waits on the other would block). err_fd < 0:
// only out_fd.
void read_pipes(int out_fd, int err_fd, std::string& out, std::string& err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::vector<char> buf(1 << 16);
  int open = err_fd < 0 ? 1 : 2;
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::read(fds[k].fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[k].fd = -1;
        --open;
      } else if (k == 0) {
        out.append(buf.data(), static_cast<size_t>(n));
      } else if (err.size() < (1u << 20)) {  // a verbose child may say a lot; its last words are what matter
        err.append(buf.data(), static_cast<size_t>(n));
      }
    }
  }
}

// The fork itself, with the hooks; in the child, the signals and the alarm. Returns fork()'s value.
pid_t fork_child(const ChildSpec& spec) {
  std::fflush(nullptr);
  const bool hooks = spec.fork_hooks;
  if (hooks && g_fork_hooks.before) g_fork_hooks.before();
  const pid_t pid = ::fork();
  const int fork_errno = errno;
  if (pid != 0 && hooks && g_fork_hooks.parent) g_fork_hooks.parent();
  if (pid < 0) throw ChildStartError(fmt::format("fork: {}", std::strerror(fork_errno)));
  if (pid == 0) {
    if (hooks && g_fork_hooks.child) g_fork_hooks.child();
    for (int sig : spec.default_signals) std::signal(sig, SIG_DFL);
    if (spec.timeout_s > 0) ::alarm(spec.timeout_s);
  }
  return pid;
}

[[noreturn]] void exit_child(int code) {
  std::fflush(nullptr);
  ::_exit(code);
}

}  // namespace

void set_fork_hooks(const ForkHooks& hooks) {
  g_fork_hooks = hooks;
}

pid_t start_child(const ChildSpec& spec, const std::function<int()>& body) {
  const pid_t pid = fork_child(spec);
  if (pid > 0) return pid;
  int code = 1;
  try {
    code = body();
  } catch (...) {
  }
  exit_child(code);
}

ChildExit run_child(const ChildSpec& spec, const std::function<std::string()>& body) {
  int out[2], err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0) throw ChildStartError(fmt::format("pipe: {}", std::strerror(errno)));
  if (spec.capture_stderr && ::pipe2(err, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(out[0]), ::close(out[1]);
    throw ChildStartError(fmt::format("pipe: {}", std::strerror(e)));
  }
  pid_t pid;
  try {
    pid = fork_child(spec);
  } catch (...) {
    for (int fd : {out[0], out[1], err[0], err[1]})
      if (fd >= 0) ::close(fd);
    throw;
  }
  if (pid == 0) {
    ::close(out[0]);
    if (spec.capture_stderr) ::close(err[0]), ::dup2(err[1], STDERR_FILENO);
    int code = 0;
    try {
      write_all(out[1], body());
    } catch (...) {
      code = 1;
    }
    ::close(out[1]);
    exit_child(code);
  }
  ::close(out[1]);
  if (err[1] >= 0) ::close(err[1]);
  ChildExit r;
  read_pipes(out[0], err[0], r.out, r.err);
  ::close(out[0]);
  if (err[0] >= 0) ::close(err[0]);
  r.status = wait_child(pid, 0);
  return r;
}

int wait_child(pid_t pid, int flags) {
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, flags);
    if (r == pid) return status;
    if (r == 0) return -1;  // WNOHANG: still running
    if (errno != EINTR) throw std::runtime_error(fmt::format("waitpid: {}", std::strerror(errno)));
  }
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) return fmt::format("signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("exit status {}", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

namespace {
volatile std::sig_atomic_t g_interrupt = 0;
extern "C" void record_interrupt(int sig) {
  if (g_interrupt == 0) g_interrupt = sig;
}
}  // namespace

struct InterruptWatch::Saved {
  int sig;
  struct sigaction old;
};

InterruptWatch::InterruptWatch() : saved_(std::make_unique<std::vector<Saved>>()) {
  g_interrupt = 0;
  for (int sig : {SIGINT, SIGTERM}) {
    Saved s{sig, {}};
    if (::sigaction(sig, nullptr, &s.old) != 0 || s.old.sa_handler == SIG_IGN) continue;
    struct sigaction act {};
    act.sa_handler = record_interrupt;
    sigemptyset(&act.sa_mask);
    if (::sigaction(sig, &act, nullptr) == 0) saved_->push_back(s);
  }
}

InterruptWatch::~InterruptWatch() {
  for (const auto& s : *saved_) ::sigaction(s.sig, &s.old, nullptr);
  g_interrupt = 0;
}

int interrupt_signal() {
  return g_interrupt;
}

Interrupted::Interrupted(int sig)
    : std::runtime_error(fmt::format("interrupted by signal {} ({})", sig, strsignal(sig))), signal(sig) {}

}  // namespace mksim
