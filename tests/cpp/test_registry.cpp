// The registries: every slot is declared once, a name registered twice in a slot is an error at start-up, and the
// kernel slots' parameter blocks (kernel.<name>) cannot collide.
#include <catch2/catch.hpp>
#include <set>

#include "sim/api/param_struct.hpp"
#include "sim/api/registry.hpp"
#include "sim/config.hpp"

using namespace mksim;

namespace {
struct Probe {
  virtual ~Probe() = default;
};
}  // namespace

TEST_CASE("registry: this build registers without errors; a duplicate becomes one, naming slot and name") {
  REQUIRE(registration_errors().empty());
  CHECK_NOTHROW(check_registrations());

  // Every registered component belongs to a declared slot, and every kernel slot is a field of the kernel section.
  std::set<std::string> slots;
  for (const auto& s : all_slots()) slots.insert(s.name);
  for (const auto* c : all_components()) CHECK(slots.count(c->slot) == 1);
  for (const auto& s : all_slots())
    if (s.section == SlotInfo::Section::Kernel) CHECK(kernel_slots_schema().find(s.name));

  // A slot of its own (not declared, so that no other test enumerates it): that is an error too.
  Registry<Probe>::Add first("probe", "probe-dup", "first", Schema{},
                             [](const Params&) { return std::make_unique<Probe>(); });
  auto errors = registration_errors();
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "the probe 'probe-dup' is registered in a slot that is not declared (sim/registry.cpp)");
  Registry<Probe>::Add second("probe", "probe-dup", "second", Schema{},
                              [](const Params&) { return std::make_unique<Probe>(); });
  errors = registration_errors();
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "the probe 'probe-dup' is registered twice");
  CHECK(Registry<Probe>::instance().find("probe-dup")->info.description == "first");  // the first one stays
  CHECK_THROWS_WITH(check_registrations(), Catch::Contains("the probe 'probe-dup' is registered twice"));
}

namespace {
struct ProbeParams {
  double slice_us = 0;
  int64_t depth = 0;
  std::string mode;
  bool strict = false;
  static const ParamStruct<ProbeParams>& declare() {
    static const ParamStruct<ProbeParams> d =
        ParamStruct<ProbeParams>()
            .bind(&ProbeParams::slice_us, Field::number("slice_us", 100, "us", "a slice").above(0))
            .bind(&ProbeParams::depth, Field::integer("depth", 3, "", "a depth").at_least(1))
            .bind(&ProbeParams::mode, Field::choice("mode", "fast", {"fast", "slow"}, "a mode"))
            .bind(&ProbeParams::strict, Field::boolean("strict", false, "strictness"));
    return d;
  }
};
}  // namespace

TEST_CASE("param struct: one declaration gives the schema and fills the struct; a type mismatch is refused") {
  const Schema schema = ProbeParams::declare().schema();
  REQUIRE(schema.names() == std::vector<std::string>{"slice_us", "depth", "mode", "strict"});
  json given = {{"depth", 7}, {"mode", "slow"}};
  Params p(schema.resolve(given, "kernel.probe", "t.json"), "kernel.probe", "t.json");
  ProbeParams v = ProbeParams::declare().read(p);
  CHECK(v.slice_us == 100);  // the declared default
  CHECK(v.depth == 7);
  CHECK(v.mode == "slow");
  CHECK_FALSE(v.strict);
  // The declaration's range checks the config.
  CHECK_THROWS_WITH(schema.resolve(json{{"slice_us", 0}}, "kernel.probe", "t.json"), Catch::Contains("slice_us"));
  // A member of another type than its field cannot be bound.
  CHECK_THROWS_AS(ParamStruct<ProbeParams>().bind(&ProbeParams::slice_us, Field::integer("slice_us", 1, "", "x")),
                  std::logic_error);
}
