// The `ops` trace format: the writer the recorder (sim/recorder.cpp) uses and the checked reader the `ops` workload
// (workloads/ops_replay.cpp) uses.
#include "sim/ops_format.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <sstream>

#include "sim/config.hpp"
#include "sim/input.hpp"

namespace mksim {

namespace {

using ojson = nlohmann::ordered_json;

constexpr uint32_t kNone = UINT32_MAX;

const char* access_name(AccessKind a) {
  return a == AccessKind::Write ? "write" : "read";
}

// Where a line's fields are checked; errors name the file and the line.
struct LineCheck {
  const std::string& file;
  int no;
  const json& obj;

  [[noreturn]] void fail(const std::string& what) const { throw InputError(file, fmt::format("line {}", no), what); }

  const json* find(const char* key) const {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }
  uint64_t uint(const char* key, bool required = true, uint64_t def = 0) const {
    const json* v = find(key);
    if (!v) {
      if (required) fail(fmt::format("missing \"{}\"", key));
      return def;
    }
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0))
      fail(fmt::format("\"{}\" is {}, expected a whole number >= 0", key, v->dump()));
    return v->get<uint64_t>();
  }
  int64_t integer(const char* key, int64_t def) const {
    const json* v = find(key);
    if (!v) return def;
    if (!v->is_number_integer()) fail(fmt::format("\"{}\" is {}, expected a whole number", key, v->dump()));
    return v->get<int64_t>();
  }
  double number(const char* key, bool required = true, double def = 0) const {
    const json* v = find(key);
    if (!v) {
      if (required) fail(fmt::format("missing \"{}\"", key));
      return def;
    }
    if (!v->is_number() || !(v->get<double>() >= 0))
      fail(fmt::format("\"{}\" is {}, expected a number >= 0", key, v->dump()));
    return v->get<double>();
  }
  std::string text(const char* key, bool required = true, const std::string& def = "") const {
    const json* v = find(key);
    if (!v) {
      if (required) fail(fmt::format("missing \"{}\"", key));
      return def;
    }
    if (!v->is_string()) fail(fmt::format("\"{}\" is {}, expected a string", key, v->dump()));
    return v->get<std::string>();
  }
  std::vector<int> cores(const char* key) const {
    std::vector<int> out;
    const json* v = find(key);
    if (!v) return out;
    if (!v->is_array()) fail(fmt::format("\"{}\" is {}, expected a list of core ids", key, v->dump()));
    for (const auto& c : *v) {
      if (!c.is_number_integer() || c.get<int64_t>() < 0 || c.get<int64_t>() > 1 << 24)
        fail(fmt::format("\"{}\" holds {}, expected core ids", key, c.dump()));
      out.push_back(c.get<int>());
    }
    return out;
  }
  void only(std::initializer_list<const char*> keys) const {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      bool known = false;
      for (const char* k : keys) known |= it.key() == k;
      if (!known) {
        std::vector<std::string> names(keys.begin(), keys.end());
        fail(fmt::format("unknown key \"{}\", {}", it.key(), one_of(it.key(), names)));
      }
    }
  }
};

// An object of the header's lists, checked like a line.
LineCheck element(const LineCheck& header, const json& e, const char* list, size_t i) {
  if (!e.is_object()) header.fail(fmt::format("{}[{}] is {}, expected an object", list, i, e.dump()));
  return LineCheck{header.file, header.no, e};
}

void read_header(const json& h, const std::string& file, int no, OpsTrace& t) {
  if (!h.is_object() || !h.contains("mksim_ops"))
    throw InputError(file, fmt::format("line {}", no),
                     "not an mksim ops trace: the first line must be the header {\"mksim_ops\": 1, \"threads\": ...}");
  LineCheck c{file, no, h};
  c.only({"mksim_ops", "processes", "threads", "regions", "channels", "locks", "sim_time_s"});
  if (c.uint("mksim_ops") != kOpsFormatVersion)
    c.fail(fmt::format("format version {} is not supported, this mksim reads version {}", h["mksim_ops"].dump(),
                       kOpsFormatVersion));
  t.sim_time_s = c.number("sim_time_s", false, 0);
  auto list = [&](const char* key) -> const json& {
    static const json empty = json::array();
    const json* v = c.find(key);
    if (!v) return empty;
    if (!v->is_array()) c.fail(fmt::format("\"{}\" is {}, expected a list", key, v->dump().substr(0, 40)));
    return *v;
  };
  const json& procs = list("processes");
  for (size_t i = 0; i < procs.size(); ++i) {
    LineCheck e = element(c, procs[i], "processes", i);
    e.only({"name", "cores"});
    t.processes.push_back({e.text("name", false, fmt::format("process.{}", i)), e.cores("cores")});
  }
  const json& threads = list("threads");
  for (size_t i = 0; i < threads.size(); ++i) {
    LineCheck e = element(c, threads[i], "threads", i);
    e.only({"name", "process", "affinity", "home_node", "spawned"});
    OpsThread th;
    th.name = e.text("name", false, fmt::format("thread.{}", i));
    th.process = static_cast<uint32_t>(e.uint("process"));
    if (th.process >= t.processes.size())
      c.fail(fmt::format("threads[{}] belongs to process {}, but the header declares {} processes", i, th.process,
                         t.processes.size()));
    th.affinity = e.cores("affinity");
    th.home_node = static_cast<int>(e.integer("home_node", -1));
    if (const json* s = e.find("spawned")) {
      if (!s->is_boolean()) c.fail(fmt::format("threads[{}].spawned is {}, expected true or false", i, s->dump()));
      th.spawned = s->get<bool>();
    }
    t.threads.push_back(std::move(th));
  }
  const json& regions = list("regions");
  for (size_t i = 0; i < regions.size(); ++i) {
    LineCheck e = element(c, regions[i], "regions", i);
    e.only({"process", "bytes", "node", "allocated"});
    OpsRegion r;
    r.process = static_cast<uint32_t>(e.uint("process"));
    if (r.process >= t.processes.size())
      c.fail(fmt::format("regions[{}] belongs to process {}, but the header declares {} processes", i, r.process,
                         t.processes.size()));
    r.bytes = e.uint("bytes");
    r.node = static_cast<int>(e.integer("node", -1));
    if (const json* s = e.find("allocated")) {
      if (!s->is_boolean()) c.fail(fmt::format("regions[{}].allocated is {}, expected true or false", i, s->dump()));
      r.allocated = s->get<bool>();
    }
    t.regions.push_back(r);
  }
  for (const char* key : {"channels", "locks"}) {
    const json& names = list(key);
    auto& out = std::string(key) == "channels" ? t.channels : t.locks;
    for (size_t i = 0; i < names.size(); ++i) {
      if (!names[i].is_string()) c.fail(fmt::format("{}[{}] is {}, expected a name", key, i, names[i].dump()));
      out.push_back(names[i].get<std::string>());
    }
  }
}

RecordedOp read_op(const json& o, const std::string& file, int no, const OpsTrace& t) {
  if (!o.is_object())
    throw InputError(file, fmt::format("line {}", no), "expected an operation {\"t\": ..., \"op\": ...}");
  LineCheck c{file, no, o};
  RecordedOp r;
  r.thread = static_cast<uint32_t>(c.uint("t"));
  if (r.thread >= t.threads.size())
    c.fail(fmt::format("thread {} is not declared in the header ({} threads)", r.thread, t.threads.size()));
  const std::string name = c.text("op");
  OpKind kind;
  if (!parse_op_kind(name, kind) || kind == OpKind::Count) {
    std::vector<std::string> known;
    for (int k = 0; k < static_cast<int>(OpKind::Count); ++k) known.emplace_back(to_string(static_cast<OpKind>(k)));
    c.fail(fmt::format("unknown operation '{}', {}", name, one_of(name, known)));
  }
  auto id = [&](const char* key, size_t count, const char* what) {
    uint64_t v = c.uint(key);
    if (v >= count) c.fail(fmt::format("{} {} is not declared in the header ({} {}s)", what, v, count, what));
    return static_cast<uint32_t>(v);
  };
  Op& op = r.op;
  op.kind = kind;
  switch (kind) {
    case OpKind::Compute:
      c.only({"t", "op", "cycles"});
      op.cycles = c.number("cycles");
      break;
    case OpKind::MemAccess: {
      c.only({"t", "op", "region", "bytes", "pattern", "access"});
      op.target = id("region", t.regions.size(), "region");
      op.bytes = c.uint("bytes");
      const std::string p = c.text("pattern", false, "sequential"), a = c.text("access", false, "read");
      if (!parse_access_pattern(p, op.pattern))
        c.fail(fmt::format("unknown pattern '{}', expected sequential, random or chase", p));
      if (a != "read" && a != "write") c.fail(fmt::format("unknown access '{}', expected read or write", a));
      op.access = a == "write" ? AccessKind::Write : AccessKind::Read;
      break;
    }
    case OpKind::Syscall: {
      c.only({"t", "op", "class", "cycles"});
      const std::string cls = c.text("class", false, "null");
      SyscallClass sc;
      if (!parse_syscall_class(cls, sc) || sc == SyscallClass::Count)
        c.fail(fmt::format("unknown syscall class '{}', expected null, file, memory, process or net", cls));
      op.target = static_cast<uint32_t>(sc);
      op.cycles = c.number("cycles", false, 0);
      break;
    }
    case OpKind::Send:
      c.only({"t", "op", "channel", "bytes", "value"});
      op.target = id("channel", t.channels.size(), "channel");
      op.bytes = c.uint("bytes", false, 0);
      op.value = c.uint("value", false, 0);
      break;
    case OpKind::Recv:
      c.only({"t", "op", "channel"});
      op.target = id("channel", t.channels.size(), "channel");
      break;
    case OpKind::Lock:
    case OpKind::Unlock:
      c.only({"t", "op", "lock"});
      op.target = id("lock", t.locks.size(), "lock");
      break;
    case OpKind::Alloc:
      c.only({"t", "op", "bytes", "region"});
      op.bytes = c.uint("bytes");
      r.region = id("region", t.regions.size(), "region");
      if (!t.regions[r.region].allocated)
        c.fail(fmt::format("alloc makes region {}, but the header does not mark it \"allocated\"", r.region));
      break;
    case OpKind::Free:
      c.only({"t", "op", "region"});
      op.target = id("region", t.regions.size(), "region");
      break;
    case OpKind::Map:
    case OpKind::Unmap:
      c.only({"t", "op", "bytes"});
      op.bytes = c.uint("bytes");
      break;
    case OpKind::Spawn:
      c.only({"t", "op", "thread"});
      op.target = id("thread", t.threads.size(), "thread");
      if (!t.threads[op.target].spawned)
        c.fail(fmt::format("spawn starts thread {}, but the header does not mark it \"spawned\"", op.target));
      break;
    case OpKind::Join:
    case OpKind::Wake:
      c.only({"t", "op", "thread"});
      op.target = id("thread", t.threads.size(), "thread");
      break;
    case OpKind::Sleep:
    case OpKind::NextJob:
      c.only({"t", "op", "seconds"});
      op.seconds = c.number("seconds");
      break;
    case OpKind::Wait:
    case OpKind::Yield:
    case OpKind::Count:
      c.only({"t", "op"});
      break;
  }
  return r;
}

}  // namespace

std::string ops_header_line(const OpsTrace& t) {
  ojson h;
  h["mksim_ops"] = kOpsFormatVersion;
  h["sim_time_s"] = t.sim_time_s;
  h["processes"] = ojson::array();
  for (const auto& p : t.processes) h["processes"].push_back({{"name", p.name}, {"cores", p.cores}});
  h["threads"] = ojson::array();
  for (const auto& th : t.threads) {
    ojson o = {{"name", th.name}, {"process", th.process}, {"affinity", th.affinity}, {"home_node", th.home_node}};
    if (th.spawned) o["spawned"] = true;
    h["threads"].push_back(o);
  }
  h["regions"] = ojson::array();
  for (const auto& r : t.regions) {
    ojson o = {{"process", r.process}, {"bytes", r.bytes}, {"node", r.node}};
    if (r.allocated) o["allocated"] = true;
    h["regions"].push_back(o);
  }
  h["channels"] = t.channels;
  h["locks"] = t.locks;
  return h.dump();
}

std::string ops_op_line(const RecordedOp& r) {
  const Op& op = r.op;
  const std::string head = fmt::format(R"({{"t":{},"op":"{}")", r.thread, to_string(op.kind));
  switch (op.kind) {
    case OpKind::Compute:
      return fmt::format(R"({},"cycles":{}}})", head, op.cycles);
    case OpKind::MemAccess:
      return fmt::format(R"({},"region":{},"bytes":{},"pattern":"{}","access":"{}"}})", head, op.target, op.bytes,
                         to_string(op.pattern), access_name(op.access));
    case OpKind::Syscall:
      return fmt::format(R"({},"class":"{}","cycles":{}}})", head, to_string(static_cast<SyscallClass>(op.target)),
                         op.cycles);
    case OpKind::Send:
      return fmt::format(R"({},"channel":{},"bytes":{},"value":{}}})", head, op.target, op.bytes, op.value);
    case OpKind::Recv:
      return fmt::format(R"({},"channel":{}}})", head, op.target);
    case OpKind::Lock:
    case OpKind::Unlock:
      return fmt::format(R"({},"lock":{}}})", head, op.target);
    case OpKind::Alloc:
      return fmt::format(R"({},"bytes":{},"region":{}}})", head, op.bytes, r.region);
    case OpKind::Free:
      return fmt::format(R"({},"region":{}}})", head, op.target);
    case OpKind::Map:
    case OpKind::Unmap:
      return fmt::format(R"({},"bytes":{}}})", head, op.bytes);
    case OpKind::Spawn:
    case OpKind::Join:
    case OpKind::Wake:
      return fmt::format(R"({},"thread":{}}})", head, op.target);
    case OpKind::Sleep:
    case OpKind::NextJob:
      return fmt::format(R"({},"seconds":{}}})", head, op.seconds);
    case OpKind::Wait:
    case OpKind::Yield:
    case OpKind::Count:
      break;
  }
  return head + "}";
}

void write_ops_trace(std::ostream& out, const OpsTrace& t) {
  out << ops_header_line(t) << '\n';
  for (const auto& r : t.ops) out << ops_op_line(r) << '\n';
}

OpsTrace parse_ops_trace(std::string_view text, const std::string& file) {
  OpsTrace t;
  bool header = false;
  int no = 0;
  size_t at = 0;
  std::vector<int> spawned_by, allocated_by;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(at, nl - at);
    at = nl + 1;
    ++no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (line.find('\0') != std::string_view::npos)
      throw InputError(file, fmt::format("line {}", no), "binary data (a NUL byte): this is not an ops trace");
    const json v = parse_json(line, file, no);
    if (!header) {
      read_header(v, file, no, t);
      header = true;
      spawned_by.assign(t.threads.size(), 0);
      allocated_by.assign(t.regions.size(), 0);
      continue;
    }
    RecordedOp r = read_op(v, file, no, t);
    // What a spawn or alloc makes is named only after it, in the recording's (completion) order.
    const bool names_thread = r.op.kind == OpKind::Join || r.op.kind == OpKind::Wake;
    const bool names_region = r.op.kind == OpKind::MemAccess || r.op.kind == OpKind::Free;
    if (names_thread && t.threads[r.op.target].spawned && !spawned_by[r.op.target])
      throw InputError(
          file, fmt::format("line {}", no),
          fmt::format("{} names thread {} before the spawn that starts it", to_string(r.op.kind), r.op.target));
    if (names_region && t.regions[r.op.target].allocated && !allocated_by[r.op.target])
      throw InputError(
          file, fmt::format("line {}", no),
          fmt::format("{} names region {} before the alloc that makes it", to_string(r.op.kind), r.op.target));
    if (r.op.kind == OpKind::Spawn && spawned_by[r.op.target]++)
      throw InputError(file, fmt::format("line {}", no), fmt::format("thread {} is spawned twice", r.op.target));
    if (r.op.kind == OpKind::Alloc && allocated_by[r.region]++)
      throw InputError(file, fmt::format("line {}", no), fmt::format("region {} is allocated twice", r.region));
    t.ops.push_back(r);
  }
  if (!header) throw InputError(file, "", "the ops trace is empty (expected a header line, then operations)");
  for (size_t i = 0; i < t.threads.size(); ++i)
    if (t.threads[i].spawned && !spawned_by[i])
      throw InputError(file, "line 1", fmt::format("thread {} is marked spawned but no spawn operation starts it", i));
  for (size_t i = 0; i < t.regions.size(); ++i)
    if (t.regions[i].allocated && !allocated_by[i])
      throw InputError(file, "line 1", fmt::format("region {} is marked allocated but no alloc operation makes it", i));
  return t;
}

OpsTrace read_ops_trace_file(const std::string& path) {
  return parse_ops_trace(read_input_file(path, "the ops trace"), path);
}

}  // namespace mksim
