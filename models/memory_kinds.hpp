// Memory kinds: the figures mksim assumes for a NUMA node of a kind when neither a hwloc file, a preset nor the config
// gives them (machine.memory.kinds.<KIND> overrides them; `mksim machine` marks them assumed). They are per NUMA node
// and scaled to mksim's DRAM default (20 GB/s, 80 ns for one node) by ratios that published measurements give:
// - HBM (and Knights Landing's MCDRAM): STREAM triad about 490 GB/s from MCDRAM against 90 GB/s from DDR4 on a Xeon
//   Phi 7250 in flat mode, a ratio of about 5 (Jeffers, Reinders, Sodani, "Intel Xeon Phi Processor High Performance
//   Programming, Knights Landing Edition", Morgan Kaufmann 2016); an idle latency somewhat above DDR4's (Ramos and
//   Hoefler, "Capability Models for Manycore Memory Systems: A Case-Study with Xeon Phi KNL", IPDPS 2017); the
//   64intel64-heteromem.xml hwloc file gives 90 GB/s HBM against 22.5 GB/s DRAM (a ratio of 4). Assumed: 100 GB/s,
//   95 ns (about 1.2x DRAM's latency).
// - NVM (Intel Optane DC persistent memory, App Direct/memory mode): per the six-DIMM measurements of Izraelevitz et
//   al., "Basic Performance Measurements of the Intel Optane DC Persistent Memory Module", arXiv:1903.05714 (2019):
//   about 39 GB/s read and 13 GB/s write against 105 GB/s / 80 GB/s for DRAM, idle random read latency 305 ns
//   against 81 ns. Assumed: 7.5 GB/s read, 2.5 GB/s write, 305 ns.
// - CXL (a CXL.mem Type-3 expander): the CXL Consortium's Hot Chips 34 tutorial (2022) puts main memory at 80-140 ns
//   and CXL memory at 170-250 ns, about one socket-to-socket hop (as reported by ServeTheHome, "Compute Express Link
//   CXL Latency How Much is Added at HC34"); a PCIe 5.0 x8 link carries 32 GB/s raw per direction, of which
//   measured expanders reach about half (Sun et al., "Demystifying CXL Memory with Genuine CXL-Ready Systems and
//   Devices", MICRO 2023). Assumed: 16 GB/s read and write, 170 ns (the low ends of both ranges: DRAM's 80 ns).
// - DRAM and any other name (a subtype hwloc gives that mksim does not know): mksim's DRAM defaults.
#pragma once

#include <string>

namespace mksim {

struct MemoryKindFigures {
  const char* kind;
  double read_bandwidth_gb_s;
  double write_bandwidth_gb_s;
  double latency_ns;
  const char* source;
};

// The kinds mksim knows, by canonical name; `memory_kind_name` maps hwloc's subtypes onto them.
inline const MemoryKindFigures* memory_kind_defaults(const std::string& kind) {
  static const MemoryKindFigures kinds[] = {
      {"DRAM", 20, 20, 80, "mksim's DRAM default"},
      {"HBM", 100, 100, 95,
       "HBM default: ~5x DRAM STREAM bandwidth, ~1.2x its idle latency (KNL MCDRAM vs DDR4, Jeffers et al. 2016; "
       "Ramos and Hoefler 2017)"},
      {"NVM", 7.5, 2.5, 305,
       "NVM default: Optane DC PMM read/write bandwidth and idle latency relative to DRAM (Izraelevitz et al. 2019)"},
      {"CXL", 16, 16, 170,
       "CXL default: a Type-3 expander on PCIe 5.0 x8, ~half its 32 GB/s (Sun et al., MICRO 2023), 170 ns against "
       "DRAM's 80 (CXL Consortium, Hot Chips 34, 2022)"},
  };
  for (const auto& k : kinds)
    if (kind == k.kind) return &k;
  return nullptr;
}

// The canonical kind of a name a hwloc file or a config gives: MCDRAM is HBM, NVDIMM/PMEM are NVM, CXL-DRAM is
// CXL; any other name is kept as it is (it takes DRAM's defaults).
inline std::string memory_kind_name(const std::string& name) {
  std::string u;
  for (char ch : name) u += static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
  if (u == "HBM" || u == "MCDRAM" || u == "HBM2" || u == "HBM2E" || u == "HBM3") return "HBM";
  if (u == "NVM" || u == "NVDIMM" || u == "PMEM" || u == "OPTANE") return "NVM";
  if (u == "CXL" || u == "CXL-DRAM" || u == "CXL-MEM") return "CXL";
  if (u == "DRAM" || u == "DDR" || u == "DDR4" || u == "DDR5") return "DRAM";
  return name;
}

}  // namespace mksim
