// Models a real machine's structure as hwloc sees it: packages, dies (or CCX-like L3 domains), NUMA nodes with their
// local memory, cores with their PUs, and the data caches each core sits under, plus the NUMA distance (SLIT) matrix.
// libhwloc does all the reading. This file runs it: in a forked child process (import_in_child, through
// sim/child_process.hpp), so that a crash it has in store for some malformed file is an error naming the file, and so
// that its reason for refusing a file can be captured. What is checked before libhwloc sees a file is in
// hwloc_xml_guard.cpp, the mapping of hwloc's objects onto mksim's dense ids in hwloc_map.cpp (sim/hwloc_detail.hpp).
// Line ends are normalised to "\n".

#include "sim/hwloc_import.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <hwloc.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "sim/api/params.hpp"
#include "sim/child_process.hpp"
#include "sim/hwloc_detail.hpp"
#include "sim/input.hpp"

namespace mksim {
namespace {

using namespace hwloc_detail;

// Owns one hwloc topology for the length of an import.
class Topology {
 public:
  Topology() {
    if (hwloc_topology_init(&t_) != 0) t_ = nullptr;
  }
  ~Topology() {
    if (t_) hwloc_topology_destroy(t_);
  }
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;
  hwloc_topology_t get() const { return t_; }

 private:
  hwloc_topology_t t_ = nullptr;
};

// hwloc picks its XML reader once per process from the environment. Its built-in ("minimalistic") reader behaves the
// same on every install, while the libxml2 one is a plugin that may or may not be present, so prefer the built-in one
// unless the user chose explicitly (HWLOC_LIBXML or HWLOC_LIBXML_IMPORT). setenv is done once, before hwloc first
// reads it. Returns whether the user set HWLOC_XML_VERBOSE (see with_hwloc_verbose).
bool prepare_hwloc_environment() {
  static bool user_verbose = false;
  static std::once_flag once;
  std::call_once(once, [] {
    if (!std::getenv("HWLOC_LIBXML") && !std::getenv("HWLOC_LIBXML_IMPORT")) setenv("HWLOC_LIBXML_IMPORT", "0", 0);
    user_verbose = std::getenv("HWLOC_XML_VERBOSE") != nullptr;
  });
  return user_verbose;
}

// Both XML readers say why they refuse a file only with HWLOC_XML_VERBOSE set, and hwloc reads it once per process, at
// its first XML load. Every load of mksim's sets it for that first load (and captures what hwloc prints: see
// load_and_map, import_in_child); afterwards it is removed again, so that it does not reach other programs through the
// environment, nor make a later mksim process think the user set it. What hwloc says reaches the user's stderr only
// when the user set the variable.
void with_hwloc_verbose(const std::function<void()>& load) {
  if (prepare_hwloc_environment()) return load();
  ::setenv("HWLOC_XML_VERBOSE", "1", 1);
  try {
    load();
  } catch (...) {
    ::unsetenv("HWLOC_XML_VERBOSE");
    throw;
  }
  ::unsetenv("HWLOC_XML_VERBOSE");
}

// Sends this process's stderr to a temporary file until finish(), which returns what was written. Only around a load
// of hwloc's in this process (when no child process could be started); the child's stderr is a pipe already.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    file_ = std::tmpfile();
    if (!file_) return;
    saved_ = ::dup(STDERR_FILENO);
    if (saved_ < 0 || ::dup2(::fileno(file_), STDERR_FILENO) < 0) {
      if (saved_ >= 0) ::close(saved_);
      saved_ = -1;
    }
  }
  ~StderrCapture() { finish(); }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  std::string finish() {
    std::string text;
    if (saved_ >= 0) {
      std::fflush(stderr);
      ::dup2(saved_, STDERR_FILENO);
      ::close(saved_);
      saved_ = -1;
      std::rewind(file_);
      char buf[4096];
      for (size_t n; (n = std::fread(buf, 1, sizeof buf, file_)) > 0 && text.size() < (1u << 20);) text.append(buf, n);
    }
    if (file_) std::fclose(file_);
    file_ = nullptr;
    return text;
  }

 private:
  FILE* file_ = nullptr;
  int saved_ = -1;
};

void configure(hwloc_topology_t t) {
  // The simulated machine is the whole machine: PUs and NUMA nodes that the exporting process was not allowed to use
  // (cgroups, batch schedulers) are still part of its hardware, so import them too and say so in the notes.
  hwloc_topology_set_flags(t, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
  // Memory-side caches are dropped by default; keep them only to report them. I/O and Misc objects stay dropped.
  hwloc_topology_set_type_filter(t, HWLOC_OBJ_MEMCACHE, HWLOC_TYPE_FILTER_KEEP_ALL);
}

// ---- libhwloc in a child process ----
//
// libhwloc 2.9 crashes on some malformed files (scan_xml checks the cases known so far) and explains a refusal only on
// stderr, and only when HWLOC_XML_VERBOSE was set before its first XML import in the process. So a file is imported in
// a forked child: the child loads and maps it with HWLOC_XML_VERBOSE=1 and its stderr captured, and hands back the
// mapped topology (as JSON), an InputError, or hwloc's refusal with hwloc's reason; a crash kills only the child and
// becomes an InputError naming the file. The parent never imports XML itself, so every child starts verbose. A fork
// costs about a millisecond (docs/reliability.md).

bool g_isolated = true;

// The child hands back what map_topology fills in (and the rest of Machine, in case it ever fills in more): a field
// added to the machine description that the import sets must be carried here too. The Catch2 test "hwloc: import in a
// child process gives the same machine" compares the two ways on every real topology.
// JSON writes NaN as null.
double number_or_nan(const json& v) {
  return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
}

json topology_to_json(const ImportedTopology& t) {
  const Machine& m = t.machine;
  json nodes = json::array(), cores = json::array(), caches = json::array();
  for (const auto& n : m.nodes)
    nodes.push_back({n.id, n.package, n.memory_bytes, n.controller_bandwidth_gb_s, n.local_latency_ns, n.kind,
                     n.write_bandwidth_gb_s});
  for (const auto& c : m.cores)
    cores.push_back({c.id, c.package, c.die, c.node, c.freq_ghz, c.hw_threads, c.pu_os_index, c.caches});
  for (const auto& k : m.caches) caches.push_back({k.level, k.size_bytes, k.line_bytes, k.hit_latency_cycles, k.cores});
  return {{"name", m.name},
          {"source", m.source},
          {"packages", m.packages},
          {"dies", m.dies},
          {"nodes", nodes},
          {"cores", cores},
          {"caches", caches},
          {"latency_ns", m.interconnect.latency_ns},
          {"hops", m.interconnect.hops},
          {"link_bandwidth_gb_s", m.interconnect.link_bandwidth_gb_s},
          {"links", m.interconnect.links},
          {"core_bandwidth_gb_s", m.core_bandwidth_gb_s},
          {"core_mlp", m.core_mlp},
          {"slit", t.slit},
          {"notes", t.notes},
          {"memory_figures_read", t.memory_figures_read},
          {"local_to", t.local_to}};
}

ImportedTopology topology_from_json(const json& j) {
  ImportedTopology t;
  Machine& m = t.machine;
  m.name = j["name"];
  m.source = j["source"];
  m.packages = j["packages"];
  m.dies = j["dies"];
  for (const auto& n : j["nodes"])
    m.nodes.push_back({n[0], n[1], n[2], number_or_nan(n[3]), number_or_nan(n[4]), n[5], number_or_nan(n[6])});
  for (const auto& c : j["cores"]) {
    Core k;
    k.id = c[0], k.package = c[1], k.die = c[2], k.node = c[3], k.freq_ghz = number_or_nan(c[4]), k.hw_threads = c[5];
    k.pu_os_index = c[6].get<std::vector<int>>();
    k.caches = c[7].get<std::vector<int>>();
    m.cores.push_back(std::move(k));
  }
  for (const auto& c : j["caches"]) {
    Cache k;
    k.level = c[0], k.size_bytes = c[1], k.line_bytes = c[2], k.hit_latency_cycles = number_or_nan(c[3]);
    k.cores = c[4].get<std::vector<int>>();
    m.caches.push_back(std::move(k));
  }
  for (const auto& row : j["latency_ns"]) {
    m.interconnect.latency_ns.emplace_back();
    for (const auto& v : row) m.interconnect.latency_ns.back().push_back(number_or_nan(v));
  }
  m.interconnect.hops = j["hops"].get<std::vector<std::vector<int>>>();
  m.interconnect.link_bandwidth_gb_s = number_or_nan(j["link_bandwidth_gb_s"]);
  m.interconnect.links = j["links"].get<std::vector<std::pair<int, int>>>();
  m.core_bandwidth_gb_s = number_or_nan(j["core_bandwidth_gb_s"]);
  m.core_mlp = number_or_nan(j["core_mlp"]);
  for (const auto& row : j["slit"]) {
    t.slit.emplace_back();
    for (const auto& v : row) t.slit.back().push_back(number_or_nan(v));
  }
  t.notes = j["notes"].get<std::vector<std::string>>();
  t.memory_figures_read = j["memory_figures_read"].get<std::map<int, std::set<std::string>>>();
  t.local_to = j["local_to"].get<std::map<int, int>>();
  return t;
}

// Loads the (checked) buffer with libhwloc and maps it. False, with hwloc's errno, when hwloc refuses it. With `said`,
// stderr is captured around the load and what hwloc printed is put there.
bool load_and_map(const std::string& buffer, const std::string& path, ImportedTopology& out, int& refused_errno,
                  std::string* said = nullptr) {
  prepare_hwloc_environment();
  Topology topo;
  if (!topo.get()) throw InputError(path, "", "hwloc could not create a topology (out of memory?)");
  configure(topo.get());
  std::optional<StderrCapture> capture;
  if (said) capture.emplace();
  bool loaded = false;
  with_hwloc_verbose([&] {
    loaded = hwloc_topology_set_xmlbuffer(topo.get(), buffer.data(), static_cast<int>(buffer.size())) == 0 &&
             hwloc_topology_load(topo.get()) == 0;
    refused_errno = errno;
  });
  if (said) *said = capture->finish();
  if (!loaded) return false;
  out = map_topology(topo.get(), path, std::move(out));
  return true;
}

// hwloc's reason for refusing a file, from what it printed with HWLOC_XML_VERBOSE=1: the last line that is not one of
// its generic follow-ups, without the input's name it starts with.
std::string hwloc_reason(const std::string& err) {
  static const char* generic[] = {"Failed to parse XML input", "generated by hwloc, try enabling",
                                  "XML component discovery failed", "hwloc_topology_load() failed"};
  std::string last;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (std::none_of(std::begin(generic), std::end(generic),
                     [&](const char* g) { return line.find(g) != std::string::npos; }))
      last = line;
  }
  if (auto colon = last.find(": "); colon != std::string::npos && last.find(' ') > colon) last = last.substr(colon + 2);
  if (last.size() > 300) last = last.substr(0, 297) + "...";
  return last;
}

// How long the child may take: real topologies import in milliseconds.
constexpr unsigned kChildTimeoutS = 60;

// Imports in a child process; nullopt when no child could be started (the caller then imports in this process).
std::optional<ImportedTopology> import_in_child(const std::string& buffer, const std::string& path, const XmlScan& scan,
                                                const ImportedTopology& start) {
  const bool user_verbose = prepare_hwloc_environment();  // before the fork: the child inherits the environment
  ChildSpec spec;
  // A crash must end the child with its signal, not run the parent's handlers (a test framework's, a sanitizer's).
  spec.default_signals = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGALRM};
  spec.timeout_s = kChildTimeoutS;  // nor may a hang inside libhwloc hang mksim: the alarm ends the child
  spec.capture_stderr = true;
  ChildExit child;
  try {
    child = run_child(spec, [&] {
      json r;
      try {
        ImportedTopology t = start;
        int refused = 0;
        if (load_and_map(buffer, path, t, refused))
          r = {{"ok", topology_to_json(t)}};
        else
          r = {{"refused", refused}};
      } catch (const InputError& e) {
        r = {{"input_error", {e.file(), e.where(), e.reason()}}};
      } catch (const std::exception& e) {
        r = {{"error", e.what()}};
      }
      return r.dump(-1, ' ', false, json::error_handler_t::replace);
    });
  } catch (const ChildStartError&) {
    return std::nullopt;
  }
  const int status = child.status;
  const std::string& result = child.out;
  const std::string& said = child.err;
  if (user_verbose) std::cerr << said;  // the user asked to see what hwloc says
  const std::string reason = hwloc_reason(said);
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    throw InputError(path, "",
                     fmt::format("libhwloc {} did not finish reading this topology within {} s and was stopped{}: "
                                 "export it again with `lstopo file.xml`",
                                 HWLOC_VERSION, kChildTimeoutS, reason.empty() ? "" : "; hwloc last said: " + reason));
  if (WIFSIGNALED(status) || result.empty())
    throw InputError(
        path, "",
        fmt::format("libhwloc {} crashed reading this topology ({}){}: the file is malformed in a way "
                    "mksim does not check yet; export it again with `lstopo file.xml`",
                    HWLOC_VERSION,
                    WIFSIGNALED(status) ? fmt::format("signal {}, {}", WTERMSIG(status), strsignal(WTERMSIG(status)))
                                        : fmt::format("exit status {}", WEXITSTATUS(status)),
                    reason.empty() ? "" : "; hwloc last said: " + reason));
  const json r = json::parse(result);
  if (r.contains("ok")) return topology_from_json(r["ok"]);
  if (r.contains("refused")) explain_refusal(path, scan, r["refused"].get<int>(), reason);
  if (r.contains("input_error")) throw InputError(r["input_error"][0], r["input_error"][1], r["input_error"][2]);
  throw std::runtime_error(r.value("error", std::string("hwloc import failed")));
}

}  // namespace

void set_hwloc_import_isolation(bool on) {
  g_isolated = on;
}

ImportedTopology import_hwloc_xml(const std::string& path) {
  ImportedTopology out;
  std::string buffer = normalise(read_input_file(path, "hwloc XML topology"));
  if (buffer.find_first_not_of(" \t\n") == std::string::npos)
    throw InputError(path, "", "the file is empty, expected an hwloc XML topology (as written by `lstopo file.xml`)");
  if (buffer.size() >= static_cast<size_t>(INT_MAX)) throw InputError(path, "", "the file is too large for hwloc");
  // Syntax errors are located before hwloc sees the file, not only after it refused it: hwloc 2.9 leaks the object it
  // was reading when the XML breaks off inside it (fixed upstream after 2.9), and a located error is all we report.
  // The same scan refuses what libhwloc 2.9 is known to crash on.
  const XmlScan scan = scan_xml(buffer);
  if (scan.fault) throw InputError(path, at_line(scan.fault->line), scan.fault->what);
  accept_version(buffer, path, out.notes);

  std::optional<ImportedTopology> child;
  if (g_isolated) child = import_in_child(buffer, path, scan, out);
  if (child) {
    out = std::move(*child);
  } else {
    int refused = 0;
    std::string said;
    const bool loaded = load_and_map(buffer, path, out, refused, &said);
    if (prepare_hwloc_environment()) std::cerr << said;  // the user asked to see what hwloc says
    if (!loaded) explain_refusal(path, scan, refused, hwloc_reason(said));
  }
  out.machine.name = escape_invalid_utf8(std::filesystem::path(path).stem().string());
  out.machine.source = "hwloc:" + path;
  return out;
}

ImportedTopology import_this_host() {
  const std::string what = "hwloc discovery of this host";
  Topology topo;
  if (!topo.get()) throw InputError(what, "", "hwloc could not create a topology (out of memory?)");
  configure(topo.get());
  if (hwloc_topology_load(topo.get()) != 0)
    throw InputError(what, "", fmt::format("hwloc_topology_load failed: {}", std::strerror(errno)));
  ImportedTopology out;
  const char* host = hwloc_obj_get_info_by_name(hwloc_get_root_obj(topo.get()), "HostName");
  out.machine.name = host && *host ? host : "this-host";
  out.machine.source = "hwloc:this-host";
  return map_topology(topo.get(), what, std::move(out));
}

}  // namespace mksim
