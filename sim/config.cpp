#include "sim/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <set>

#include "sim/api/agreement.hpp"
#include "sim/api/kernel.hpp"
#include "sim/api/memory.hpp"
#include "sim/api/scheduler.hpp"
#include "sim/api/workload.hpp"
#include "sim/input.hpp"
#include "sim/machine_config.hpp"
#include "sim/plugins.hpp"

namespace mksim {

namespace fs = std::filesystem;

json parse_json_text(const std::string& text, const std::string& file) {
  return parse_json(text, file);
}

json load_json_file(const std::string& path) {
  return parse_json(read_input_file(path, "the file"), path);
}

std::string resolve_path(const std::string& p, const std::string& base_dir) {
  fs::path path(p);
  if (path.is_absolute() || base_dir.empty()) return path.string();
  return (fs::path(base_dir) / path).lexically_normal().string();
}

namespace {

bool is_machine_choice(const std::string& key) {
  return key == "preset" || key == "hwloc";
}

// Splits "a.b[2].c" / "a.b.2.c" into steps.
std::vector<std::string> path_steps(const std::string& path) {
  std::vector<std::string> steps;
  std::string cur;
  for (char ch : path) {
    if (ch == '.' || ch == '[' || ch == ']') {
      if (!cur.empty()) steps.push_back(cur), cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) steps.push_back(cur);
  return steps;
}

bool chooses_machine(const std::vector<std::string>& steps) {
  return steps.size() == 2 && steps[0] == "machine" && is_machine_choice(steps[1]);
}

// Whether an assignment chooses the machine (`machine.preset=...`, `machine.hwloc=...`).
bool chooses_machine(const std::string& assignment) {
  return chooses_machine(path_steps(assignment.substr(0, assignment.find('='))));
}

}  // namespace

void apply_override(json& doc, const std::string& assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError("--set", assignment, "expected dotted.path=value, e.g. kernel.architecture=multikernel");
  std::string path = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  if (size_t bad = find_invalid_utf8(assignment); bad != std::string::npos)
    throw InputError("--set", path,
                     fmt::format("byte 0x{:02x} at position {} of the assignment is not UTF-8, expected UTF-8 text",
                                 static_cast<unsigned char>(assignment[bad]), bad + 1));
  json value;
  // JSON if it is JSON (a number that overflows or too deep nesting is an error); a bare word is a string.
  try {
    if (!parse_json_if_json(text, "--set", value)) value = text;
  } catch (const InputError& e) {
    throw InputError("--set", path, e.reason());
  }
  const std::vector<std::string> steps = path_steps(path);
  // Choosing a preset or a hwloc file chooses a whole machine: it replaces the machine description rather than merging
  // into it, so that no field of the old machine (a latency matrix of another size, a structure hwloc gives) is left
  // over. Fields set after it (apply_overrides puts these choices first) override the chosen machine as usual.
  if (chooses_machine(steps) && doc.is_object()) {
    doc["machine"] = json{{steps[1], value}};
    return;
  }
  json* node = &doc;
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& s = steps[i];
    bool last = i + 1 == steps.size();
    bool is_index = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
    if (node->is_array() && is_index) {
      // Digits only, so the one way to fail is a number too large for size_t: that is past the end too.
      size_t k = 0;
      bool huge = false;
      for (char d : s) {
        huge = huge || k > (std::numeric_limits<size_t>::max() - 9) / 10;
        if (!huge) k = k * 10 + static_cast<size_t>(d - '0');
      }
      if (huge || k >= node->size())
        throw InputError("--set", path, fmt::format("index {} is past the end of a list of {}", s, node->size()));
      node = &(*node)[k];
    } else {
      if (node->is_null()) *node = json::object();
      if (!node->is_object())
        throw InputError("--set", path, fmt::format("'{}' is not an object, cannot set '{}' in it", node->dump(), s));
      node = &(*node)[s];
    }
    if (last) *node = value;
  }
}

void apply_overrides(json& doc, const std::vector<std::string>& assignments) {
  for (const auto& a : assignments)
    if (chooses_machine(a)) apply_override(doc, a);
  for (const auto& a : assignments)
    if (!chooses_machine(a)) apply_override(doc, a);
}

const Schema& run_schema() {
  static const Schema s = [] {
    // csv (the tables of results, sim/results.cpp) and one switch per registered output (slot "output").
    Schema outs{Field::boolean("csv", true, "write threads.csv, cores.csv and memory.csv beside results.json")};
    for (const auto* c : all_components())
      if (c->slot == "output") outs.fields.push_back(Field::boolean(c->name, false, "write " + c->description));
    auto outputs = std::make_shared<const Schema>(std::move(outs));
    return Schema{
        Field::integer("seed", 1, "", "seed of every random stream of the run").at_least(0),
        Field::number("max_sim_time_s", 0, "s", "stop at this simulated time (0: no limit)").at_least(0),
        Field::number("max_wall_time_s", 0, "s", "stop after this much host time (0: no limit)").at_least(0),
        Field::integer("max_events", 0, "", "stop after this many OS-level events (0: no limit)").at_least(0),
        Field::nested("outputs", outputs, "what to write into the output folder"),
    };
  }();
  return s;
}

const Schema& kernel_slots_schema() {
  static const Schema s = [] {
    Schema out;
    for (const auto& slot : all_slots()) {
      if (slot.section != SlotInfo::Section::Kernel) continue;
      if (slot.default_name == "default") {  // the slot may be left to the architecture: a choice of names
        std::vector<std::string> names = {"default"};
        for (const auto* c : all_components())
          if (c->slot == slot.name) names.push_back(c->name);
        std::sort(names.begin() + 1, names.end());
        out.fields.push_back(Field::choice(slot.name, slot.default_name, names, slot.doc));
      } else {
        out.fields.push_back(Field::text(slot.name, slot.default_name, slot.doc));
      }
    }
    return out;
  }();
  return s;
}

namespace {

// A component's parameter block, checked and with defaults filled in. An unknown key is named as a parameter of the
// component: "unknown parameter 'x' of scheduler 'cfs'; known parameters: a, b (did you mean 'b'?)". Errors about a
// plugin's component name the plugin.
void check_known_params(const ComponentInfo& c, const json& given, const std::string& path, const std::string& file) {
  if (given.is_object() && !c.params->allow_extra)
    for (auto it = given.begin(); it != given.end(); ++it) {
      if (c.params->find(it.key())) continue;
      const auto names = c.params->names();
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      std::string slot = c.slot;
      std::replace(slot.begin(), slot.end(), '_', ' ');
      const std::string hint = did_you_mean(it.key(), names);
      throw InputError(
          file, join_path(path, it.key()),
          fmt::format("unknown parameter '{}' of {} '{}'; known parameters: {}{}", it.key(), slot, c.name,
                      known.empty() ? "none" : known, hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
    }
}

json resolve_params(const ComponentInfo& c, const json& given, const std::string& path, const std::string& file) {
  try {
    check_known_params(c, given, path, file);
    return c.params->resolve(given, path, file);
  } catch (const InputError& e) {
    if (c.origin.empty()) throw;
    throw InputError(e.file(), e.where(), e.reason() + origin_note(c));
  }
}

// `plugins`: shared libraries to load before the components are looked up, relative to the config's folder.
void load_config_plugins(const json& given, const std::string& file, const std::string& base_dir) {
  if (!given.is_array())
    throw InputError(
        file, "plugins",
        fmt::format("found {}, expected a list of plugin files (\"libNAME.so\")", given.dump().substr(0, 60)));
  for (size_t i = 0; i < given.size(); ++i) {
    if (!given[i].is_string())
      throw InputError(file, join_path("plugins", i),
                       fmt::format("found {}, expected the path of a plugin file", given[i].dump().substr(0, 60)));
    load_plugin(resolve_path(given[i].get<std::string>(), base_dir), file, join_path("plugins", i));
  }
}

// The unknown-key error at `kernel.KEY`: the slots and the components' parameter blocks, kept apart; and, when KEY is
// a parameter of some component (of a selected one first), where it belongs.
std::string unknown_kernel_key(const std::string& key, const std::vector<const ComponentInfo*>& components,
                               const std::vector<std::string>& selected) {
  std::vector<std::string> all = kernel_slots_schema().names();
  std::string out = fmt::format("unknown key '{}'; the kernel section holds the slots ", key);
  for (size_t i = 0; i < all.size(); ++i) out += (i ? ", " : "") + all[i];
  out += " and a parameter block per component, named after it (";
  std::string slot;
  for (const auto* c : components) {
    const SlotInfo* info = find_slot(c->slot);
    const std::string plural = info && !info->plural.empty() ? info->plural : c->slot;
    out += c->slot != slot ? fmt::format("{}{}: {}", slot.empty() ? "" : "; ", plural, c->name) : ", " + c->name;
    slot = c->slot;
    all.push_back(c->name);
  }
  out += ")";
  std::vector<std::string> owners;  // the selected components that have it, else every component that has it
  for (bool only_selected : {true, false}) {
    for (const auto* c : components)
      if (c->params->find(key) &&
          (!only_selected || std::find(selected.begin(), selected.end(), c->name) != selected.end()))
        owners.push_back(fmt::format("kernel.{}.{}", c->name, key));
    if (!owners.empty()) break;
  }
  if (!owners.empty()) {
    out += fmt::format("; '{}' is a component parameter: did you mean ", key);
    for (size_t i = 0; i < owners.size(); ++i) out += (i ? i + 1 == owners.size() ? " or " : ", " : "") + owners[i];
    return out + "?";
  }
  const std::string hint = did_you_mean(key, all);
  return hint.empty() ? out : out + fmt::format(" (did you mean '{}'?)", hint);
}

template <class R>
Component pick(const R& registry, const json& kernel, const char* slot, const char* what, const std::string& file,
               const std::string& base_dir) {
  const Field* f = kernel_slots_schema().find(slot);
  json v = kernel.contains(slot) ? kernel[slot] : f->default_value;
  auto path = join_path("kernel", slot);
  if (!v.is_string()) throw InputError(file, path, fmt::format("found {}, expected the name of a {}", v.dump(), what));
  auto name = v.get<std::string>();
  const auto* e = registry.find(name);
  if (!e) throw InputError(file, path, fmt::format("unknown {} '{}', {}", what, name, one_of(name, registry.names())));
  auto ppath = join_path("kernel", name);
  json given = kernel.contains(name) ? kernel[name] : json::object();
  return {name, Params(resolve_params(e->info, given, ppath, file), ppath, file, base_dir)};
}

json resolve_kernel(const json& given, const std::string& file, Scenario& sc) {
  if (!given.is_null() && !given.is_object())
    throw InputError(file, "kernel", fmt::format("found {}, expected an object", given.dump()));
  json kernel = given.is_null() ? json::object() : given;
  sc.architecture =
      pick(ArchitectureRegistry::instance(), kernel, "architecture", "kernel architecture", file, sc.base_dir);
  sc.scheduler = pick(SchedulerRegistry::instance(), kernel, "scheduler", "scheduler", file, sc.base_dir);
  sc.placement = pick(PlacementRegistry::instance(), kernel, "memory_policy", "memory policy", file, sc.base_dir);
  sc.allocator = pick(AllocatorRegistry::instance(), kernel, "allocator", "allocator", file, sc.base_dir);

  const Field* sd = kernel_slots_schema().find("shootdown");
  sc.shootdown =
      check_field(*sd, kernel.contains("shootdown") ? kernel["shootdown"] : sd->default_value, "kernel.shootdown", file)
          .get<std::string>();
  json out = {{"architecture", sc.architecture.name},
              {"scheduler", sc.scheduler.name},
              {"memory_policy", sc.placement.name},
              {"allocator", sc.allocator.name},
              {"shootdown", sc.shootdown}};
  // Parameter blocks: keyed by component name. Blocks of components that are not selected are still checked, so a
  // sweep that switches architecture finds their mistakes too.
  auto is_kernel_slot = [](const ComponentInfo* c) {
    const SlotInfo* slot = find_slot(c->slot);
    return slot && slot->section == SlotInfo::Section::Kernel;
  };
  std::vector<const ComponentInfo*> components;  // by slot, in declaration order; by name within a slot
  for (const auto& slot : all_slots()) {
    const size_t first = components.size();
    for (const auto* c : all_components())
      if (is_kernel_slot(c) && c->slot == slot.name) components.push_back(c);
    std::sort(components.begin() + static_cast<std::ptrdiff_t>(first), components.end(),
              [](const ComponentInfo* a, const ComponentInfo* b) { return a->name < b->name; });
  }
  for (auto it = kernel.begin(); it != kernel.end(); ++it) {
    if (kernel_slots_schema().find(it.key())) continue;
    // One component per name across the kernel slots (check_registrations), so the block has one reader.
    const ComponentInfo* info = nullptr;
    for (const auto* c : all_components())
      if (is_kernel_slot(c) && c->name == it.key()) {
        info = c;
        break;
      }
    if (!info)
      throw InputError(
          file, join_path("kernel", it.key()),
          unknown_kernel_key(it.key(), components,
                             {sc.architecture.name, sc.scheduler.name, sc.placement.name, sc.allocator.name}));
    out[it.key()] = resolve_params(*info, it.value(), join_path("kernel", it.key()), file);
  }
  for (const auto* c : {&sc.architecture, &sc.scheduler, &sc.placement, &sc.allocator}) out[c->name] = c->params.raw();
  return out;
}

json resolve_workloads(const json& given, const std::string& file, Scenario& sc) {
  if (given.is_null()) throw InputError(file, "workload", "missing, expected an object with a 'kind' (or a list)");
  bool list = given.is_array();
  if (!list && !given.is_object())
    throw InputError(file, "workload",
                     fmt::format("found {}, expected an object with a 'kind' or a list of them", given.dump()));
  json items = list ? given : json::array({given});
  if (items.empty()) throw InputError(file, "workload", "found an empty list, expected at least one workload");
  json out = json::array();
  std::set<std::string> names;
  for (size_t i = 0; i < items.size(); ++i) {
    auto path = list ? join_path("workload", i) : std::string("workload");
    const json& w = items[i];
    if (!w.is_object())
      throw InputError(file, path, fmt::format("found {}, expected an object with a 'kind'", w.dump()));
    if (!w.contains("kind"))
      throw InputError(file, join_path(path, "kind"),
                       "missing, expected a workload kind, " + one_of("", WorkloadRegistry::instance().names()));
    if (!w["kind"].is_string())
      throw InputError(file, join_path(path, "kind"),
                       fmt::format("found {}, expected a workload kind", w["kind"].dump()));
    auto kind = w["kind"].get<std::string>();
    const auto* e = WorkloadRegistry::instance().find(kind);
    if (!e)
      throw InputError(
          file, join_path(path, "kind"),
          fmt::format("unknown workload kind '{}', {}", kind, one_of(kind, WorkloadRegistry::instance().names())));
    json params = w;
    params.erase("kind");
    std::string name = kind;
    if (params.contains("name")) {
      if (!params["name"].is_string())
        throw InputError(file, join_path(path, "name"),
                         fmt::format("found {}, expected a string", params["name"].dump()));
      name = params["name"].get<std::string>();
      params.erase("name");
    } else if (list) {
      name = fmt::format("{}-{}", kind, i);
    }
    if (!names.insert(name).second)
      throw InputError(file, join_path(path, "name"), fmt::format("workload name '{}' is used twice", name));
    json resolved = resolve_params(e->info, params, path, file);
    sc.workloads.push_back({kind, name, Params(resolved, path, file, sc.base_dir)});
    resolved["kind"] = kind;
    resolved["name"] = name;
    out.push_back(resolved);
  }
  return list ? out : out[0];
}

}  // namespace

Scenario resolve_scenario(const json& doc, const std::string& file, const std::string& base_dir) {
  Scenario sc;
  sc.file = file;
  sc.base_dir = base_dir;
  if (!doc.is_object())
    throw InputError(
        file, "top level",
        fmt::format("found {}, expected an object with machine, kernel, workload, run", doc.dump().substr(0, 40)));
  static const std::vector<std::string> sections = {"machine", "kernel", "workload", "run", "description", "plugins"};
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (std::find(sections.begin(), sections.end(), it.key()) == sections.end())
      throw InputError(file, it.key(), fmt::format("unknown section '{}', {}", it.key(), one_of(it.key(), sections)));
  if (doc.contains("description") && !doc["description"].is_string())
    throw InputError(file, "description",
                     fmt::format("found {}, expected a string", doc["description"].dump().substr(0, 60)));

  json resolved;
  if (doc.contains("description")) resolved["description"] = doc["description"];
  if (doc.contains("plugins")) {
    load_config_plugins(doc["plugins"], file, base_dir);
    resolved["plugins"] = doc["plugins"];
  }
  json machine_resolved;
  sc.machine = build_machine(doc.value("machine", json::object()), "machine", file, base_dir, &machine_resolved);
  resolved["machine"] = machine_resolved;
  resolved["kernel"] = resolve_kernel(doc.value("kernel", json::object()), file, sc);
  resolved["workload"] = resolve_workloads(doc.contains("workload") ? doc["workload"] : json(), file, sc);
  json run = run_schema().resolve(doc.value("run", json::object()), "run", file);
  Params rp(run, "run", file);
  sc.run.seed = static_cast<uint64_t>(rp.integer("seed"));
  sc.run.max_sim_time_s = rp.number("max_sim_time_s");
  sc.run.max_wall_time_s = rp.number("max_wall_time_s");
  sc.run.max_events = static_cast<uint64_t>(rp.integer("max_events"));
  Params outs = rp.child("outputs");
  sc.run.csv = outs.boolean("csv");
  for (const auto* c : all_components())
    if (c->slot == "output" && outs.boolean(c->name)) sc.run.outputs.push_back(c->name);
  resolved["run"] = run;
  sc.resolved = resolved;
  return sc;
}

Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides) {
  json doc = load_json_file(path);
  apply_overrides(doc, overrides);
  auto base = fs::path(path).parent_path().string();
  return resolve_scenario(doc, path, base.empty() ? "." : base);
}

}  // namespace mksim
