// The `_mksim` extension: mksim's public C++ API for the `mksim` Python package. Values cross the boundary as JSON
// text (the package turns them into dicts and DataFrames), so the binding stays thin. Simulations never run in the
// Python process: SimGrid allows one engine per process, so each run forks a child (sim/sweep.hpp), with the GIL
// released while it runs.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "mksim_version.hpp"
#include "models/presets.hpp"
#include "sim/api/registry.hpp"
#include "sim/config.hpp"
#include "sim/engine.hpp"
#include "sim/machine_config.hpp"
#include "sim/plugins.hpp"
#include "sim/sweep.hpp"

namespace py = pybind11;
using namespace mksim;

namespace mksim {
void bind_policies(py::module_& m);  // python/src/policies.cpp: policies written in Python
}

namespace {

// A simulation that failed or whose process died: SimulationError in Python.
struct SimulationFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

json params_json(const Schema& s) {
  json out = json::array();
  for (const auto& f : s.fields) {
    json field = {
        {"name", f.name}, {"type", type_name(f.type)}, {"unit", f.unit}, {"default", f.default_value}, {"doc", f.doc}};
    if (std::isfinite(f.min)) field["min"] = f.min;
    if (std::isfinite(f.max)) field["max"] = f.max;
    if (!f.choices.empty()) field["choices"] = f.choices;
    if (f.object) field["fields"] = params_json(*f.object);
    out.push_back(field);
  }
  return out;
}

Scenario scenario_from_text(const std::string& text, const std::string& file, const std::string& base_dir,
                            const std::vector<std::string>& overrides) {
  json doc = parse_json_text(text, file);
  apply_overrides(doc, overrides);
  return resolve_scenario(doc, file, base_dir.empty() ? "." : base_dir);
}

Scenario scenario_from(const std::string& config, bool is_path, const std::string& base_dir,
                       const std::vector<std::string>& overrides) {
  return is_path ? load_scenario(config, overrides) : scenario_from_text(config, "<dict>", base_dir, overrides);
}

}  // namespace

PYBIND11_MODULE(_mksim, m) {
  mksim::check_registrations();  // a name registered twice is an import error, not a silent replacement
  m.doc() =
      "mksim's native core: config checking, component lists, machine summaries, and simulations run in child "
      "processes. Use the `mksim` package, not this module, directly.";
  m.attr("__version__") = MKSIM_VERSION;

  static py::exception<InputError> input_error(m, "InputError", PyExc_ValueError);
  py::register_exception<SimulationFailure>(m, "SimulationError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InputError& e) {
      py::handle type = input_error;
      py::object err = type(e.what());
      err.attr("file") = e.file();
      err.attr("where") = e.where();
      PyErr_SetObject(input_error.ptr(), err.ptr());
    }
  });

  bind_policies(m);

  m.def(
      "load_plugin", [](const std::string& path) { load_plugin(path, "<python>", "load_plugin"); }, py::arg("path"),
      "Load a C++ plugin (a shared library built against sim/api/plugin.hpp) and register its components; loading "
      "one already loaded does nothing. Raises InputError naming the file when it cannot be used.");
  m.def("loaded_plugins", &loaded_plugins, "The plugins loaded so far (canonical paths).");
  m.attr("contract_version") = contract_version();

  m.def(
      "resolve",
      [](const std::string& config, bool is_path, const std::string& base_dir,
         const std::vector<std::string>& overrides, bool setup) {
        Scenario sc = scenario_from(config, is_path, base_dir, overrides);
        if (setup) validate_scenario(sc);
        return sc.resolved.dump();
      },
      py::arg("config"), py::arg("is_path"), py::arg("base_dir") = ".",
      py::arg("overrides") = std::vector<std::string>{}, py::arg("setup") = true,
      "Check a config (a file path when is_path, else JSON text whose relative paths resolve against base_dir), apply "
      "the dotted.path=value overrides, and return the fully resolved config as JSON text. With setup, also build the "
      "models and set the workloads up without simulating (`mksim validate`), so that what they reject is found too. "
      "Raises InputError with mksim's message (file, JSON path, what was expected).");

  m.def(
      "machine_of_config",
      [](const std::string& config, bool is_path, const std::string& base_dir,
         const std::vector<std::string>& overrides) {
        return machine_summary_json(scenario_from(config, is_path, base_dir, overrides).machine).dump();
      },
      py::arg("config"), py::arg("is_path"), py::arg("base_dir") = ".",
      py::arg("overrides") = std::vector<std::string>{},
      "The summary (JSON text) of the machine a config describes: packages, NUMA nodes, cores, caches, distances, "
      "and where each figure comes from (provenance; the assumed ones listed under assumed).");

  m.def(
      "machine", [](const std::string& what) { return machine_summary_json(machine_from_argument(what)).dump(); },
      py::arg("what"),
      "The summary (JSON text) of a machine given as a preset name, a hwloc XML file, a config file, or "
      "'--this-host'.");

  m.def(
      "components",
      [] {
        json out = json::array();
        for (const auto* c : all_components())
          out.push_back({{"slot", c->slot},
                         {"name", c->name},
                         {"description", c->description},
                         {"origin", c->origin},
                         {"params", params_json(*c->params)}});
        return out.dump();
      },
      "Every registered component (architectures, schedulers, memory policies, allocators, workloads, outputs) with "
      "its declared parameters, as JSON text: what `mksim list` prints.");

  m.def(
      "presets",
      [] {
        json out = json::array();
        for (const auto& p : machine_presets())
          out.push_back({{"name", p.name},
                         {"description", p.description},
                         {"machine", json::parse(p.json)},
                         {"sources", p.sources}});
        return out.dump();
      },
      "The machine presets (name, description, machine section, sources) as JSON text.");

  m.def(
      "run",
      [](const std::string& config, bool is_path, const std::string& base_dir,
         const std::vector<std::string>& overrides, const std::string& outdir) {
        Scenario sc = scenario_from(config, is_path, base_dir, overrides);
        RunOutcome r;
        {
          py::gil_scoped_release release;
          r = run_in_child(sc, outdir);
        }
        if (r.ok) return r.results.dump();
        if (r.kind == "input") {
          std::string prefix = InputError(r.file, r.where, "").what();
          throw InputError(r.file, r.where, r.message.substr(std::min(r.message.size(), prefix.size())));
        }
        throw SimulationFailure(r.message);
      },
      py::arg("config"), py::arg("is_path"), py::arg("base_dir"), py::arg("overrides"), py::arg("outdir"),
      "Resolve a config like resolve(), then simulate it in a forked child process that writes outdir (results.json, "
      "CSV tables, trace.json when run.outputs.trace is on). Returns results.json as JSON text. The GIL is released "
      "while the child runs, so threads may run several at once. Raises InputError for a bad config and "
      "SimulationError when the simulation fails or its process dies.");

  m.def("cancel_runs", &cancel_runs, "Kill (SIGKILL) the child processes of every run() still in progress.");

  m.def("default_jobs", &default_jobs, "The number of cores this process may use: the default parallelism.");

  m.def(
      "expand_sweep",
      [](const std::string& spec, const std::string& file, const std::string& dir) {
        SweepSpec s = parse_sweep(parse_json_text(spec, file), file, dir);
        json points = json::array();
        for (const auto& p : s.points)
          points.push_back({{"id", p.id}, {"params", p.params}, {"seed", p.seed ? json(*p.seed) : json()}});
        return json{{"base", s.base},
                    {"base_file", s.base_file},
                    {"base_dir", s.base_dir},
                    {"points", points},
                    {"metrics", s.metrics}}
            .dump();
      },
      py::arg("spec"), py::arg("file"), py::arg("dir"),
      "Read a sweep document (JSON text; relative paths against dir) and return its base config (with 'set' applied), "
      "its points {id, params, seed} and metrics, as JSON text. Point ids are the ones `mksim sweep` uses.");

  m.def(
      "sweep_open",
      [](const std::string& spec, const std::string& file, const std::string& dir, const std::string& out) {
        SweepSpec s = parse_sweep(parse_json_text(spec, file), file, dir);
        SweepFolder folder(out, s);
        json points = json::array(), records = json::array();
        for (const auto& p : s.points)
          points.push_back({{"id", p.id}, {"params", p.params}, {"seed", p.seed ? json(*p.seed) : json()}});
        for (const auto& [id, rec] : folder.records()) records.push_back(rec);
        json info = {{"base", s.base},   {"base_file", s.base_file}, {"base_dir", s.base_dir},
                     {"points", points}, {"metrics", s.metrics},     {"records", records}};
        if (s.replications > 0) info["replications"] = s.replications;
        return info.dump();
      },
      py::arg("spec"), py::arg("file"), py::arg("dir"), py::arg("out"),
      "Open (or create) the output folder `out` of a sweep document: check that it holds no sweep of another base "
      "config, write sweep.json, and return the base, points, metrics and the records already in points.jsonl.");

  m.def(
      "run_point",
      [](const std::string& base, const std::string& base_file, const std::string& base_dir,
         const std::vector<std::string>& metrics, const std::string& point, const std::string& outdir) {
        SweepSpec spec;
        spec.base = json::parse(base);
        spec.base_file = base_file;
        spec.base_dir = base_dir;
        spec.metrics = metrics;
        json pj = json::parse(point);
        SweepPoint p;
        p.params = pj.value("params", json::object());
        if (pj.contains("seed") && !pj["seed"].is_null()) p.seed = pj["seed"].get<uint64_t>();
        p.id = pj.contains("id") ? pj["id"].get<std::string>() : point_id(p.params, p.seed);
        json record;
        {
          py::gil_scoped_release release;
          record = run_point(spec, p, outdir);
        }
        return record.dump();
      },
      py::arg("base"), py::arg("base_file"), py::arg("base_dir"), py::arg("metrics"), py::arg("point"),
      py::arg("outdir"),
      "Run one sweep point {id, params, seed} of the base config (JSON text) in a child process writing outdir, and "
      "return its record (JSON text: id, params, seed, ok, error, error_kind, metrics, run_dir). A bad config or a "
      "failed run gives a record with ok false, never an exception. Releases the GIL while it runs.");

  m.def(
      "write_sweep_csv",
      [](const std::string& out, const std::string& records, const std::vector<std::string>& metrics) {
        write_sweep_csv(out, json::parse(records), metrics);
      },
      py::arg("out"), py::arg("records"), py::arg("metrics") = std::vector<std::string>{},
      "Write the records (JSON text, a list) as the table out/results.csv; metrics: the order of the metric columns.");

  m.def(
      "replication_summary",
      [](const std::string& records, const std::vector<std::string>& metrics) {
        return replication_summary(json::parse(records), metrics).dump();
      },
      py::arg("records"), py::arg("metrics") = std::vector<std::string>{},
      "The replications of each point of the records (JSON text, a list) summarised, as JSON text {columns, rows}: "
      "params, runs, runs_ok, and per numeric metric METRIC_mean, METRIC_ci95_lo, METRIC_ci95_hi, METRIC_n (95% "
      "Student t interval of the mean).");

  m.def(
      "write_replication_csv",
      [](const std::string& out, const std::string& records, const std::vector<std::string>& metrics) {
        write_replication_csv(out, json::parse(records), metrics);
      },
      py::arg("out"), py::arg("records"), py::arg("metrics") = std::vector<std::string>{},
      "A sweep with replications: out/results.csv gets the summary (one row per point), out/runs.csv every run.");

  m.def(
      "point_config",
      [](const std::string& base, const std::string& params, py::object seed) {
        SweepPoint p;
        p.params = json::parse(params);
        if (!seed.is_none()) p.seed = seed.cast<uint64_t>();
        return point_config(json::parse(base), p).dump();
      },
      py::arg("base"), py::arg("params"), py::arg("seed"),
      "The config (JSON text) of one sweep point: base with the point's dotted-path params and seed applied.");

  m.def(
      "tidy_metrics", [](const std::string& results) { return tidy_metrics(json::parse(results)).dump(); },
      py::arg("results"),
      "The scalar metrics of a results document (JSON text) as one flat JSON object: the columns of a sweep table.");

  m.def(
      "metric_value",
      [](const std::string& results, const std::string& name) {
        json r = json::parse(results);
        return metric_value(r, tidy_metrics(r), name).dump();
      },
      py::arg("results"), py::arg("name"),
      "One metric of a results document: a tidy name or a dotted path into it; JSON text, 'null' when absent.");

  m.def(
      "check",
      [](const std::string& path, bool update, int jobs, const std::string& outdir) {
        json report;
        {
          py::gil_scoped_release release;
          report = check_expectations(path, update, jobs > 0 ? jobs : default_jobs(), outdir);
        }
        return report.dump();
      },
      py::arg("path"), py::arg("update") = false, py::arg("jobs") = 0, py::arg("outdir") = "",
      "Run the cases of an expectations file (`mksim check`) and return the report as JSON text; with update, rewrite "
      "the file's expected values from the measured ones.");

  m.def(
      "check_report_text", [](const std::string& report) { return check_report_text(json::parse(report)); },
      py::arg("report"), "The pass/fail table of a check report, as `mksim check` prints it.");
}
