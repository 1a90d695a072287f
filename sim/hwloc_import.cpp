// Models a real machine's structure as hwloc sees it: packages, dies (or CCX-like L3 domains), NUMA nodes with their
// local memory, cores with their PUs, and the data caches each core sits under, plus the NUMA distance (SLIT) matrix.
// libhwloc does all the reading; this file maps its objects onto mksim's dense ids and records every assumption it
// makes in ImportedTopology::notes. The only XML scanning done here is (a) finding the root element's version
// attribute, so that hwloc 3.x exports can be read by hwloc 2.9, (b) locating the line of a syntax error, because
// hwloc itself only reports "Invalid argument", and (c) refusing, with their line, the elements libhwloc 2.9 is known
// to crash on. libhwloc itself runs in a forked child process (import_in_child), so that a crash it has in store for
// some other malformed file is an error naming the file, and so that its reason for refusing a file can be captured.
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
#include "sim/hwloc_memory.hpp"
#include "sim/input.hpp"

namespace mksim {
namespace {

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

int line_at(const std::string& s, size_t pos) {
  pos = std::min(pos, s.size());
  return 1 + static_cast<int>(std::count(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
}

std::string at_line(int line) {
  return fmt::format("line {}", line);
}

// XML processors see every line end as "\n" and skip a byte-order mark; do the same so that files saved on Windows
// still load with hwloc's built-in reader, which only knows "\n".
std::string normalise(std::string s) {
  if (s.compare(0, 3, "\xEF\xBB\xBF") == 0) s.erase(0, 3);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// Skips a "<!DOCTYPE ...>"-like declaration starting at i, including an internal subset in brackets; returns the
// position after it or npos.
size_t skip_declaration(const std::string& s, size_t i) {
  int depth = 0;
  char quote = 0;
  for (size_t j = i + 2; j < s.size(); ++j) {
    char c = s[j];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[') {
      ++depth;
    } else if (c == ']') {
      --depth;
    } else if (c == '>' && depth <= 0) {
      return j + 1;
    }
  }
  return std::string::npos;
}

struct RootTag {
  size_t begin = std::string::npos;  // the '<'
  size_t end = 0;                    // just after the '>'
  std::string name;
};

// The document's first element, after the prolog (declaration, DOCTYPE, comments, processing instructions).
RootTag find_root_tag(const std::string& s) {
  size_t i = 0;
  while (true) {
    i = s.find_first_not_of(" \t\n\r", i);
    if (i == std::string::npos || s[i] != '<') return {};
    size_t next = std::string::npos;
    if (s.compare(i, 4, "<!--") == 0) {
      next = s.find("-->", i + 4);
      if (next != std::string::npos) next += 3;
    } else if (s.compare(i, 2, "<?") == 0) {
      next = s.find("?>", i + 2);
      if (next != std::string::npos) next += 2;
    } else if (s.compare(i, 2, "<!") == 0) {
      next = skip_declaration(s, i);
    } else {
      size_t close = s.find('>', i);
      if (close == std::string::npos) return {};
      size_t n = i + 1;
      while (n < close && is_name_char(s[n])) ++n;
      return {i, close + 1, s.substr(i + 1, n - i - 1)};
    }
    if (next == std::string::npos) return {};
    i = next;
  }
}

// hwloc 2.9 refuses `<topology version="3.x">` although it reads such files' content once they claim 2.0 (objects,
// caches, NUMA nodes, distances and memory attributes are written the same way; v3-only details such as topology-level
// <info> are skipped by hwloc). Rewrites the version in the buffer and notes it; refuses versions it cannot vouch for.
void accept_version(std::string& s, const std::string& path, std::vector<std::string>& notes) {
  RootTag root = find_root_tag(s);
  if (root.begin == std::string::npos || root.name != "topology") return;  // hwloc fails, the diagnosis explains
  const std::string tag = s.substr(root.begin, root.end - root.begin);
  static const std::regex version_re(R"re(\sversion\s*=\s*("|')(\d+)\.(\d+)\1)re");
  std::smatch m;
  // No version attribute: hwloc reads it as the 1.x format.
  if (!std::regex_search(tag, m, version_re)) return;
  const int major = m[2].length() > 4 ? 9999 : std::stoi(m[2].str());  // stoi would throw on absurd versions
  if (major <= 2) return;
  const std::string declared = m[2].str() + "." + m[3].str();
  if (major > 3)
    throw InputError(
        path, at_line(line_at(s, root.begin)),
        fmt::format("hwloc XML format version {} is not supported (hwloc {} reads formats 1.x and 2.x, and 3.x as "
                    "2.0): export it again with an hwloc that writes format 2.x",
                    declared, HWLOC_VERSION));
  const size_t value_begin = root.begin + static_cast<size_t>(m.position(2));
  const size_t value_len = static_cast<size_t>(m.position(3) + m.length(3) - m.position(2));
  s.replace(value_begin, value_len, "2.0");
  notes.push_back(
      fmt::format("format {} read as 2.0 (hwloc {} only accepts up to 2.x; v3-only details such as "
                  "topology-level <info> are skipped)",
                  declared, HWLOC_VERSION));
}

struct XmlFault {
  int line;
  std::string what;
};

// Looks for the first place where `s` is not well-formed XML, only to tell the user where a file is broken (hwloc
// would refuse it, saying only "Invalid argument"). Not a parser: it checks tag balance, quoting and stray bytes, and
// remembers constructs hwloc's built-in reader does not accept although they are valid XML.
struct XmlScan {
  std::optional<XmlFault> fault;
  std::string root_name;
  int root_line = 0;
  int comment_line = 0;  // first comment or processing instruction inside the document
};

// Length of the text character (UTF-8 sequence) at i, or 0 if the byte there cannot be in XML text.
size_t text_char_len(const std::string& s, size_t i) {
  const auto u = static_cast<unsigned char>(s[i]);
  if (u < 0x80) return (u < 0x20 && !is_space(s[i])) || u == 0x7f ? 0 : 1;
  const size_t len = u >= 0xf0 && u < 0xf5 ? 4 : u >= 0xe0 && u < 0xf0 ? 3 : u >= 0xc2 && u < 0xe0 ? 2 : 0;
  if (len == 0 || i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  return len;
}

// hwloc's bitmap syntax, as hwloc writes it: comma-separated words of up to 8 hexadecimal digits with a 0x prefix
// (a word may be empty: "0x00000001,,0x0"), optionally starting with "0xf...f" (all higher bits set).
bool is_hwloc_bitmap(std::string_view v) {
  if (v.rfind("0xf...f", 0) == 0) {
    v.remove_prefix(7);
    if (v.empty()) return true;
    if (v[0] != ',') return false;
    v.remove_prefix(1);
  }
  for (size_t i = 0;;) {
    const size_t end = v.find(',', i);
    const std::string_view word = v.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    if (!word.empty()) {
      if (word.size() < 3 || word.size() > 10 || word[0] != '0' || (word[1] != 'x' && word[1] != 'X')) return false;
      for (size_t k = 2; k < word.size(); ++k)
        if (!std::isxdigit(static_cast<unsigned char>(word[k]))) return false;
    }
    if (end == std::string_view::npos) return true;
    i = end + 1;
  }
}

// What in one element libhwloc 2.9 would crash on (it does not check these): an <object> with a cpuset but no
// complete_cpuset or a nodeset but no complete_nodeset (a null bitmap is dereferenced in hwloc_topology_load), and a
// set attribute that is not a bitmap (found by fuzz_hwloc). "" if none.
std::string hwloc_element_problem(const std::string& tag,
                                  const std::vector<std::pair<std::string, std::string>>& attrs) {
  auto has = [&](const std::string& name) {
    return std::any_of(attrs.begin(), attrs.end(), [&](const auto& a) { return a.first == name; });
  };
  auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  for (const auto& [name, value] : attrs)
    if ((ends_with(name, "cpuset") || ends_with(name, "nodeset")) && !is_hwloc_bitmap(value))
      return fmt::format(
          "{}=\"{}\" in <{}> is not an hwloc bitmap, expected comma-separated hexadecimal words such as "
          "0x000000ff,0x0000000f",
          name, value.size() > 40 ? value.substr(0, 37) + "..." : value, tag);
  if (tag != "object") return "";
  std::string type;
  for (const auto& [name, value] : attrs)
    if (name == "type") type = value.size() > 40 ? value.substr(0, 37) + "..." : value;
  for (const auto& [set, complete] : {std::pair<std::string, std::string>{"cpuset", "complete_cpuset"},
                                      std::pair<std::string, std::string>{"nodeset", "complete_nodeset"}})
    if (has(set) != has(complete))
      return fmt::format(
          "<object type=\"{}\"> has {} but no {}, expected both or neither (libhwloc {} crashes on "
          "such objects)",
          type, has(set) ? set : complete, has(set) ? complete : set, HWLOC_VERSION);
  return "";
}

XmlScan scan_xml(const std::string& s) {
  XmlScan out;
  struct Open {
    std::string name;
    size_t pos;
  };
  std::vector<Open> open;
  bool root_closed = false;
  auto fail = [&](size_t pos, std::string what) {
    out.fault = XmlFault{line_at(s, pos), std::move(what)};
    return out;
  };
  auto read_name = [&](size_t i) {
    size_t j = i;
    while (j < s.size() && is_name_char(s[j])) ++j;
    return s.substr(i, j - i);
  };
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c != '<') {
      const size_t len = text_char_len(s, i);
      if (len == 0)
        return fail(
            i, fmt::format("binary data (byte 0x{:02x}) where XML text was expected", static_cast<unsigned char>(c)));
      if (open.empty() && !is_space(c)) {
        if (root_closed) return fail(i, "text after the end of the root element");
        // Say "binary" rather than "text" when the stray run (up to the next '<') is not text.
        for (size_t k = i; k < s.size() && k < i + 4096 && s[k] != '<';) {
          const size_t l = text_char_len(s, k);
          if (l == 0) return fail(i, "the file starts with binary data, not XML (is this an hwloc XML file?)");
          k += l;
        }
        return fail(i, "text before the first XML element (is this an hwloc XML file?)");
      }
      i += len;
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0) {
      size_t j = s.find("-->", i + 4);
      if (j == std::string::npos) return fail(i, "comment '<!--' is never closed (file truncated?)");
      if (!open.empty() && !out.comment_line) out.comment_line = line_at(s, i);
      i = j + 3;
      continue;
    }
    if (s.compare(i, 9, "<![CDATA[") == 0) {
      if (open.empty()) return fail(i, "CDATA section outside the root element");
      size_t j = s.find("]]>", i + 9);
      if (j == std::string::npos) return fail(i, "CDATA section is never closed (file truncated?)");
      i = j + 3;
      continue;
    }
    if (s.compare(i, 2, "<?") == 0) {
      size_t j = s.find("?>", i + 2);
      if (j == std::string::npos) return fail(i, "processing instruction '<?' is never closed (file truncated?)");
      if (!open.empty() && !out.comment_line) out.comment_line = line_at(s, i);
      i = j + 2;
      continue;
    }
    if (s.compare(i, 2, "<!") == 0) {
      if (!out.root_name.empty()) return fail(i, "'<!' declaration after the root element started");
      size_t j = skip_declaration(s, i);
      if (j == std::string::npos) return fail(i, "declaration '<!' is never closed (file truncated?)");
      i = j;
      continue;
    }
    if (s.compare(i, 2, "</") == 0) {
      const std::string name = read_name(i + 2);
      size_t j = i + 2 + name.size();
      while (j < s.size() && is_space(s[j])) ++j;
      if (j >= s.size()) return fail(i, fmt::format("closing tag </{}> is cut off (file truncated?)", name));
      if (name.empty() || s[j] != '>') return fail(i, "malformed closing tag");
      if (open.empty()) return fail(i, fmt::format("closing tag </{}> without a matching opening tag", name));
      if (open.back().name != name)
        return fail(i, fmt::format("closing tag </{}> does not match <{}> opened on line {}", name, open.back().name,
                                   line_at(s, open.back().pos)));
      open.pop_back();
      if (open.empty()) root_closed = true;
      i = j + 1;
      continue;
    }
    // A start tag.
    const std::string name = read_name(i + 1);
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) || name[0] == '-' || name[0] == '.')
      return fail(i, "'<' is not followed by a tag name");
    if (root_closed) return fail(i, fmt::format("element <{}> after the end of the root element", name));
    if (out.root_name.empty()) {
      out.root_name = name;
      out.root_line = line_at(s, i);
    }
    size_t j = i + 1 + name.size();
    bool self_closed = false;
    std::vector<std::pair<std::string, std::string>> attrs;
    auto binary_in_tag = [&](size_t at) {
      return fmt::format("binary data (byte 0x{:02x}) in tag <{}>", static_cast<unsigned char>(s[at]), name);
    };
    while (true) {
      const size_t before_space = j;
      while (j < s.size() && is_space(s[j])) ++j;
      if (j >= s.size()) return fail(i, fmt::format("tag <{}> is cut off (file truncated?)", name));
      if (s[j] == '>') break;
      if (s.compare(j, 2, "/>") == 0) {
        self_closed = true;
        ++j;
        break;
      }
      if (text_char_len(s, j) == 0) return fail(j, binary_in_tag(j));
      if (j == before_space) return fail(j, fmt::format("unexpected '{}' in tag <{}>", s[j], name));
      const std::string attr = read_name(j);
      if (attr.empty()) return fail(j, fmt::format("unexpected '{}' in tag <{}>", s[j], name));
      j += attr.size();
      while (j < s.size() && is_space(s[j])) ++j;
      if (j >= s.size()) return fail(i, fmt::format("tag <{}> is cut off (file truncated?)", name));
      if (text_char_len(s, j) == 0) return fail(j, binary_in_tag(j));
      if (s[j] != '=') return fail(j, fmt::format("attribute {} of <{}> has no '=value'", attr, name));
      ++j;
      while (j < s.size() && is_space(s[j])) ++j;
      if (j >= s.size()) return fail(i, fmt::format("tag <{}> is cut off (file truncated?)", name));
      if (s[j] != '"' && s[j] != '\'')
        return fail(j, fmt::format("value of attribute {} of <{}> is not quoted", attr, name));
      const size_t close = s.find(s[j], j + 1);
      if (close == std::string::npos)
        return fail(j, fmt::format("value of attribute {} of <{}> is never closed (file truncated?)", attr, name));
      const size_t lt = s.find('<', j + 1);
      if (lt < close) return fail(lt, fmt::format("value of attribute {} of <{}> contains '<'", attr, name));
      for (size_t k = j + 1; k < close;) {
        const size_t len = text_char_len(s, k);
        if (len == 0) return fail(k, binary_in_tag(k));
        k += len;
      }
      attrs.emplace_back(attr, s.substr(j + 1, close - j - 1));
      j = close + 1;
    }
    if (auto problem = hwloc_element_problem(name, attrs); !problem.empty()) return fail(i, problem);
    if (!self_closed) open.push_back({name, i});
    if (self_closed && open.empty()) root_closed = true;
    i = j + 1;
  }
  if (out.root_name.empty()) return fail(s.size(), "no XML element found (is this an hwloc XML file?)");
  if (!open.empty())
    return fail(s.size(), fmt::format("file ends inside <{}> opened on line {} (file truncated?)", open.back().name,
                                      line_at(s, open.back().pos)));
  return out;
}

// Called when hwloc refused a well-formed file: finds the best explanation we can give, with a line when there is one.
// `hwloc_reason`: what hwloc said (HWLOC_XML_VERBOSE), when the import ran in a child process that could capture it.
[[noreturn]] void explain_refusal(const std::string& path, const XmlScan& scan, int hwloc_errno,
                                  const std::string& hwloc_reason = "") {
  if (scan.root_name != "topology" && scan.root_name != "root")
    throw InputError(path, at_line(scan.root_line),
                     fmt::format("the root element is <{}>, expected <topology> (an hwloc XML topology, as written by "
                                 "`lstopo file.xml`)",
                                 scan.root_name));
  if (scan.comment_line)
    throw InputError(path, at_line(scan.comment_line),
                     "hwloc's built-in XML reader does not accept comments or processing instructions inside the "
                     "topology: remove them, or set HWLOC_LIBXML_IMPORT=1 to read it with libxml2");
  if (!hwloc_reason.empty())
    throw InputError(path, "",
                     fmt::format("hwloc {} refused this topology: {} (the file is well-formed XML, but not in a form "
                                 "hwloc accepts: export it again with `lstopo file.xml`)",
                                 HWLOC_VERSION, hwloc_reason));
  throw InputError(path, "",
                   fmt::format("hwloc {} could not import this topology ({}); the file is well-formed XML, but not in "
                               "a form hwloc accepts: export it again with `lstopo file.xml`, or set "
                               "HWLOC_XML_VERBOSE=1 to see hwloc's reasons",
                               HWLOC_VERSION, std::strerror(hwloc_errno)));
}

// hwloc 2.0 exported memory-side caches (DRAM in front of NVM, MCDRAM in cache mode) as CPU caches of this subtype;
// later versions have a MemCache object type.
bool memory_side_cache(hwloc_obj_t o) {
  return o->subtype && std::strcmp(o->subtype, "MemorySideCache") == 0;
}

bool ordinary_memory(hwloc_obj_t node) {
  return node->subtype == nullptr || std::strcmp(node->subtype, "DRAM") == 0;
}

std::string gib(uint64_t bytes) {
  return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1ull << 30));
}

// NUMA distances: the latency matrix hwloc calls "NUMALatency" (the OS's SLIT), else any latency matrix of NUMA nodes.
void import_distances(hwloc_topology_t t, ImportedTopology& out) {
  const int n = out.machine.num_nodes();
  unsigned nr = 0;
  if (hwloc_distances_get_by_type(t, HWLOC_OBJ_NUMANODE, &nr, nullptr, HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) != 0 ||
      nr == 0) {
    if (n > 1) out.notes.push_back("no NUMA distances: the caller must supply the node-to-node latencies");
    return;
  }
  std::vector<hwloc_distances_s*> all(nr, nullptr);
  unsigned got = nr;
  if (hwloc_distances_get_by_type(t, HWLOC_OBJ_NUMANODE, &got, all.data(), HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) != 0)
    got = 0;
  all.resize(std::min(got, nr));
  hwloc_distances_s* chosen = nullptr;
  std::string chosen_name;
  for (hwloc_distances_s* d : all) {
    const char* name = hwloc_distances_get_name(t, d);
    if (!chosen || (name && std::strcmp(name, "NUMALatency") == 0 && chosen_name != "NUMALatency")) {
      chosen = d;
      chosen_name = name ? name : "";
    }
  }
  if (chosen) {
    const double unknown = std::numeric_limits<double>::quiet_NaN();
    std::vector<std::vector<double>> slit(n, std::vector<double>(n, unknown));
    const unsigned k = chosen->nbobjs;
    for (unsigned a = 0; a < k; ++a)
      for (unsigned b = 0; b < k; ++b) {
        hwloc_obj_t oa = chosen->objs[a], ob = chosen->objs[b];
        if (!oa || !ob || static_cast<int>(oa->logical_index) >= n || static_cast<int>(ob->logical_index) >= n)
          continue;
        slit[oa->logical_index][ob->logical_index] = static_cast<double>(chosen->values[a * k + b]);
      }
    const std::string label = chosen_name.empty() ? std::string("NUMA latency matrix") : "\"" + chosen_name + "\"";
    bool usable = true;
    int missing = 0;
    for (int i = 0; i < n; ++i) {
      if (std::isnan(slit[i][i])) {
        ++missing;
      } else if (!(slit[i][i] > 0)) {
        usable = false;
      }
    }
    if (!usable) {
      out.notes.push_back(fmt::format("NUMA distances {} ignored: a diagonal (local) entry is 0", label));
    } else {
      // SLIT values are relative (10 = local) and kept as they are; a matrix in other units is rescaled so that each
      // target's local distance is 10, which is what latencies_from_slit() expects.
      bool relative = true;
      for (int i = 0; i < n; ++i)
        if (!std::isnan(slit[i][i]) && slit[i][i] != 10) relative = false;
      if (!relative) {
        for (int j = 0; j < n; ++j) {
          const double local = slit[j][j];
          if (std::isnan(local)) continue;
          for (int i = 0; i < n; ++i)
            if (!std::isnan(slit[i][j])) slit[i][j] = 10.0 * slit[i][j] / local;
        }
        out.notes.push_back(
            fmt::format("NUMA distances {} are not relative to 10 = local: rescaled per target node", label));
      }
      if (missing > 0) {
        double farthest = 10;
        for (const auto& row : slit)
          for (double v : row)
            if (!std::isnan(v)) farthest = std::max(farthest, v);
        for (int i = 0; i < n; ++i)
          for (int j = 0; j < n; ++j)
            if (std::isnan(slit[i][j])) slit[i][j] = i == j ? 10 : farthest;
        out.notes.push_back(
            fmt::format("NUMA distances {} cover {} of {} nodes: the others are taken as local 10 "
                        "and {} (the farthest distance) to every other node",
                        label, n - missing, n, farthest));
      }
      out.slit = std::move(slit);
    }
  }
  for (hwloc_distances_s* d : all) hwloc_distances_release(t, d);
}

int cores_under(hwloc_topology_t t, hwloc_obj_t o) {
  const int cores = hwloc_get_nbobjs_inside_cpuset_by_type(t, o->cpuset, HWLOC_OBJ_CORE);
  return cores > 0 ? cores : hwloc_get_nbobjs_inside_cpuset_by_type(t, o->cpuset, HWLOC_OBJ_PU);
}

// Maps a loaded hwloc topology onto a Machine. `file` names the input in errors. Runs in the import's child process:
// whatever it sets must also be in topology_to_json / topology_from_json.
ImportedTopology map_topology(hwloc_topology_t t, const std::string& file, ImportedTopology out) {
  Machine& m = out.machine;
  const int npu = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
  if (npu <= 0) throw InputError(file, "", "the topology has no processing units (PU objects)");

  // Cores, in hwloc's logical order: PUs are numbered depth-first, so their cores appear in the cores' own order. A
  // PU with no Core above it (some platforms do not report cores) is taken as a core of its own.
  std::vector<hwloc_obj_t> unit;  // per dense core id: the hwloc Core (or lone PU) object
  std::unordered_map<hwloc_obj_t, int> core_of;
  std::unordered_map<unsigned, int> core_of_pu;  // PU OS index -> dense core id
  int lone_pus = 0;
  for (int i = 0; i < npu; ++i) {
    hwloc_obj_t pu = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, static_cast<unsigned>(i));
    hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_CORE, pu);
    if (!core) {
      core = pu;
      ++lone_pus;
    }
    auto [it, fresh] = core_of.try_emplace(core, static_cast<int>(unit.size()));
    if (fresh) {
      unit.push_back(core);
      Core c;
      c.id = it->second;
      c.hw_threads = 0;
      m.cores.push_back(c);
    }
    Core& c = m.cores[it->second];
    c.hw_threads += 1;
    c.pu_os_index.push_back(static_cast<int>(pu->os_index));
    core_of_pu[pu->os_index] = it->second;
  }
  // hwloc drops objects that contradict their parents (with no error); the root's cpuset still names their PUs.
  const int named_pus = hwloc_bitmap_weight(hwloc_topology_get_complete_cpuset(t));
  if (named_pus > npu)
    out.notes.push_back(
        fmt::format("the topology's cpusets name {} PUs but hwloc kept {} PU objects (inconsistent "
                    "file?): the missing ones are not imported",
                    named_pus, npu));
  if (lone_pus > 0) out.notes.push_back(fmt::format("{} PUs have no Core object: each is taken as a core", lone_pus));

  // Packages.
  const int npkg = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE);
  m.packages = std::max(1, npkg);
  if (npkg <= 0) out.notes.push_back("no Package objects: one package");
  for (size_t i = 0; i < unit.size(); ++i) {
    hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, unit[i]);
    m.cores[i].package = pkg ? static_cast<int>(pkg->logical_index) : 0;
  }

  // Dies: the innermost of Die, shared L3 cache and Package above each core. An L3 inside a package is the die's shared
  // LLC (Machine's notion of a die), so where it covers only part of a package (AMD CCX/CCD, Opteron 6200 dies) it
  // defines the die even without Die objects, and where it is package-wide it changes nothing.
  const int ndie_objs = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_DIE);
  std::unordered_map<hwloc_obj_t, int> die_of;
  bool l3_split = false;  // some die is an L3 smaller than its Die or Package
  for (size_t i = 0; i < unit.size(); ++i) {
    hwloc_obj_t key = hwloc_get_root_obj(t);
    for (hwloc_obj_t o = unit[i]->parent; o; o = o->parent) {
      if (o->type == HWLOC_OBJ_DIE || o->type == HWLOC_OBJ_PACKAGE) {
        key = o;
        break;
      }
      // An L3 private to one core (POWER8) is no die; it must be shared.
      if (o->type == HWLOC_OBJ_L3CACHE && cores_under(t, o) > 1 && !memory_side_cache(o)) {
        key = o;
        hwloc_obj_t outer = hwloc_get_ancestor_obj_by_type(t, ndie_objs > 0 ? HWLOC_OBJ_DIE : HWLOC_OBJ_PACKAGE, o);
        if (outer && !hwloc_bitmap_isequal(outer->cpuset, o->cpuset)) l3_split = true;
        break;
      }
    }
    auto [it, fresh] = die_of.try_emplace(key, static_cast<int>(die_of.size()));
    m.cores[i].die = it->second;
  }
  m.dies = std::max(1, static_cast<int>(die_of.size()));
  if (l3_split)
    out.notes.push_back(fmt::format("dies follow the L3 caches shared by part of a {} ({} dies)",
                                    ndie_objs > 0 ? "Die" : "package", m.dies));
  else if (ndie_objs <= 0 && npkg > 0)
    out.notes.push_back("no Die objects: one die per package");

  // NUMA nodes, dense in hwloc's logical order.
  const int nnodes = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
  std::vector<hwloc_obj_t> node_objs;
  for (int i = 0; i < nnodes; ++i) {
    hwloc_obj_t o = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
    node_objs.push_back(o);
    NumaNode nd;
    nd.id = i;
    nd.memory_bytes = o->attr ? o->attr->numanode.local_memory : 0;
    int first_core = -1;  // the node's first core (not simply its cpuset's first bit: that PU may be missing)
    if (o->cpuset)
      for (int b = hwloc_bitmap_first(o->cpuset); b >= 0 && first_core < 0; b = hwloc_bitmap_next(o->cpuset, b))
        if (auto pu = core_of_pu.find(static_cast<unsigned>(b)); pu != core_of_pu.end()) first_core = pu->second;
    if (first_core >= 0) {
      nd.package = m.cores[first_core].package;
    } else {
      hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, o);
      nd.package = pkg ? static_cast<int>(pkg->logical_index) : 0;
      out.notes.push_back(fmt::format("NUMA node {} (OS #{}{}{}, {}) has no CPUs: memory only", i, o->os_index,
                                      o->subtype ? ", " : "", o->subtype ? o->subtype : "", gib(nd.memory_bytes)));
    }
    if (nd.memory_bytes == 0) out.notes.push_back(fmt::format("NUMA node {} reports no memory", i));
    m.nodes.push_back(nd);
  }
  if (m.nodes.empty()) {
    NumaNode nd;
    hwloc_obj_t root = hwloc_get_root_obj(t);
    nd.memory_bytes = root->total_memory;
    m.nodes.push_back(nd);
    out.notes.push_back(fmt::format("no NUMA nodes: one node with all the memory ({})", gib(nd.memory_bytes)));
  }

  // Each core's node: the NUMA node whose cpuset holds it. Where several do (KNL DRAM + MCDRAM, DRAM + HBM on Xeon
  // Max), prefer ordinary memory (no subtype or "DRAM"), then the most local node (smallest cpuset), then the lowest
  // OS index, as Linux numbers CPU-attached nodes first.
  int shared_cores = 0, homeless = 0;
  for (size_t i = 0; i < unit.size(); ++i) {
    const unsigned first_pu = static_cast<unsigned>(m.cores[i].pu_os_index.front());
    int best = -1;
    int choices = 0;
    auto rank = [&](int k) {
      hwloc_obj_t o = node_objs[k];
      return std::make_tuple(ordinary_memory(o) ? 0 : 1, hwloc_bitmap_weight(o->cpuset), o->os_index);
    };
    for (int k = 0; k < static_cast<int>(node_objs.size()); ++k) {
      if (!node_objs[k]->cpuset || !hwloc_bitmap_isset(node_objs[k]->cpuset, first_pu)) continue;
      ++choices;
      if (best < 0 || rank(k) < rank(best)) best = k;
    }
    if (choices > 1) ++shared_cores;
    if (best < 0) {
      best = 0;
      ++homeless;
    }
    m.cores[i].node = best;
  }
  if (shared_cores > 0)
    out.notes.push_back(
        fmt::format("{} cores are local to several NUMA nodes: each core's node is its ordinary "
                    "(DRAM) one, the others stay reachable as memory",
                    shared_cores));
  if (homeless > 0 && !node_objs.empty())
    out.notes.push_back(fmt::format("{} cores are in no NUMA node's cpuset: put on node 0", homeless));
  // Kinds (subtypes), memory attributes and the locality of memory-only nodes (sim/hwloc_memory.cpp).
  import_memory_kinds(t, node_objs, out);

  // Data and unified caches, one Cache per hwloc object, ordered by level then hwloc's logical order. Instruction
  // caches are filtered out by hwloc already; memory-side caches are not CPU caches and are only counted.
  std::unordered_map<hwloc_obj_t, int> cache_index;
  int memory_side_l3 = 0;  // memory-side caches exported as CPU caches with subtype MemorySideCache (hwloc 2.0)
  for (hwloc_obj_type_t type :
       {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE}) {
    const int count = hwloc_get_nbobjs_by_type(t, type);
    for (int i = 0; i < count; ++i) {
      hwloc_obj_t o = hwloc_get_obj_by_type(t, type, static_cast<unsigned>(i));
      if (memory_side_cache(o)) {
        ++memory_side_l3;
        continue;
      }
      Cache c;
      c.level = static_cast<int>(o->attr->cache.depth);
      c.size_bytes = o->attr->cache.size;
      if (o->attr->cache.linesize > 0) c.line_bytes = o->attr->cache.linesize;
      cache_index[o] = static_cast<int>(m.caches.size());
      m.caches.push_back(c);
    }
  }
  int unknown_line = 0, unknown_size = 0;
  for (const auto& [o, idx] : cache_index) {
    if (o->attr->cache.linesize == 0) ++unknown_line;
    if (o->attr->cache.size == 0) ++unknown_size;
  }
  for (size_t i = 0; i < unit.size(); ++i) {
    for (hwloc_obj_t o = unit[i]; o; o = o->parent) {
      auto it = cache_index.find(o);
      if (it == cache_index.end()) continue;
      m.caches[it->second].cores.push_back(static_cast<int>(i));
      m.cores[i].caches.push_back(it->second);
    }
  }
  // A cache no core sits under cannot be used; drop it and renumber (does not happen with hwloc's own exports).
  if (std::any_of(m.caches.begin(), m.caches.end(), [](const Cache& c) { return c.cores.empty(); })) {
    std::vector<int> renum(m.caches.size(), -1);
    std::vector<Cache> kept;
    for (size_t k = 0; k < m.caches.size(); ++k)
      if (!m.caches[k].cores.empty()) renum[k] = static_cast<int>(kept.size()), kept.push_back(m.caches[k]);
    for (Core& c : m.cores)
      for (int& ci : c.caches) ci = renum[ci];
    m.caches = std::move(kept);
  }
  for (Core& c : m.cores)
    std::stable_sort(c.caches.begin(), c.caches.end(),
                     [&](int a, int b) { return m.caches[a].level < m.caches[b].level; });
  if (unknown_line > 0)
    out.notes.push_back(fmt::format("{} caches have no line size: {} bytes assumed", unknown_line, Cache{}.line_bytes));
  if (unknown_size > 0) out.notes.push_back(fmt::format("{} caches have no size (0 bytes kept)", unknown_size));
  const int memcaches = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_MEMCACHE) + memory_side_l3;
  if (memcaches > 0)
    out.notes.push_back(
        fmt::format("{} memory-side caches (e.g. DRAM in front of persistent memory) are not modelled", memcaches));

  // What the exporting process could not use was imported anyway (see configure()); say how much.
  hwloc_const_cpuset_t allowed_cpus = hwloc_topology_get_allowed_cpuset(t);
  hwloc_const_nodeset_t allowed_nodes = hwloc_topology_get_allowed_nodeset(t);
  int disallowed_pus = 0, disallowed_nodes = 0;
  for (int i = 0; i < npu; ++i)
    if (!hwloc_bitmap_isset(allowed_cpus, hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, static_cast<unsigned>(i))->os_index))
      ++disallowed_pus;
  for (hwloc_obj_t o : node_objs)
    if (!hwloc_bitmap_isset(allowed_nodes, o->os_index)) ++disallowed_nodes;
  if (disallowed_pus > 0 || disallowed_nodes > 0)
    out.notes.push_back(
        fmt::format("{} of {} PUs and {} of {} NUMA nodes are marked disallowed (e.g. outside the "
                    "exporting process's cgroup): imported anyway, the machine is the whole hardware",
                    disallowed_pus, npu, disallowed_nodes, node_objs.size()));

  import_distances(t, out);
  return out;
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

void write_all(int fd, const std::string& text) {
  for (size_t off = 0; off < text.size();) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// Reads both pipes to their end (a child that fills one while the parent waits on the other would block).
void read_both(int out_fd, int err_fd, std::string& out, std::string& err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::vector<char> buf(1 << 16);
  int open = 2;
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
      } else if (err.size() < (1u << 20)) {  // a verbose hwloc may say a lot; its last words are what matter
        err.append(buf.data(), static_cast<size_t>(n));
      }
    }
  }
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
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return std::nullopt;
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]), ::close(out[1]);
    return std::nullopt;
  }
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {out[0], out[1], err[0], err[1]}) ::close(fd);
    return std::nullopt;
  }
  if (pid == 0) {
    // A crash must end the child with its signal, not run the parent's handlers (a test framework's, a sanitizer's).
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGALRM}) std::signal(sig, SIG_DFL);
    ::alarm(kChildTimeoutS);  // nor may a hang inside libhwloc hang mksim: the alarm ends the child
    ::close(out[0]), ::close(err[0]);
    ::dup2(err[1], STDERR_FILENO);
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
    write_all(out[1], r.dump(-1, ' ', false, json::error_handler_t::replace));
    ::_exit(0);
  }
  ::close(out[1]), ::close(err[1]);
  std::string result, said;
  read_both(out[0], err[0], result, said);
  ::close(out[0]), ::close(err[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
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
