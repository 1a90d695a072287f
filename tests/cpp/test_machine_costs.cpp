// The machine's hardware costs of privileged operations (machine.cpu: kernel entry and exit, address-space switch,
// tagged TLB, page walk): read from a config onto every core, defaults where a description, a hwloc import or a preset
// gives none, presets' own values, and clear errors naming the JSON path for bad values.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "models/presets.hpp"
#include "sim/config.hpp"
#include "sim/machine_config.hpp"

using namespace mksim;

namespace {

Machine machine_of(const json& section) {
  return build_machine(section, "machine", "cfg.json", ".");
}

std::string error_of(const json& section) {
  try {
    machine_of(section);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

json two_cores() {
  return {{"sockets", 1}, {"cores_per_socket", 2}};
}

}  // namespace

TEST_CASE("machine.cpu: given values reach every core") {
  json doc = two_cores();
  doc["cpu"] = {{"kernel_entry_exit_cycles", 75},
                {"address_space_switch_cycles", 220},
                {"tagged_tlb", false},
                {"page_walk_cycles", 41.5}};
  const Machine m = machine_of(doc);
  REQUIRE(m.num_cores() == 2);
  for (const Core& c : m.cores) {
    CHECK(c.costs.kernel_entry_exit_cycles == 75);
    CHECK(c.costs.address_space_switch_cycles == 220);
    CHECK_FALSE(c.costs.tagged_tlb);
    CHECK(c.costs.page_walk_cycles == 41.5);
  }
  // One field alone: the others keep their defaults.
  json one = two_cores();
  one["cpu"] = {{"page_walk_cycles", 12}};
  const Machine m1 = machine_of(one);
  CHECK(m1.cores[1].costs.page_walk_cycles == 12);
  CHECK(m1.cores[1].costs.tagged_tlb);
  CHECK(m1.cores[1].costs.address_space_switch_cycles == 100);
}

TEST_CASE("machine.cpu: defaults for a description without them, written back into the resolved config") {
  const Machine m = machine_of(two_cores());
  const CpuCosts defaults;
  CHECK(m.cores[0].costs.kernel_entry_exit_cycles == defaults.kernel_entry_exit_cycles);
  CHECK(m.cores[0].costs.address_space_switch_cycles == defaults.address_space_switch_cycles);
  CHECK(m.cores[0].costs.tagged_tlb == defaults.tagged_tlb);
  CHECK(m.cores[0].costs.page_walk_cycles == defaults.page_walk_cycles);
  // The schema's defaults are the struct's (one set of defaults, whichever way a machine is built).
  json resolved;
  build_machine(two_cores(), "machine", "cfg.json", ".", &resolved);
  CHECK(resolved["cpu"]["kernel_entry_exit_cycles"].get<double>() == defaults.kernel_entry_exit_cycles);
  CHECK(resolved["cpu"]["address_space_switch_cycles"].get<double>() == defaults.address_space_switch_cycles);
  CHECK(resolved["cpu"]["tagged_tlb"].get<bool>() == defaults.tagged_tlb);
  CHECK(resolved["cpu"]["page_walk_cycles"].get<double>() == defaults.page_walk_cycles);
}

TEST_CASE("machine.cpu: a hwloc import gets the defaults, and a config may set them beside the file") {
  namespace fs = std::filesystem;
  const fs::path xml = fs::path(MKSIM_SOURCE_DIR) / "data" / "realdata" / "hwloc" / "64amd64-4p2n4ca2co.xml";
  REQUIRE(fs::is_regular_file(xml));
  const Machine m = machine_of({{"hwloc", xml.string()}});
  REQUIRE(m.num_cores() == 64);
  for (const Core& c : m.cores) CHECK(c.costs.address_space_switch_cycles == CpuCosts{}.address_space_switch_cycles);
  const Machine u = machine_of({{"hwloc", xml.string()}, {"cpu", {{"tagged_tlb", false}}}});
  for (const Core& c : u.cores) CHECK_FALSE(c.costs.tagged_tlb);
}

TEST_CASE("machine.cpu: presets carry their CPUs' costs, and a config overrides one field of a preset") {
  // The Multikernel paper's machines have untagged TLBs (K8, K10, Core); K10 and Core walks differ from K8's.
  for (const char* name : {"amd-2x2-2009", "amd-4x4-2009", "amd-8x4-2009", "intel-2x4-2009"}) {
    INFO(name);
    CHECK_FALSE(machine_of({{"preset", name}}).cores[0].costs.tagged_tlb);
  }
  const Machine k8 = machine_of({{"preset", "amd-2x2-2009"}});
  const Machine k10 = machine_of({{"preset", "amd-4x4-2009"}});
  CHECK(k10.cores[0].costs.page_walk_cycles > k8.cores[0].costs.page_walk_cycles);
  // The two K10 machines share their CPU costs.
  const Machine k10b = machine_of({{"preset", "amd-8x4-2009"}});
  CHECK(k10b.cores[31].costs.page_walk_cycles == k10.cores[0].costs.page_walk_cycles);
  // A current x86 preset keeps the defaults.
  CHECK(machine_of({{"preset", "haswell-i7-4770"}}).cores[0].costs.tagged_tlb);
  // An override merges into the preset's section.
  const Machine o = machine_of({{"preset", "amd-4x4-2009"}, {"cpu", {{"page_walk_cycles", 10}}}});
  CHECK(o.cores[0].costs.page_walk_cycles == 10);
  CHECK_FALSE(o.cores[0].costs.tagged_tlb);
}

TEST_CASE("machine.cpu: bad values are errors that name the file, the JSON path and what was expected") {
  auto with = [](const json& cpu) {
    json doc = two_cores();
    doc["cpu"] = cpu;
    return error_of(doc);
  };
  CHECK_THAT(with({{"page_walk_cycles", -1}}), Catch::Contains("cfg.json") &&
                                                   Catch::Contains("machine.cpu.page_walk_cycles") &&
                                                   Catch::Contains("found -1") && Catch::Contains("0 and"));
  CHECK_THAT(with({{"kernel_entry_exit_cycles", "fast"}}),
             Catch::Contains("machine.cpu.kernel_entry_exit_cycles") && Catch::Contains("expected a number"));
  CHECK_THAT(with({{"tagged_tlb", "no"}}),
             Catch::Contains("machine.cpu.tagged_tlb") && Catch::Contains("expected true or false"));
  CHECK_THAT(with({{"address_space_switch_cycles", 1e300}}),
             Catch::Contains("machine.cpu.address_space_switch_cycles") && Catch::Contains("between 0 and"));
  CHECK_THAT(with({{"page_walk", 30}}),
             Catch::Contains("machine.cpu.page_walk") && Catch::Contains("did you mean 'page_walk_cycles'"));
  CHECK_THAT(with(json::array({1, 2})), Catch::Contains("machine.cpu") && Catch::Contains("expected an object"));
  // Through a preset too.
  CHECK_THAT(error_of({{"preset", "amd-2x2-2009"}, {"cpu", {{"page_walk_cycles", -3}}}}),
             Catch::Contains("machine.cpu.page_walk_cycles"));
  // A machine built in code is checked as well.
  Machine m = machine_of(two_cores());
  m.cores[1].costs.page_walk_cycles = -5;
  CHECK_THAT(m.check(), Catch::Contains("core 1") && Catch::Contains("page walk"));
}
