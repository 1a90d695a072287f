// The machine's hardware costs of privileged operations (machine.cpu: kernel entry and exit, address-space switch,
// tagged TLB, page walk): read from a config onto every core, defaults where a description, a hwloc import or a preset
// gives none, and clear errors naming the JSON path for bad values.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "sim/config.hpp"
#include "sim/machine_config.hpp"

using namespace mksim;

namespace {

Machine machine_of(const json& section) { return build_machine(section, "machine", "cfg.json", "."); }

std::string error_of(const json& section) {
  try {
    machine_of(section);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

json two_cores() { return {{"sockets", 1}, {"cores_per_socket", 2}}; }

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
  fs::path dir = fs::path(MKSIM_SOURCE_DIR) / ".." / "shared";
  if (const char* env = std::getenv("MKSIM_SHARED_DIR")) dir = env;
  const fs::path xml = dir / "realdata" / "hwloc" / "64amd64-4p2n4ca2co.xml";
  REQUIRE(fs::is_regular_file(xml));
  const Machine m = machine_of({{"hwloc", xml.string()}});
  REQUIRE(m.num_cores() == 64);
  for (const Core& c : m.cores) CHECK(c.costs.address_space_switch_cycles == CpuCosts{}.address_space_switch_cycles);
  const Machine u = machine_of({{"hwloc", xml.string()}, {"cpu", {{"tagged_tlb", false}}}});
  for (const Core& c : u.cores) CHECK_FALSE(c.costs.tagged_tlb);
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
