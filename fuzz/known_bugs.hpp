// Bugs already reported, each with an `xfail` case in tests/bad_inputs/catalogue.json (named below). The fuzz targets
// step around them so that a bounded run can still find new bugs instead of rediscovering these in its first seconds.
// When a bug is fixed: delete its entry here and the `xfail` of its catalogue case; the case (and any input in
// fuzz/regressions/) then guards the fix. MKSIM_FUZZ_KNOWN_BUGS=1 in the environment turns every mask off, to check
// which of them still reproduce.
#pragma once

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace mksim_fuzz {

inline bool masks_on() {
  static const bool on = [] {
    const char* v = std::getenv("MKSIM_FUZZ_KNOWN_BUGS");
    return !(v && std::strcmp(v, "1") == 0);
  }();
  return on;
}

// An exception other than InputError that a known bug throws.
inline bool known_exception(const std::exception& e) {
  if (!masks_on()) return false;
  // config-number-overflow-1e400, set-number-overflow: nlohmann reports a number that overflows a double (1e400) as
  // out_of_range 406, which sim/config.cpp parse_json_text and apply_override do not catch.
  if (const auto* r = dynamic_cast<const nlohmann::json::out_of_range*>(&e); r && r->id == 406) return true;
  // set-invalid-utf8, trace-invalid-utf8-task-name: a string that is not UTF-8 (a bare --set value, a task name from
  // a trace) reaches json::dump(), which throws type_error 316 (sim/params.cpp describe, sim/results.cpp).
  if (const auto* t = dynamic_cast<const nlohmann::json::type_error*>(&e); t && t->id == 316) return true;
  // set-index-huge: std::stoul on a list index that does not fit (sim/config.cpp apply_override).
  if (dynamic_cast<const std::out_of_range*>(&e) && std::strcmp(e.what(), "stoul") == 0) return true;
  return false;
}

// A parsed config that a known bug crashes on (stack overflow, memory exhaustion) rather than throwing.
inline bool known_crash(const nlohmann::json& doc) {
  if (!masks_on()) return false;
  // config-deep-nesting, config-deep-nesting-in-workload: json::dump() recurses once per nesting level and error
  // messages dump the value (sim/config.cpp, sim/params.cpp); thousands of levels overflow the stack.
  // config-huge-cache-size, config-huge-node-memory, config-huge-stream-bytes, config-huge-stream-chunk: numbers
  // without an upper bound are cast to uint64 (undefined behaviour from about 1.8e19 bytes; sizes in KiB and GiB get
  // there sooner). Any number of 1e10 or more is stepped around until the schemas bound them.
  std::vector<std::pair<const nlohmann::json*, int>> todo{{&doc, 1}};
  while (!todo.empty()) {
    auto [v, depth] = todo.back();
    todo.pop_back();
    if (depth > 1000) return true;
    if (v->is_number() && !(std::abs(v->get<double>()) < 1e10)) return true;
    if (v->is_structured())
      for (const auto& e : *v) todo.emplace_back(&e, depth + 1);
  }
  // config-65536-numa-nodes: sockets x nodes_per_socket up to 4096 x 64 passes the schema, but the node x node
  // latency and hop matrices (sim/machine_config.cpp apply_interconnect) then need gigabytes.
  if (doc.is_object() && doc.contains("machine") && doc["machine"].is_object()) {
    const auto& m = doc["machine"];
    auto num = [&](const char* k) {
      return m.contains(k) && m[k].is_number() ? m[k].get<double>() : 1.0;
    };
    if (num("sockets") * num("nodes_per_socket") > 4096) return true;
  }
  return false;
}

// An hwloc XML text that crashes libhwloc 2.9 itself (reported with the catalogue case named).
inline bool known_hwloc_crash(const std::string& xml) {
  if (!masks_on()) return false;
  // hwloc-missing-complete-cpuset, hwloc-memcache-missing-complete-nodeset: an <object> with a cpuset but no
  // complete_cpuset, or a nodeset but no complete_nodeset, makes hwloc_topology_load dereference a null bitmap
  // (hwloc_bitmap_compare_first, hwloc_bitmap_or); models/hwloc_import.cpp passes such files on to hwloc.
  auto has_attr = [](const std::string& tag, const std::string& name) {
    for (const char* before : {" ", "\t", "\n", "\r"})
      if (tag.find(before + name + "=") != std::string::npos) return true;
    return false;
  };
  // hwloc-memcache-bad-nodeset-value: the same crash when a set's value is not a bitmap ("0x0000000&1"): any set
  // attribute whose value is not comma-separated 0x-prefixed hex words is stepped around.
  auto bad_bitmap = [](const std::string& tag) {
    for (size_t at = tag.find("set=\""); at != std::string::npos; at = tag.find("set=\"", at + 1)) {
      const size_t b = at + 5, e = tag.find('"', b);
      const std::string v = tag.substr(b, e == std::string::npos ? std::string::npos : e - b);
      for (size_t i = 0; i < v.size();) {
        if (v[i] == ',') {
          ++i;
          continue;
        }
        if (v.compare(i, 2, "0x") != 0) return true;
        size_t j = i + 2;
        while (j < v.size() && std::isxdigit(static_cast<unsigned char>(v[j]))) ++j;
        if (j == i + 2 || j - i - 2 > 8 || (j < v.size() && v[j] != ',')) return true;
        i = j;
      }
    }
    return false;
  };
  for (size_t at = xml.find("<object"); at != std::string::npos; at = xml.find("<object", at + 1)) {
    const size_t end = xml.find('>', at);
    const std::string tag = xml.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (has_attr(tag, "cpuset") && !has_attr(tag, "complete_cpuset")) return true;
    if (has_attr(tag, "nodeset") && !has_attr(tag, "complete_nodeset")) return true;
    if (bad_bitmap(tag)) return true;
  }
  return false;
}

// A Genode init configuration that a known bug crashes on or hangs with.
inline bool known_genode_crash(const std::string& xml) {
  if (!masks_on()) return false;
  // genode-huge-affinity-space, genode-huge-affinity: width x height of an <affinity-space> or <affinity> overflows
  // int (a division by zero follows) or makes workloads/genode.cpp setup loop over ~2^40 cells. Any such element whose
  // width or height attribute has more than 4 digits is stepped around.
  for (const char* tag : {"<affinity-space", "<affinity"}) {
    for (size_t at = xml.find(tag); at != std::string::npos; at = xml.find(tag, at + 1)) {
      const std::string t = xml.substr(at, xml.find('>', at) == std::string::npos ? std::string::npos
                                                                                  : xml.find('>', at) - at);
      for (const char* attr : {"width=", "height="}) {
        const size_t v = t.find(attr);
        if (v == std::string::npos) continue;
        size_t digits = 0;
        for (size_t i = v + std::strlen(attr) + 1; i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) ||
                                                                      t[i] == ' ' || t[i] == '+');
             ++i)
          digits += t[i] != ' ' && t[i] != '+';
        if (digits > 4) return true;
      }
    }
  }
  return false;
}

}  // namespace mksim_fuzz
