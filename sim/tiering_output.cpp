// The `tiering` output (run.outputs.tiering): tiering.csv, the memory traffic served by the fast tier (the accessing
// core's nearest node) and by the others, and the page migrations, per interval of the run: the fast tier's hit ratio
// over time that tiered-memory studies plot (e.g. TPP, Maruf et al., ASPLOS 2023, Figure 12). Intervals start at
// 1 us and double (merging pairs) whenever more than 4096 would be needed, so that any run length gives between 2048
// and 4096 rows of equal length (fewer for a run shorter than 4 ms). Columns: sim/results.cpp (tiering_columns).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "sim/outputs.hpp"
#include "sim/results.hpp"

namespace mksim {

namespace {

struct Bucket {
  double fast_bytes = 0, slow_bytes = 0, migration_s = 0;
  uint64_t pages = 0, bytes = 0, promoted = 0, demoted = 0;
  void add(const Bucket& o) {
    fast_bytes += o.fast_bytes, slow_bytes += o.slow_bytes, migration_s += o.migration_s;
    pages += o.pages, bytes += o.bytes, promoted += o.promoted, demoted += o.demoted;
  }
};

class TieringOutput final : public Observer {
 public:
  explicit TieringOutput(std::string outdir) : outdir_(std::move(outdir)) {}

  void on_start(const Machine& m) override {
    m_ = &m;
    nearest_.assign(m.num_cores(), std::vector<bool>(m.num_nodes(), false));
    for (int c = 0; c < m.num_cores(); ++c) {
      const auto& lat = m.interconnect.latency_ns[m.cores[c].node];
      const double best = *std::min_element(lat.begin(), lat.end());
      for (int n = 0; n < m.num_nodes(); ++n) nearest_[c][n] = lat[n] == best;
    }
  }

  void on_memory(int core, int node, uint64_t bytes, double start_s, double) override {
    if (core < 0 || node < 0) return;
    Bucket& b = at(start_s);
    (nearest_[core][node] ? b.fast_bytes : b.slow_bytes) += static_cast<double>(bytes);
  }

  void on_migration(int core, uint32_t, int from_node, int to_node, uint64_t pages, uint64_t bytes, double start_s,
                    double end_s) override {
    Bucket& b = at(start_s);
    b.pages += pages;
    b.bytes += bytes;
    b.migration_s += end_s - start_s;
    const auto& lat = m_->interconnect.latency_ns[m_->cores[core].node];
    (lat[to_node] < lat[from_node] ? b.promoted : b.demoted) += pages;
  }

  void on_end(double sim_time_s) override {
    std::string out;
    const auto& cols = tiering_columns();
    for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + cols[i].name;
    out += '\n';
    const size_t rows =
        std::max<size_t>(1, std::min(buckets_.size(), static_cast<size_t>(std::ceil(sim_time_s / width_s_))));
    for (size_t i = 0; i < rows; ++i) {
      const Bucket b = i < buckets_.size() ? buckets_[i] : Bucket{};
      const double total = b.fast_bytes + b.slow_bytes;
      out += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", json(static_cast<double>(i) * width_s_).dump(),
                         json(static_cast<double>(i + 1) * width_s_).dump(), json(b.fast_bytes).dump(),
                         json(b.slow_bytes).dump(), total > 0 ? json(b.fast_bytes / total).dump() : "", b.pages,
                         b.bytes, json(b.migration_s).dump(), b.promoted, b.demoted);
    }
    std::filesystem::create_directories(outdir_);
    const auto path = std::filesystem::path(outdir_) / "tiering.csv";
    std::ofstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error(fmt::format("cannot write {}", path.string()));
    f << out;
  }

 private:
  static constexpr size_t kMaxBuckets = 4096;

  Bucket& at(double t_s) {
    auto i = static_cast<size_t>(std::max(0.0, t_s) / width_s_);
    while (i >= kMaxBuckets) {  // twice as wide: merge pairs
      std::vector<Bucket> merged((buckets_.size() + 1) / 2);
      for (size_t k = 0; k < buckets_.size(); ++k) merged[k / 2].add(buckets_[k]);
      buckets_ = std::move(merged);
      width_s_ *= 2;
      i = static_cast<size_t>(std::max(0.0, t_s) / width_s_);
    }
    if (i >= buckets_.size()) buckets_.resize(i + 1);
    return buckets_[i];
  }

  std::string outdir_;
  const Machine* m_ = nullptr;
  std::vector<std::vector<bool>> nearest_;  // [core][node]: the node is the core's fast tier
  std::vector<Bucket> buckets_;
  double width_s_ = 1e-6;
};

AddOutput reg({"tiering", "tiering.csv", "memory traffic per tier and page migrations over time, tiering.csv",
               "the fast tier's share of memory traffic and the migrations over time", "see below and docs/tiering.md"},
              "memory traffic per tier and page migrations over time (tiering.csv): the fast tier's hit ratio when "
              "pages move (docs/tiering.md)",
              [](const Params&, const Scenario&, const std::string& outdir) {
                return std::make_unique<TieringOutput>(outdir);
              });

}  // namespace
}  // namespace mksim
