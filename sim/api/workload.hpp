// The workload slot: a named generator that creates processes and threads (each driven by an OpSource) and reports
// its own headline metrics. Workloads see the machine (to place things) and the operation vocabulary, nothing of the
// kernel models.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "models/machine.hpp"
#include "sim/api/params.hpp"
#include "sim/api/program.hpp"
#include "sim/api/registry.hpp"
#include "sim/api/rng.hpp"
#include "sim/api/thread.hpp"

namespace mksim {

struct ThreadSpec {
  std::string name;
  std::vector<int> affinity;  // cores it may run on; empty: the cores of its process
  int home_node = -1;
  uint64_t working_set_bytes = 0;  // data it keeps in its core's private caches (refilled after being evicted)
  SchedAttributes sched = {};      // real-time attributes (period, runtime, relative deadline), for EDF/RM schedulers
};

// A workload's view of the system while it sets itself up.
class WorkloadEnv {
 public:
  virtual ~WorkloadEnv() = default;
  virtual const Machine& machine() const = 0;
  virtual uint64_t seed() const = 0;
  // A process (component) that may run on `cores` (empty: all cores).
  virtual uint32_t create_process(const std::string& name, std::vector<int> cores) = 0;
  virtual uint32_t create_thread(uint32_t process, ThreadSpec spec, std::unique_ptr<OpSource> source) = 0;
  // A memory region of the process. `bind_node` >= 0 places it there whatever the placement policy says.
  virtual uint32_t create_region(uint32_t process, uint64_t bytes, int bind_node = -1) = 0;
  virtual uint32_t create_channel(const std::string& name) = 0;
  virtual uint32_t create_lock(const std::string& name) = 0;
  // A thread template that `Op::spawn(id)` instantiates at run time.
  virtual uint32_t create_template(uint32_t process, ThreadSpec spec,
                                   std::function<std::unique_ptr<OpSource>()> make) = 0;
};

// A workload's headline figures: scalars, lists and matrices, by documented name.
using MetricValue = std::variant<double, std::vector<double>, std::vector<std::vector<double>>>;
using Metrics = std::map<std::string, MetricValue>;

// What a workload may read after the run to compute its metrics.
struct RunView {
  double sim_time_s = 0;
  struct ThreadEnd {
    uint32_t id;
    double start_s, end_s, run_s;
    bool finished;
    uint64_t context_switches = 0, migrations = 0, preemptions = 0;  // ThreadStats
  };
  std::vector<ThreadEnd> threads;  // indexed by thread id
};

class Workload {
 public:
  virtual ~Workload() = default;
  virtual void setup(WorkloadEnv& env) = 0;
  virtual Metrics metrics(const RunView& run) const = 0;
};

using WorkloadRegistry = Registry<Workload>;

}  // namespace mksim
