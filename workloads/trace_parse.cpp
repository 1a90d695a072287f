// Text readers for Linux scheduler traces. One tolerant line reader serves ftrace, trace-cmd, perf and systrace, since
// they share the line shape `TASK [(TGID)] [CPU] [FLAGS] TIMESTAMP: EVENT: PAYLOAD`; they differ in the task field
// (`comm-pid` for ftrace and trace-cmd, `comm pid` or `comm pid/tid` for perf), an optional TGID column `( 611)`
// (systrace), an optional flags column (`d.h3`), an optional subsystem prefix on the event (`sched:sched_switch`) and
// two payload styles: the kernel's own `key=value` format and libtraceevent's sched plugin
// (`comm:pid [prio] S ==> comm:pid [prio]`, `comm:pid [prio] success=1 CPU:003`).
#include "workloads/trace_parse.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "sim/api/params.hpp"
#include "sim/input.hpp"

namespace mksim {

namespace {

constexpr std::array<std::string_view, 5> kFormatNames = {"auto", "ftrace", "trace-cmd", "perf-sched", "systrace"};

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_blank(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c); });
}

bool parse_int(std::string_view s, int64_t& out) {
  s = trim(s);
  if (s.empty()) return false;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2), base = 16;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_pid(std::string_view s, int32_t& out) {
  int64_t v = 0;
  if (!parse_int(s, v) || v < 0 || v > std::numeric_limits<int32_t>::max()) return false;
  out = static_cast<int32_t>(v);
  return true;
}

// "12345.678901": a time stamp in seconds.
bool parse_seconds(std::string_view s, double& out) {
  if (s.empty() || !is_digit(s.front())) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, std::chars_format::fixed);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out);
}

// The start of a line, printable, for messages.
std::string excerpt(std::string_view line) {
  std::string out;
  for (char c : line.substr(0, 90)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (line.size() > 90) out += "...";
  return out;
}

// A hardirq/softirq/NMI mark in ftrace's flags column (`d.h.`, `dNs6`, `d.H5`): the event ran in interrupt context,
// so the task named on the line did not cause it.
bool flags_mean_irq(std::string_view flags) {
  if (flags.size() < 3 || flags.size() > 6) return false;
  for (char c : flags)
    if (!(c == '.' || is_digit(c) || std::string_view("dXNnpbBHhsZ").find(c) != std::string_view::npos)) return false;
  const char ctx = flags[2];
  return ctx == 'h' || ctx == 'H' || ctx == 's' || ctx == 'Z';
}

// The parts of an event line.
struct LineHead {
  std::string_view comm;
  int32_t pid = 0;
  int32_t tgid = -1;
  bool perf_task = false;  // `comm pid` rather than `comm-pid`
  int cpu = 0;
  bool irq = false;
  double time_s = 0;
  std::string_view event;  // without a subsystem prefix; "function" for a function-tracer line
  std::string_view payload;
};

std::string_view next_token(std::string_view s, size_t& at) {
  while (at < s.size() && is_blank(s[at])) ++at;
  size_t b = at;
  while (at < s.size() && !is_blank(s[at])) ++at;
  return s.substr(b, at - b);
}

bool timestamp_token(std::string_view tok, double& t) {
  return tok.size() > 1 && tok.back() == ':' && parse_seconds(tok.substr(0, tok.size() - 1), t);
}

// The task column: `comm-pid`, or `comm pid` / `comm pid/tid` (perf), optionally followed by `(tgid)`. "" or why not.
std::string split_task(std::string_view task, LineHead& h) {
  task = trim(task);
  if (!task.empty() && task.back() == ')') {
    size_t open = task.rfind('(');
    if (open == std::string_view::npos) return "unbalanced parenthesis in the task column";
    std::string_view inner = trim(task.substr(open + 1, task.size() - open - 2));
    int32_t tg = -1;
    if (parse_pid(inner, tg))
      h.tgid = tg;
    else if (inner.find_first_not_of('-') != std::string_view::npos)
      return fmt::format("the TGID column '({})' is not a number", inner);
    task = trim(task.substr(0, open));
  }
  if (task.empty()) return "no task before the CPU column";
  size_t dash = task.rfind('-');
  if (dash != std::string_view::npos && all_digits(task.substr(dash + 1))) {
    h.comm = task.substr(0, dash);
    if (!parse_pid(task.substr(dash + 1), h.pid)) return "the task's PID is out of range";
    return "";
  }
  size_t sp = task.find_last_of(" \t");
  std::string_view last = sp == std::string_view::npos ? task : task.substr(sp + 1);
  size_t slash = last.find('/');
  std::string_view tid = slash == std::string_view::npos ? last : last.substr(slash + 1);
  if (slash != std::string_view::npos && !all_digits(last.substr(0, slash))) tid = {};
  if (!all_digits(tid) || !parse_pid(tid, h.pid))
    return fmt::format("cannot find the task's PID in '{}' (expected comm-pid or comm pid)", excerpt(task));
  h.comm = sp == std::string_view::npos ? std::string_view() : trim(task.substr(0, sp));
  h.perf_task = true;
  return "";
}

// Splits `TASK [(TGID)] [CPU] [FLAGS] TIMESTAMP: EVENT: PAYLOAD`; "" or why not.
std::string split_head(std::string_view s, LineHead& h) {
  for (size_t i = s.find('['); i != std::string_view::npos; i = s.find('[', i + 1)) {
    if (i == 0 || !(is_blank(s[i - 1]) || s[i - 1] == ')')) continue;
    size_t j = i + 1;
    while (j < s.size() && is_digit(s[j])) ++j;
    if (j == i + 1 || j - i - 1 > 6 || j >= s.size() || s[j] != ']') continue;
    size_t k = j + 1;
    std::string_view a = next_token(s, k), flags;
    double t = 0;
    if (!timestamp_token(a, t)) {
      flags = a;
      if (!timestamp_token(next_token(s, k), t)) continue;
    }
    h = LineHead{};
    if (auto why = split_task(s.substr(0, i), h); !why.empty()) return why;
    h.cpu = std::stoi(std::string(s.substr(i + 1, j - i - 1)));
    h.irq = flags_mean_irq(flags);
    h.time_s = t;
    size_t before_event = k;
    std::string_view ev = next_token(s, k);
    if (ev.size() > 1 && ev.back() == ':') {
      ev.remove_suffix(1);
      size_t colon = ev.rfind(':');
      if (colon != std::string_view::npos) ev.remove_prefix(colon + 1);
      h.event = ev;
      h.payload = trim(s.substr(k));
    } else {
      h.event = ev.empty() ? std::string_view("(empty)") : std::string_view("function");
      h.payload = trim(s.substr(before_event));
    }
    return "";
  }
  return "not a trace event line";
}

// `key=value` pairs of a payload. A value may contain blanks (`prev_comm=Web Content`): tokens that do not start a
// new `key=` belong to the value before them; `==>` only separates.
struct Fields {
  std::vector<std::pair<std::string_view, std::string>> kv;

  explicit Fields(std::string_view payload) {
    size_t at = 0;
    while (true) {
      std::string_view tok = next_token(payload, at);
      if (tok.empty()) break;
      if (tok == "==>") {
        kv.emplace_back("", "");  // closes the value before it
        continue;
      }
      size_t eq = tok.find('=');
      bool key = eq != std::string_view::npos && eq > 0 &&
                 std::all_of(tok.begin(), tok.begin() + static_cast<std::ptrdiff_t>(eq),
                             [](char c) { return c == '_' || std::isalnum(static_cast<unsigned char>(c)); });
      if (key) {
        kv.emplace_back(tok.substr(0, eq), std::string(tok.substr(eq + 1)));
      } else if (!kv.empty() && !kv.back().first.empty()) {
        kv.back().second += ' ';
        kv.back().second += tok;
      }
    }
  }
  const std::string* find(std::string_view key) const {
    for (const auto& [k, v] : kv)
      if (k == key) return &v;
    return nullptr;
  }
};

// libtraceevent's sched plugin: `comm:pid [prio]`; the part before the first ` [`, split at its last colon.
bool plugin_task(std::string_view s, std::string_view& comm, int32_t& pid, std::string_view& rest) {
  s = trim(s);
  size_t br = s.find(" [");
  std::string_view head = br == std::string_view::npos ? s : s.substr(0, br);
  rest = br == std::string_view::npos ? std::string_view() : s.substr(br + 1);
  if (br == std::string_view::npos) {
    size_t sp = s.find_first_of(" \t");
    head = sp == std::string_view::npos ? s : s.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : s.substr(sp);
  }
  size_t colon = head.rfind(':');
  if (colon == std::string_view::npos) return false;
  comm = head.substr(0, colon);
  return parse_pid(head.substr(colon + 1), pid);
}

class Reader {
 public:
  Reader(ParsedTrace& out, TraceFormat hint) : out_(out), hint_(hint) {}

  // One line of trace text; `no` is its line number in the file.
  void line(std::string_view raw, int no) {
    ++out_.lines;
    std::string_view s = trim(raw);
    if (s.empty()) return;
    for (char c : s)
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
        fail(no, fmt::format("binary data (byte 0x{:02x}): this is not a text trace", static_cast<unsigned char>(c)));
    if (s.front() == '#') {
      if (!format_known_) set_format(TraceFormat::Ftrace);
      size_t p = s.find("#P:");
      if (p != std::string_view::npos) {
        int64_t n = 0;
        size_t e = p + 3;
        while (e < s.size() && is_digit(s[e])) ++e;
        if (parse_int(s.substr(p + 3, e - p - 3), n) && n > 0 && n < 1 << 20) out_.cpus = static_cast<int>(n);
      }
      return;
    }
    if (starts_with(s, "version =") || starts_with(s, "version=")) {
      if (!format_known_) set_format(TraceFormat::TraceCmd);
      return;
    }
    if (starts_with(s, "cpus=")) {
      int64_t n = 0;
      if (parse_int(s.substr(5), n) && n > 0 && n < 1 << 20) out_.cpus = static_cast<int>(n);
      return;
    }
    if (starts_with(s, "=>") || (starts_with(s, "CPU ") && s.find(" is empty") != std::string_view::npos)) return;
    if (starts_with(s, "CPU:") && s.find("LOST") != std::string_view::npos) {  // CPU:3 [LOST 120 EVENTS]
      size_t p = s.find("LOST") + 4, e;
      while (p < s.size() && is_blank(s[p])) ++p;
      for (e = p; e < s.size() && is_digit(s[e]);) ++e;
      int64_t n = 0;
      if (parse_int(s.substr(p, e - p), n)) out_.lost_events += static_cast<uint64_t>(n);
      return;
    }
    LineHead h;
    std::string why = split_head(s, h);
    if (!why.empty()) {
      if (out_.events_total == 0 && !format_known_)
        fail(no, fmt::format("unknown trace format: '{}' is not ftrace text (`TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: "
                             "...`), `trace-cmd report` or `perf sched script` output, nor systrace HTML",
                             excerpt(s)));
      fail(no, fmt::format("{}: '{}'", why, excerpt(s)));
    }
    if (!format_known_) set_format(h.perf_task ? TraceFormat::PerfSched : TraceFormat::Ftrace);
    if (out_.events_total > 0 && h.time_s < out_.last_s)
      fail(no, fmt::format("time stamp {:.6f} goes back in time from {:.6f} at line {} (the events must be in time "
                           "order, as ftrace, trace-cmd and perf write them)",
                           h.time_s, out_.last_s, last_line_));
    if (out_.events_total == 0) out_.first_s = h.time_s;
    out_.last_s = h.time_s;
    last_line_ = no;
    ++out_.events_total;
    max_cpu_ = std::max(max_cpu_, h.cpu);
    remember(h.pid, h.comm);
    if (h.tgid >= 0 && h.pid != 0) out_.tgid[h.pid] = h.tgid;
    event(h, s, no);
  }

  void finish() {
    out_.cpus = std::max(out_.cpus, max_cpu_ + 1);
    if (!format_known_) out_.format = hint_ == TraceFormat::Auto ? TraceFormat::Ftrace : hint_;
  }

  std::string file;

 private:
  [[noreturn]] void fail(int no, const std::string& what) const {
    throw InputError(file, fmt::format("line {}", no), what);
  }

  void set_format(TraceFormat f) {
    out_.format = hint_ == TraceFormat::Auto ? f : hint_;
    format_known_ = true;
  }

  void remember(int32_t pid, std::string_view comm) {
    if (pid == 0 || comm.empty() || comm == "<...>" || (comm.front() == '<' && comm.back() == '>')) return;
    // A Linux comm is 16 bytes of anything: keep it readable and storable (results.json is UTF-8) with bad bytes as
    // \xNN.
    out_.comm[pid] = escape_invalid_utf8(comm);
  }

  // A skipped event still tells which task was on its CPU.
  void skip(std::string_view name, SchedEvent e) {
    ++out_.skipped[std::string(name)];
    e.kind = SchedEventKind::Other;
    out_.events.push_back(e);
  }

  int32_t need_pid(const Fields& f, std::string_view key, std::string_view event, std::string_view s, int no) const {
    const std::string* v = f.find(key);
    int32_t pid = 0;
    if (!v) fail(no, fmt::format("{} without {}=: '{}'", event, key, excerpt(s)));
    if (!parse_pid(*v, pid)) fail(no, fmt::format("{}: {}={} is not a task id: '{}'", event, key, *v, excerpt(s)));
    return pid;
  }

  void event(const LineHead& h, std::string_view s, int no) {
    SchedEvent e;
    e.cpu = h.cpu;
    e.line = no;
    e.time_s = h.time_s;
    e.task = h.pid;
    e.irq = h.irq;
    const std::string_view name = h.event;
    if (name == "sched_switch") {
      e.kind = SchedEventKind::Switch;
      Fields f(h.payload);
      if (f.find("prev_pid") || f.find("next_pid")) {
        e.prev = need_pid(f, "prev_pid", name, s, no);
        e.next = need_pid(f, "next_pid", name, s, no);
        if (const auto* st = f.find("prev_state")) e.prev_state = parse_leave_state(*st);
        if (const auto* c = f.find("prev_comm")) remember(e.prev, *c);
        if (const auto* c = f.find("next_comm")) remember(e.next, *c);
      } else {  // prev_comm:prev_pid [prio] STATE ==> next_comm:next_pid [prio]
        size_t arrow = h.payload.find("==>");
        std::string_view pc, nc, rest, ignored;
        if (arrow == std::string_view::npos || !plugin_task(h.payload.substr(0, arrow), pc, e.prev, rest) ||
            !plugin_task(h.payload.substr(arrow + 3), nc, e.next, ignored))
          fail(no, fmt::format("sched_switch without prev_pid and next_pid: '{}'", excerpt(s)));
        rest = trim(rest);
        if (!rest.empty() && rest.front() == '[') rest = trim(rest.substr(std::min(rest.size(), rest.find(']') + 1)));
        e.prev_state = parse_leave_state(rest);
        remember(e.prev, pc);
        remember(e.next, nc);
      }
    } else if (name == "sched_wakeup" || name == "sched_waking" || name == "sched_wakeup_new") {
      e.kind = name == "sched_wakeup"   ? SchedEventKind::Wakeup
               : name == "sched_waking" ? SchedEventKind::Waking
                                        : SchedEventKind::WakeupNew;
      Fields f(h.payload);
      if (f.find("pid")) {
        e.pid = need_pid(f, "pid", name, s, no);
        if (const auto* c = f.find("comm")) remember(e.pid, *c);
      } else {  // comm:pid [prio] success=1 CPU:003
        std::string_view c, rest;
        if (!plugin_task(h.payload, c, e.pid, rest))
          fail(no, fmt::format("{} without the woken task's pid: '{}'", name, excerpt(s)));
        remember(e.pid, c);
      }
      if (const auto* ok = f.find("success")) e.success = ok->substr(0, ok->find(' ')) != "0";
      if (!e.success) {
        skip(std::string(name) + "(success=0)", e);
        return;
      }
    } else if (name == "sched_process_fork") {
      e.kind = SchedEventKind::Fork;
      Fields f(h.payload);
      e.parent = f.find("pid") ? need_pid(f, "pid", name, s, no) : h.pid;
      e.pid = need_pid(f, "child_pid", name, s, no);
      if (const auto* c = f.find("child_comm")) remember(e.pid, *c);
      if (const auto* c = f.find("comm")) remember(e.parent, *c);
    } else if (name == "sched_process_exit") {
      e.kind = SchedEventKind::Exit;
      Fields f(h.payload);
      e.pid = f.find("pid") ? need_pid(f, "pid", name, s, no) : h.pid;
    } else {
      skip(name, e);
      return;
    }
    ++out_.events_used;
    out_.events.push_back(e);
  }

  ParsedTrace& out_;
  TraceFormat hint_;
  bool format_known_ = false;
  int max_cpu_ = -1;
  int last_line_ = 0;
};

// Calls `fn(line, number)` for every line of `text`, numbering from `first_no`.
template <class F>
void for_each_line(std::string_view text, int first_no, F&& fn) {
  int no = first_no;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) nl = text.size();
    fn(text.substr(at, nl - at), no++);
    at = nl + 1;
  }
}

int line_of(std::string_view text, size_t offset) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

bool looks_like_html(std::string_view text) {
  std::string_view head = trim(text.substr(0, 4096));
  while (!head.empty() && (head.front() == '\n' || head.front() == '\r' || is_blank(head.front())))
    head.remove_prefix(1);
  auto lower_starts = [&](std::string_view p) {
    if (head.size() < p.size()) return false;
    for (size_t i = 0; i < p.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(head[i])) != p[i]) return false;
    return true;
  };
  return lower_starts("<!doctype html") || lower_starts("<html") || text.find("class=\"trace-data\"") != text.npos;
}

// Systrace HTML: the ftrace text sits in `<script class="trace-data" type="application/text">` blocks (other such
// blocks hold JSON). Reads every non-JSON block, keeping the HTML file's line numbers.
void read_systrace(std::string_view text, Reader& r, const std::string& file) {
  int blocks = 0;
  for (size_t at = text.find("<script"); at != std::string_view::npos; at = text.find("<script", at + 1)) {
    size_t close = text.find('>', at);
    if (close == std::string_view::npos) break;
    std::string_view tag = text.substr(at, close - at);
    if (tag.find("trace-data") == std::string_view::npos) continue;
    size_t end = text.find("</script>", close);
    if (end == std::string_view::npos)
      throw InputError(file, fmt::format("line {}", line_of(text, at)),
                       "a trace-data <script> block is not closed: the file is truncated");
    std::string_view body = text.substr(close + 1, end - close - 1);
    std::string_view first = trim(body);
    while (!first.empty() && (first.front() == '\n' || first.front() == '\r')) first = trim(first.substr(1));
    if (first.empty() || first.front() == '{' || first.front() == '[') continue;  // JSON metadata
    ++blocks;
    for_each_line(body, line_of(text, close + 1), [&](std::string_view l, int no) {
      if (trim(l).find("</script") == 0) return;
      r.line(l, no);
    });
  }
  if (blocks == 0)
    throw InputError(file, "",
                     "systrace HTML without ftrace text: no <script class=\"trace-data\"> block holding trace lines");
}

}  // namespace

std::string_view to_string(TraceFormat f) {
  return kFormatNames.at(static_cast<size_t>(f));
}

bool parse_trace_format(std::string_view s, TraceFormat& out) {
  for (size_t i = 0; i < kFormatNames.size(); ++i)
    if (kFormatNames[i] == s) {
      out = static_cast<TraceFormat>(i);
      return true;
    }
  return false;
}

LeaveState parse_leave_state(std::string_view s) {
  s = trim(s);
  if (s.empty()) return LeaveState::Unknown;
  int64_t v = 0;
  if (is_digit(s.front()) && parse_int(s, v)) {
    // Kernel task-state bits. Bits 0-1 (S, D) and 4-5 (EXIT_DEAD, EXIT_ZOMBIE) mean the same in every kernel; a lone
    // high bit is the "preempted" marker (TASK_STATE_MAX 1024/2048/4096 before 4.14, TASK_REPORT_MAX 256 since);
    // 64 is TASK_DEAD before 4.14 but TASK_PARKED since, so it stays Unknown and the wake-ups decide.
    if (v == 0) return LeaveState::Runnable;
    if (v & 0x3) return LeaveState::Blocked;
    if (v & 0x30) return LeaveState::Dead;
    if (v == 4 || v == 8 || v == 128) return LeaveState::Blocked;  // stopped, traced, idle kernel thread
    if (v >= 256 && (v & (v - 1)) == 0) return LeaveState::Runnable;
    return LeaveState::Unknown;
  }
  // Letters: "R", "R+" (preempted), "S", "D", "I", "T", "t", "P", "W", combinations "D|K", "S|W"; "X", "Z", "x" dead.
  if (s.front() == 'R') return LeaveState::Runnable;
  if (s.find_first_of("XZx") != std::string_view::npos) return LeaveState::Dead;
  if (s.find_first_of("SDITtPKWN") != std::string_view::npos) return LeaveState::Blocked;
  return LeaveState::Unknown;
}

uint64_t ParsedTrace::events_skipped() const {
  uint64_t n = 0;
  for (const auto& [k, v] : skipped) n += v;
  return n;
}

ParsedTrace parse_sched_trace(std::string_view text, const std::string& file, TraceFormat format) {
  ParsedTrace out;
  out.file = file;
  if (trim(text).find_first_not_of("\r\n") == std::string_view::npos)
    throw InputError(file, "", "the trace file is empty");
  if (starts_with(text, "\x17\x08\x44tracing"))
    throw InputError(file, "",
                     "a binary trace-cmd trace.dat: turn it into text first with `trace-cmd report > trace.txt`");
  if (starts_with(text, "PERFILE"))
    throw InputError(file, "", "a binary perf.data file: turn it into text first with `perf sched script > sched.txt`");
  if (size_t nul = text.find('\0'); nul != std::string_view::npos)
    throw InputError(file, fmt::format("line {}", line_of(text, nul)),
                     "binary data (a NUL byte): this is not a text trace");
  Reader r(out, format);
  r.file = file;
  const bool html = looks_like_html(text);
  if (html && format != TraceFormat::Auto && format != TraceFormat::Systrace)
    throw InputError(
        file, "",
        fmt::format("this is systrace HTML, not {} text (use format 'systrace' or 'auto')", to_string(format)));
  if (html) {
    read_systrace(text, r, file);
    out.format = TraceFormat::Systrace;
    r.finish();
    out.format = TraceFormat::Systrace;
  } else {
    for_each_line(text, 1, [&](std::string_view l, int no) { r.line(l, no); });
    r.finish();
  }
  if (out.events_total == 0) throw InputError(file, "", "no trace events in the file (only comments and headers)");
  return out;
}

ParsedTrace parse_sched_trace_file(const std::string& path, TraceFormat format) {
  return parse_sched_trace(read_input_file(path, "the trace file"), path, format);
}

}  // namespace mksim
