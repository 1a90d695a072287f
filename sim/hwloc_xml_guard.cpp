// What mksim checks in an hwloc XML file before libhwloc sees it (sim/hwloc_detail.hpp). The only XML scanning of the
// import: (a) finding the root element's version attribute, so that hwloc 3.x exports can be read by hwloc 2.9, (b)
// locating the line of a syntax error, because hwloc itself only reports "Invalid argument", and (c) refusing, with
// their line, the elements libhwloc 2.9 is known to crash on.
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
#include "sim/hwloc_detail.hpp"
#include "sim/input.hpp"

namespace mksim::hwloc_detail {

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
                                  const std::string& hwloc_reason) {
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

}  // namespace mksim::hwloc_detail
