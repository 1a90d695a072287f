// The parts of the hwloc import (sim/hwloc_import.hpp) shared by its files, and by nothing else:
//   hwloc_xml_guard.cpp  what mksim checks in an XML file before libhwloc sees it (syntax errors with their line, the
//                        format version, elements libhwloc 2.9 crashes on) and the explanation of a refusal;
//   hwloc_map.cpp        the mapping of a loaded hwloc topology onto mksim's Machine;
//   hwloc_import.cpp     libhwloc itself, in a child process (sim/child_process.hpp), and the entry points.
#pragma once

#include <hwloc.h>

#include <optional>
#include <string>
#include <vector>

#include "sim/hwloc_import.hpp"

namespace mksim::hwloc_detail {

// "line N", the `where` of an InputError.
std::string at_line(int line);
// The 1-based line of position `pos` in `s`.
int line_at(const std::string& s, size_t pos);

// XML processors see every line end as "\n" and skip a byte-order mark; does the same so that files saved on Windows
// still load with hwloc's built-in reader, which only knows "\n".
std::string normalise(std::string s);

// hwloc 2.9 refuses `<topology version="3.x">` although it reads such files' content once they claim 2.0: rewrites the
// version in the buffer and notes it; refuses (InputError naming `path`) versions it cannot vouch for.
void accept_version(std::string& s, const std::string& path, std::vector<std::string>& notes);

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

// The first place where `s` is not well-formed XML or holds what libhwloc 2.9 crashes on, and what hwloc's built-in
// reader does not accept.
XmlScan scan_xml(const std::string& s);

// Called when hwloc refused a well-formed file: throws the best explanation we can give, with a line when there is one.
// `hwloc_reason`: what hwloc said (HWLOC_XML_VERBOSE), when the import ran in a child process that could capture it.
[[noreturn]] void explain_refusal(const std::string& path, const XmlScan& scan, int hwloc_errno,
                                  const std::string& hwloc_reason = "");

// Maps a loaded hwloc topology onto a Machine. `file` names the input in errors. Runs in the import's child process:
// whatever it sets must also be in topology_to_json / topology_from_json (hwloc_import.cpp).
ImportedTopology map_topology(hwloc_topology_t t, const std::string& file, ImportedTopology out);

}  // namespace mksim::hwloc_detail
