// The registries: every slot is declared once, a name registered twice in a slot is an error at start-up, and the
// kernel slots' parameter blocks (kernel.<name>) cannot collide.
#include <fmt/format.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "sim/api/memory.hpp"
#include "sim/api/param_struct.hpp"
#include "sim/api/registry.hpp"
#include "sim/api/scheduler.hpp"
#include "sim/config.hpp"
#include "sim/engine.hpp"
#include "sim/outputs.hpp"
#include "sim/results.hpp"

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

TEST_CASE("param struct: an unbound field is declared in its place and read through Params") {
  const ParamStruct<ProbeParams> d =
      ParamStruct<ProbeParams>()
          .bind(&ProbeParams::depth, Field::integer("depth", 3, "", "depth"))
          .unbound(Field::optional("parts", FieldType::Object, "core ids", "a structured value"))
          .bind(&ProbeParams::strict, Field::boolean("strict", true, "strict"));
  const Schema schema = d.schema();
  REQUIRE(schema.names() == std::vector<std::string>{"depth", "parts", "strict"});
  json given = {{"parts", {{"a", {0, 1}}}}};
  Params p(schema.resolve(given, "kernel.probe", "t.json"), "kernel.probe", "t.json");
  ProbeParams v = d.read(p);
  CHECK(v.depth == 3);
  CHECK(v.strict);
  CHECK(p.child("parts").raw().contains("a"));  // the component reads it itself
  // Absent, it stays absent (optional): the struct still fills.
  Params none(schema.resolve(json::object(), "kernel.probe", "t.json"), "kernel.probe", "t.json");
  CHECK_FALSE(none.has("parts"));
  CHECK(d.read(none).depth == 3);
}

TEST_CASE("registry: a kernel component named like one of another kernel slot is a start-up error") {
  // One parameter namespace for the kernel slots (kernel.<name>, docs/ARCHITECTURE.md): a scheduler named like a
  // placement policy would make kernel.first-touch the parameter block of both, so the build refuses to start.
  REQUIRE(PlacementRegistry::instance().find("first-touch"));
  auto before = registration_errors();
  REQUIRE(SchedulerRegistry::instance().add(
      ComponentInfo{"scheduler", "first-touch", "a scheduler with a placement's name", std::make_shared<Schema>(), ""},
      [](const Params&) -> std::unique_ptr<Scheduler> { return nullptr; }));
  auto errors = registration_errors();
  const bool removed = SchedulerRegistry::instance().remove("first-touch");
  REQUIRE(removed);
  REQUIRE(errors.size() == before.size() + 1);
  const std::string& e = errors.back();
  CHECK_THAT(e, Catch::Contains("the name 'first-touch' is registered both as a "));
  CHECK_THAT(e, Catch::Contains("scheduler"));
  CHECK_THAT(e, Catch::Contains("memory_policy"));
  CHECK_THAT(e, Catch::EndsWith("kernel.first-touch would be the parameter block of both"));
  // Without it, the build is clean again (the check reads the registries, it keeps nothing).
  CHECK(registration_errors().size() == before.size());
}

namespace {
// A new output is this one registration and nothing else: it writes how many slices ran into slices.txt.
class SliceCount final : public Observer {
 public:
  explicit SliceCount(std::string outdir) : outdir_(std::move(outdir)) {}
  void on_slice(int, const Thread&, double, double) override { ++slices_; }
  void on_end(double) override { std::ofstream(outdir_ + "/slices.txt") << slices_ << "\n"; }

 private:
  std::string outdir_;
  uint64_t slices_ = 0;
};
AddOutput slice_count({"test-slices", "slices.txt", "the number of slices, slices.txt", "how many slices ran",
                       "see tests/cpp/test_registry.cpp"},
                      "the number of slices (a test's output)",
                      [](const Params&, const Scenario&, const std::string& d) {
                        return std::make_unique<SliceCount>(d);
                      });
}  // namespace

TEST_CASE("registry: a new output is one registration: config field, file list, docs and the run follow") {
  const auto* e = OutputRegistry::instance().find("test-slices");
  REQUIRE(e);
  bool listed = false;
  for (const auto& o : output_files()) listed = listed || (o.output == "test-slices" && o.file == "slices.txt");
  CHECK(listed);
  // Every registered output declares its file (so --NAME, a sweep's cleared files and docs/outputs.md know it).
  std::set<std::string> with_file;
  for (const auto& o : output_files()) with_file.insert(o.output);
  for (const auto& name : OutputRegistry::instance().names()) CHECK(with_file.count(name) == 1);
  CHECK_THAT(outputs_reference_markdown(),
             Catch::Contains("| `slices.txt` | how many slices ran (`--test-slices`, `run.outputs.test-slices`)"));

  const auto dir = std::filesystem::temp_directory_path() / fmt::format("mksim-test-output-{}", getpid());
  std::filesystem::remove_all(dir);
  json doc = {{"machine", {{"preset", "desktop-1s"}}},
              {"workload", {{"kind", "compute"}, {"threads", 2}, {"cycles_per_thread", 1e6}}},
              {"run", {{"outputs", {{"test-slices", true}, {"csv", false}}}}}};
  const Scenario sc = resolve_scenario(doc, "test", ".");
  REQUIRE(sc.run.outputs == std::vector<std::string>{"test-slices"});
  run_isolated(sc, dir.string());
  std::ifstream in(dir / "slices.txt");
  uint64_t slices = 0;
  REQUIRE(in >> slices);
  CHECK(slices >= 2);  // each of the two threads ran at least once
  // Off by default: the same config without it writes no file.
  doc["run"]["outputs"] = {{"csv", false}};
  const auto off = dir / "off";
  run_isolated(resolve_scenario(doc, "test", "."), off.string());
  CHECK_FALSE(std::filesystem::exists(off / "slices.txt"));
  std::filesystem::remove_all(dir);
}
