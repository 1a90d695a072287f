// Policies written in Python: a scheduler, page placement policy or allocator as a Python class, registered under a
// name (mksim.register_scheduler / register_placement / register_allocator) and picked by configs like a built-in one.
// Trampolines forward the engine's calls to the Python object; the engine runs in a forked child (sim/sweep.hpp), whose
// interpreter the fork hooks below reinitialise so that the child holds the GIL throughout the run. What a policy sees
// and may do: docs/writing-a-policy.md.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <set>
#include <type_traits>

#include "sim/api/memory.hpp"
#include "sim/api/registry.hpp"
#include "sim/api/scheduler.hpp"
#include "sim/sweep.hpp"

namespace py = pybind11;

namespace mksim {

namespace {

// ---- the fork hooks: os.fork's protocol around the fork() of every run ----

PyGILState_STATE g_fork_gil;

void before_fork() {
  g_fork_gil = PyGILState_Ensure();
  PyOS_BeforeFork();
}
void after_fork_parent() {
  PyOS_AfterFork_Parent();
  PyGILState_Release(g_fork_gil);
}
void after_fork_child() {
  PyOS_AfterFork_Child();  // this thread now holds the GIL, and keeps it: the engine is single-threaded
}

// ---- parameters ----

FieldType field_type(const std::string& t, const std::string& name) {
  static const std::vector<std::pair<std::string, FieldType>> types = {
      {"number", FieldType::Number},   {"integer", FieldType::Integer}, {"string", FieldType::String},
      {"boolean", FieldType::Boolean}, {"choice", FieldType::Choice},   {"numbers", FieldType::NumberList}};
  for (const auto& [n, ft] : types)
    if (n == t) return ft;
  std::vector<std::string> known;
  for (const auto& [n, ft] : types) known.push_back(n);
  throw InputError("<python>", "params." + name, "unknown type '" + t + "', " + one_of(t, known));
}

// A schema from [{name, type, default, unit, doc, min, max, min_exclusive, choices}, ...].
Schema schema_from(const json& fields) {
  Schema s;
  for (const auto& f : fields) {
    Field field;
    field.name = f.at("name").get<std::string>();
    field.type = field_type(f.value("type", "number"), field.name);
    field.default_value = f.value("default", json());
    field.unit = f.value("unit", "");
    field.doc = f.value("doc", "");
    if (f.contains("min") && !f["min"].is_null()) field.min = f["min"].get<double>();
    if (f.contains("max") && !f["max"].is_null()) field.max = f["max"].get<double>();
    field.min_exclusive = f.value("min_exclusive", false);
    if (f.contains("choices")) field.choices = f["choices"].get<std::vector<std::string>>();
    if (field.type == FieldType::NumberList && field.default_value.is_null()) field.default_value = json::array();
    if (!field.default_value.is_null()) check_field(field, field.default_value, "params." + field.name, "<python>");
    s.fields.push_back(std::move(field));
  }
  return s;
}

py::object to_python(const json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

const char* reason_name(EnqueueReason r) {
  switch (r) {
    case EnqueueReason::Spawned:
      return "spawned";
    case EnqueueReason::Woken:
      return "woken";
    case EnqueueReason::Preempted:
      return "preempted";
    case EnqueueReason::Yielded:
      return "yielded";
  }
  return "?";
}

const char* state_name(ThreadState s) {
  switch (s) {
    case ThreadState::Created:
      return "created";
    case ThreadState::Runnable:
      return "runnable";
    case ThreadState::Running:
      return "running";
    case ThreadState::Blocked:
      return "blocked";
    case ThreadState::Exited:
      return "exited";
  }
  return "?";
}

// What a Python policy asks of its Cpu (spend time, take or release a lock, sync, count an event) is recorded while
// its method runs and carried out, in order, once it has returned. Taking a contended lock or syncing suspends the
// calling core's SimGrid actor while other cores run, and those may call into Python too: a Python call suspended
// half-way would interleave two Python call stacks on the interpreter's one thread state. So no Python frame is ever
// live across a suspension: Python decides, C++ then does.
struct CpuAction {
  enum class Kind { Cycles, Seconds, Lock, Unlock, Sync, Count } kind;
  Cpu* cpu;
  double amount = 0;
  bool kernel = true;
  SpinLock* lock = nullptr;
  const char* what = nullptr;  // Count: the event kind, interned (the engine keys kinds by pointer)
};

const char* intern(const std::string& kind) {
  static std::set<std::string> kinds;
  return kinds.insert(kind).first->c_str();
}

std::vector<CpuAction>* g_actions = nullptr;  // the actions of the Python call in progress

struct CollectActions {
  explicit CollectActions(std::vector<CpuAction>& a) : saved(g_actions) { g_actions = &a; }
  ~CollectActions() { g_actions = saved; }
  std::vector<CpuAction>* saved;
};

void run_action(const CpuAction& a) {
  const Work w = a.kernel ? Work::Kernel : Work::User;
  switch (a.kind) {
    case CpuAction::Kind::Cycles:
      a.cpu->spend_cycles(a.amount, w);
      break;
    case CpuAction::Kind::Seconds:
      a.cpu->spend_s(a.amount, w);
      break;
    case CpuAction::Kind::Lock:
      a.cpu->lock(*a.lock);
      break;
    case CpuAction::Kind::Unlock:
      a.cpu->unlock(*a.lock);
      break;
    case CpuAction::Kind::Sync:
      a.cpu->sync();
      break;
    case CpuAction::Kind::Count:
      a.cpu->count(a.what, static_cast<uint64_t>(a.amount));
      break;
  }
}

void run_actions(const std::vector<CpuAction>& actions) {
  for (const auto& a : actions) run_action(a);
}

// Records `a` while a Python policy's method runs; otherwise (a Cpu used outside one) does it now.
void act(CpuAction a) {
  if (g_actions)
    g_actions->push_back(std::move(a));
  else
    run_action(a);
}

// The common part of the trampolines: the Python object, its methods looked up once, errors named.
class PyPolicy {
 protected:
  PyPolicy(py::object obj, std::string what) : obj_(std::move(obj)), what_(std::move(what)) {}
  ~PyPolicy() {
    py::gil_scoped_acquire gil;
    methods_.clear();
    obj_ = py::object();
  }
  py::object method(const char* name, bool required) {
    if (py::hasattr(obj_, name)) return obj_.attr(name);
    if (required)
      throw std::runtime_error(what_ + ": the Python class has no method " + name + "(), which this slot requires");
    return py::none();
  }
  // Calls into Python with the GIL; the Cpu actions the Python code asked for run after it returns (see CpuAction).
  template <class F>
  auto call(const char* name, F&& f) const -> decltype(f()) {
    std::vector<CpuAction> actions;
    auto in_python = [&]() -> decltype(f()) {
      py::gil_scoped_acquire gil;
      CollectActions collect(actions);
      try {
        return f();
      } catch (py::error_already_set& e) {
        throw std::runtime_error(what_ + "." + name + "(): " + e.what());
      } catch (const py::cast_error& e) {
        throw std::runtime_error(what_ + "." + name + "(): returned a value of the wrong type (" + e.what() + ")");
      }
    };
    if constexpr (std::is_void_v<decltype(f())>) {
      in_python();
      run_actions(actions);
    } else {
      auto result = in_python();
      run_actions(actions);
      return result;
    }
  }
  py::object obj_;
  std::string what_;
  std::vector<py::object> methods_;
};

class PyScheduler final : public Scheduler, PyPolicy {
 public:
  PyScheduler(py::object obj, std::string what) : PyPolicy(std::move(obj), std::move(what)) {
    py::gil_scoped_acquire gil;
    init_ = method("init", false);
    setup_done_ = method("setup_done", false);
    enqueue_ = method("enqueue", true);
    pick_next_ = method("pick_next", true);
    has_waiting_ = method("has_waiting", true);
    queue_length_ = method("queue_length", true);
    time_slice_s_ = method("time_slice_s", true);
    ran_ = method("ran", false);
    methods_ = {init_, setup_done_, enqueue_, pick_next_, has_waiting_, queue_length_, time_slice_s_, ran_};
  }
  void init(const Machine& m) override {
    Scheduler::init(m);
    if (!init_.is_none()) call("init", [&] { return void(init_(py::cast(m, py::return_value_policy::reference))); });
  }
  void setup_done(const std::vector<std::string>& processes, const std::vector<std::string>& threads) override {
    if (!setup_done_.is_none()) call("setup_done", [&] { return void(setup_done_(processes, threads)); });
  }
  int enqueue(Thread& t, Cpu* from, EnqueueReason why) override {
    return call("enqueue", [&] {
      py::object r = enqueue_(py::cast(&t, py::return_value_policy::reference),
                              from ? py::cast(from, py::return_value_policy::reference) : py::none(), reason_name(why));
      int core = r.is_none() ? -1 : r.cast<int>();
      if (core < -1 || core >= machine_->num_cores())
        throw std::runtime_error(what_ + ".enqueue(): returned core " + std::to_string(core) +
                                 ", expected -1 (any idle core) or a core 0.." +
                                 std::to_string(machine_->num_cores() - 1));
      return core;
    });
  }
  Thread* pick_next(Cpu& cpu) override {
    return call("pick_next", [&]() -> Thread* {
      py::object r = pick_next_(py::cast(&cpu, py::return_value_policy::reference));
      return r.is_none() ? nullptr : r.cast<Thread*>();
    });
  }
  bool has_waiting(int core) const override {
    return call("has_waiting", [&] { return has_waiting_(core).cast<bool>(); });
  }
  size_t queue_length(int core) const override {
    return call("queue_length", [&] { return queue_length_(core).cast<size_t>(); });
  }
  double time_slice_s(int core, const Thread& t) const override {
    return call("time_slice_s",
                [&] { return time_slice_s_(core, py::cast(&t, py::return_value_policy::reference)).cast<double>(); });
  }
  void ran(Thread& t, int core, double ran_s) override {
    if (!ran_.is_none())
      call("ran", [&] { return void(ran_(py::cast(&t, py::return_value_policy::reference), core, ran_s)); });
  }

 private:
  py::object init_, setup_done_, enqueue_, pick_next_, has_waiting_, queue_length_, time_slice_s_, ran_;
};

class PyPlacement final : public PagePlacement, PyPolicy {
 public:
  PyPlacement(py::object obj, std::string what) : PyPolicy(std::move(obj), std::move(what)) {
    py::gil_scoped_acquire gil;
    init_ = method("init", false);
    place_ = method("place", true);
    methods_ = {init_, place_};
  }
  void init(const Machine& m) override {
    if (!init_.is_none()) call("init", [&] { return void(init_(py::cast(m, py::return_value_policy::reference))); });
  }
  std::vector<double> place(const Machine& m, const Region& r, const Thread& t, int core) override {
    return call("place", [&] {
      auto share = place_(py::cast(r, py::return_value_policy::reference),
                          py::cast(&t, py::return_value_policy::reference), core)
                       .cast<std::vector<double>>();
      double sum = 0;
      bool ok = share.size() == static_cast<size_t>(m.num_nodes());
      for (double s : share) ok = ok && s >= 0 && std::isfinite(s), sum += s;
      if (!ok || std::abs(sum - 1) > 1e-9)
        throw std::runtime_error(what_ + ".place(): expected a list of " + std::to_string(m.num_nodes()) +
                                 " non-negative shares (one per NUMA node) that sum to 1");
      return share;
    });
  }

 private:
  py::object init_, place_;
};

class PyAllocator final : public Allocator, PyPolicy {
 public:
  PyAllocator(py::object obj, std::string what) : PyPolicy(std::move(obj), std::move(what)) {
    py::gil_scoped_acquire gil;
    init_ = method("init", false);
    allocate_ = method("allocate", true);
    release_ = method("release", true);
    methods_ = {init_, allocate_, release_};
  }
  void init(const Machine& m) override {
    if (!init_.is_none()) call("init", [&] { return void(init_(py::cast(m, py::return_value_policy::reference))); });
  }
  void allocate(Cpu& cpu, Thread& t, uint64_t bytes) override {
    call("allocate", [&] {
      return void(allocate_(py::cast(&cpu, py::return_value_policy::reference),
                            py::cast(&t, py::return_value_policy::reference), bytes));
    });
  }
  void release(Cpu& cpu, Thread& t, uint64_t bytes) override {
    call("release", [&] {
      return void(release_(py::cast(&cpu, py::return_value_policy::reference),
                           py::cast(&t, py::return_value_policy::reference), bytes));
    });
  }

 private:
  py::object init_, allocate_, release_;
};

// Registers `factory` (a Python callable: params dict -> policy object) in `registry`. A name registered from Python
// before is replaced (a notebook cell run again); a built-in or plugin name is an error.
template <class R, class Trampoline>
void register_python(R& registry, const std::string& slot, const std::string& name, const std::string& description,
                     const std::string& params, py::object factory, const std::string& origin) {
  if (const auto* e = registry.find(name)) {
    if (e->info.origin.rfind("python:", 0) != 0)
      throw InputError(
          "<python>", name,
          "a " + slot + " named '" + name + "' is already " +
              (e->info.origin.empty() ? std::string("built into mksim") : "registered by " + e->info.origin) +
              ": pick another name");
    registry.remove(name);
  }
  auto schema = std::make_shared<const Schema>(schema_from(json::parse(params)));
  // The factory holds a reference to the Python callable for as long as the registration lives (the process).
  auto holder = std::make_shared<py::object>(std::move(factory));
  const std::string what = "Python " + slot + " '" + name + "' (" + origin.substr(7) + ")";
  registry.add(ComponentInfo{slot, name, description, schema, origin}, [holder, what](const Params& p) {
    py::gil_scoped_acquire gil;
    py::object obj;
    try {
      obj = (*holder)(to_python(p.raw()));
    } catch (py::error_already_set& e) {
      throw std::runtime_error(what + ": creating it failed: " + e.what());
    }
    return std::make_unique<Trampoline>(std::move(obj), what);
  });
}

}  // namespace

void bind_policies(py::module_& m) {
  set_fork_hooks(ForkHooks{&before_fork, &after_fork_parent, &after_fork_child});

  py::class_<Machine>(m, "Machine", "The simulated machine, as a policy sees it (read-only).")
      .def_property_readonly("name", [](const Machine& mc) { return mc.name; })
      .def_property_readonly("num_cores", &Machine::num_cores)
      .def_property_readonly("num_nodes", &Machine::num_nodes)
      .def_property_readonly("packages", [](const Machine& mc) { return mc.packages; })
      .def(
          "node_of", [](const Machine& mc, int core) { return mc.cores.at(core).node; }, py::arg("core"),
          "The NUMA node whose memory is local to `core`.")
      .def(
          "package_of", [](const Machine& mc, int core) { return mc.cores.at(core).package; }, py::arg("core"))
      .def(
          "die_of", [](const Machine& mc, int core) { return mc.cores.at(core).die; }, py::arg("core"))
      .def(
          "freq_ghz", [](const Machine& mc, int core) { return mc.cores.at(core).freq_ghz; }, py::arg("core"))
      .def(
          "cores_of_node",
          [](const Machine& mc, int node) {
            std::vector<int> out;
            for (const auto& c : mc.cores)
              if (c.node == node) out.push_back(c.id);
            return out;
          },
          py::arg("node"))
      .def_property_readonly(
          "latency_ns", [](const Machine& mc) { return mc.interconnect.latency_ns; },
          "latency_ns[i][j]: load latency of a core of node i reading memory of node j")
      .def_property_readonly("hops", [](const Machine& mc) { return mc.interconnect.hops; })
      .def_property_readonly("node_memory_bytes",
                             [](const Machine& mc) {
                               std::vector<uint64_t> out;
                               for (const auto& n : mc.nodes) out.push_back(n.memory_bytes);
                               return out;
                             })
      .def_property_readonly(
          "node_bandwidth_gb_s",
          [](const Machine& mc) {
            std::vector<double> out;
            for (const auto& n : mc.nodes) out.push_back(n.controller_bandwidth_gb_s);
            return out;
          },
          "what each node's memory controller sustains (1e9 bytes/s)")
      .def_property_readonly("link_bandwidth_gb_s",
                             [](const Machine& mc) { return mc.interconnect.link_bandwidth_gb_s; })
      .def_property_readonly("core_bandwidth_gb_s", [](const Machine& mc) { return mc.core_bandwidth_gb_s; })
      .def(
          "mem_latency_ns", [](const Machine& mc, int core, int node) { return mc.mem_latency_ns(core, node); },
          py::arg("core"), py::arg("node"));

  py::class_<Thread>(m, "Thread", "A simulated thread (its kernel control block). The engine owns it.")
      .def_property_readonly("id", [](const Thread& t) { return t.id; })
      .def_property_readonly("process", [](const Thread& t) { return t.process; })
      .def_property_readonly("name", [](const Thread& t) { return t.name; })
      .def_property_readonly("affinity", [](const Thread& t) { return t.affinity; })
      .def_property_readonly("home_node", [](const Thread& t) { return t.home_node; })
      .def_property_readonly("last_core", [](const Thread& t) { return t.last_core; })
      .def_property_readonly("working_set_bytes", [](const Thread& t) { return t.working_set_bytes; })
      .def_property_readonly("state", [](const Thread& t) { return state_name(t.state); })
      .def_property_readonly("run_s", [](const Thread& t) { return t.stats.run_s; })
      .def_property_readonly("wait_s", [](const Thread& t) { return t.stats.wait_s; })
      .def("may_run_on", &Thread::may_run_on, py::arg("core"))
      .def("__repr__", [](const Thread& t) { return "<mksim.Thread " + std::to_string(t.id) + " " + t.name + ">"; });

  py::class_<SpinLock>(m, "SpinLock", "A spin lock on one cache line of the policy's shared state.")
      .def(py::init([](const std::string& name) {
             auto l = std::make_unique<SpinLock>();
             l->name = name;
             return l;
           }),
           py::arg("name"))
      .def_property_readonly("name", [](const SpinLock& l) { return l.name; });

  py::class_<Cpu>(m, "Cpu", "The core executing the policy's code: its clock, and what the policy's work costs.")
      .def_property_readonly("core", &Cpu::core)
      .def_property_readonly("now_s", &Cpu::now_s)
      .def_property_readonly("machine", &Cpu::machine, py::return_value_policy::reference)
      .def(
          "spend_cycles",
          [](Cpu& c, double cycles, bool kernel) {
            act({CpuAction::Kind::Cycles, &c, cycles, kernel});
          },
          py::arg("cycles"), py::arg("kernel") = true,
          "Charge `cycles` of work on this core (carried out when the method returns, in order).")
      .def(
          "spend_s",
          [](Cpu& c, double s, bool kernel) {
            act({CpuAction::Kind::Seconds, &c, s, kernel});
          },
          py::arg("seconds"), py::arg("kernel") = true)
      .def(
          "lock",
          [](Cpu& c, SpinLock& l) {
            act({CpuAction::Kind::Lock, &c, 0, true, &l});
          },
          py::arg("lock"))
      .def(
          "unlock",
          [](Cpu& c, SpinLock& l) {
            act({CpuAction::Kind::Unlock, &c, 0, true, &l});
          },
          py::arg("lock"))
      .def("sync",
           [](Cpu& c) {
             act({CpuAction::Kind::Sync, &c});
           })
      .def(
          "count",
          [](Cpu& c, const std::string& kind, uint64_t n) {
            act({CpuAction::Kind::Count, &c, static_cast<double>(n), true, nullptr, intern(kind)});
          },
          py::arg("kind"), py::arg("n") = 1)
      .def("is_idle", &Cpu::is_idle, py::arg("core"));

  py::class_<Region>(m, "Region", "A memory region being placed.")
      .def_property_readonly("id", [](const Region& r) { return r.id; })
      .def_property_readonly("process", [](const Region& r) { return r.process; })
      .def_property_readonly("bytes", [](const Region& r) { return r.bytes; })
      .def_property_readonly("bind_node", [](const Region& r) { return r.bind_node; });

  m.def(
      "register_policy",
      [](const std::string& slot, const std::string& name, const std::string& description, const std::string& params,
         py::object factory, const std::string& origin) {
        if (slot == "scheduler")
          register_python<SchedulerRegistry, PyScheduler>(SchedulerRegistry::instance(), slot, name, description,
                                                          params, std::move(factory), origin);
        else if (slot == "memory_policy")
          register_python<PlacementRegistry, PyPlacement>(PlacementRegistry::instance(), slot, name, description,
                                                          params, std::move(factory), origin);
        else if (slot == "allocator")
          register_python<AllocatorRegistry, PyAllocator>(AllocatorRegistry::instance(), slot, name, description,
                                                          params, std::move(factory), origin);
        else
          throw InputError("<python>", slot,
                           "unknown slot, " + one_of(slot, {"scheduler", "memory_policy", "allocator"}));
      },
      py::arg("slot"), py::arg("name"), py::arg("description"), py::arg("params"), py::arg("factory"),
      py::arg("origin"),
      "Register a Python policy: factory(params dict) returns the object the engine calls. Use "
      "mksim.register_scheduler / register_placement / register_allocator.");
}

}  // namespace mksim
