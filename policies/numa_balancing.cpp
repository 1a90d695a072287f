// Page placement policies that move pages after placing them.
//
// numa-balancing: Linux's automatic NUMA balancing (kernel/sched/fair.c task_numa_work, mm/memory.c do_numa_page;
// Documentation/admin-guide/sysctl/kernel.rst). Every scan period a task's address space is scanned, scan_size at a
// time: the pages scanned are made inaccessible (change_prot_numa: page-table work and a TLB flush), so the next access
// to each takes a NUMA hinting fault, whose handler migrates the page to the node of the faulting CPU when it lives
// elsewhere. Linux's defaults: a first scan 1000 ms after the task starts (numa_balancing_scan_delay_ms), scan periods
// between 1000 ms and 60000 ms (numa_balancing_scan_period_min_ms / _max_ms) and 256 MB per scan
// (numa_balancing_scan_size_mb). The period adapts as Linux's update_task_scan_period does in spirit: it halves
// (down to the minimum) after a scan window whose faults migrated pages and doubles (up to the maximum) after one that
// migrated none. Not modelled: the two-fault filter on the last CPU to touch a page (should_numa_migrate_memory),
// task placement (moving the thread instead of its memory) and shared-page grouping.
//
// tpp: hot/cold tiering after TPP (Maruf et al., "TPP: Transparent Page Placement for CXL-Enabled Tiered-Memory",
// ASPLOS 2023), as merged in Linux's memory-tiering mode of NUMA balancing (numa_balancing=2): the scan makes only
// slow-tier pages fault (change_pte_range skips top-tier pages); a faulting page is promoted to the fast tier when it
// is hot, which Linux (since 6.1, mm/memory-tiers and kernel/sched/fair.c should_numa_migrate_memory) judges by the
// hint-fault latency: the page faulted less than `hot_threshold_ms` (numa_balancing_hot_threshold_ms, 1000) after the
// scan made it fault, so it is accessed at least about once per threshold. Promotion is rate-limited per fast node
// (numa_promotion_rate_limit: at most `promote_rate_limit_mb_s` of candidates per second) and the threshold adapts
// to that rate (numa_promotion_adjust_threshold: every scan_period_max_ms it moves by 1/8 of hot_threshold_ms, down
// when more candidates than the rate came, up to twice hot_threshold_ms when fewer), which is what keeps pages from
// ping-ponging between the tiers when the fast tier is full; and the fast tier keeps free headroom by demoting its
// coldest pages (least recently accessed regions) to the nearest slow node ahead of need, decoupled from allocation
// (TPP section 5.2), rather than waiting until allocations fail. Demotion runs on the core that needs the room (Linux:
// kswapd on the node's CPUs).
//
// What moving costs (sim/engine.cpp EngineImpl::migrate): the page-table work of the architecture and the copy as
// memory traffic; a TLB shootdown only where a translation may be cached. A page that took a hinting fault has an
// entry the scan made inaccessible and flushed (change_prot_numa's flush_tlb_range), so migrating it needs none
// (ptep_clear_flush flushes only accessible entries); a demotion batch unmaps accessible pages and flushes once for
// the batch (migrate_pages' batched TLB flush, Linux 6.4).
//
// Both place a region on the node nearest the core that first touches it (by load latency); the engine's placement
// falls back as Linux's does when that node is full (models/memory_capacity.hpp), and keeps the one account of each
// node's memory in use, which migrations update and these policies read (PageMover::free_bytes). Tiers: with
// `fast_nodes` empty, the fast tier of a core is its nearest node and every other node is slow. Scan state and recency
// are per region, the unit a workload addresses; migration moves pages.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "sim/api/memory.hpp"
#include "sim/api/param_struct.hpp"

namespace mksim {

namespace {

struct BalancingParams {
  double scan_delay_ms = 0, scan_period_min_ms = 0, scan_period_max_ms = 0, scan_size_mb = 0;
  double page_kib = 4, hinting_fault_cycles = 0;
  std::vector<double> fast_nodes;
  double headroom_percent = 0;
  double hot_threshold_ms = 1000, promote_rate_limit_mb_s = 65536;

  static ParamStruct<BalancingParams> common() {
    return ParamStruct<BalancingParams>()
        .bind(&BalancingParams::scan_delay_ms,
              Field::number("scan_delay_ms", 1000, "ms",
                            "time from a process's first access to its first scan (Linux: "
                            "numa_balancing_scan_delay_ms, 1000)")
                  .at_least(0))
        .bind(&BalancingParams::scan_period_min_ms,
              Field::number("scan_period_min_ms", 1000, "ms",
                            "shortest time between scans (Linux: numa_balancing_scan_period_min_ms, 1000)")
                  .above(0))
        .bind(&BalancingParams::scan_period_max_ms,
              Field::number("scan_period_max_ms", 60000, "ms",
                            "longest time between scans (Linux: numa_balancing_scan_period_max_ms, 60000)")
                  .above(0))
        .bind(&BalancingParams::scan_size_mb,
              Field::number("scan_size_mb", 256, "MiB",
                            "address space made to fault per scan (Linux: numa_balancing_scan_size_mb, 256)")
                  .above(0))
        .bind(&BalancingParams::page_kib,
              Field::number("page_kib", 4, "KiB", "page size that is tracked and moved (4: base pages)")
                  .at_least(4)
                  .at_most(1048576))
        .bind(&BalancingParams::hinting_fault_cycles,
              Field::number("hinting_fault_cycles", 1500, "cycles",
                            "kernel work of one NUMA hinting fault besides the trap (do_numa_page: look the page up, "
                            "restore its protection, decide; mksim's assumption)")
                  .at_least(0));
  }
  static const ParamStruct<BalancingParams>& balancing() {
    static const ParamStruct<BalancingParams> d = common();
    return d;
  }
  static const ParamStruct<BalancingParams>& tiering() {
    static const ParamStruct<BalancingParams> d =
        common()
            .bind(&BalancingParams::fast_nodes,
                  Field::numbers("fast_nodes", "node ids",
                                 "the fast tier (empty: each core's nearest node, by load latency)")
                      .at_least(0))
            .bind(&BalancingParams::headroom_percent,
                  Field::number("headroom_percent", 2, "%",
                                "free memory the fast tier keeps by demoting cold pages ahead of need; demotion "
                                "reclaims up to twice this (TPP's demotion watermark; the value is mksim's assumption)")
                      .at_least(0)
                      .at_most(50))
            .bind(&BalancingParams::hot_threshold_ms,
                  Field::number("hot_threshold_ms", 1000, "ms",
                                "a slow-tier page that faults within this time of the scan that made it fault is hot "
                                "and promoted (Linux: numa_balancing_hot_threshold_ms, 1000); the threshold then "
                                "adapts to promote_rate_limit_mb_s")
                      .above(0))
            .bind(&BalancingParams::promote_rate_limit_mb_s,
                  Field::number("promote_rate_limit_mb_s", 65536, "MiB/s",
                                "most pages promoted to one fast node per second, the rate the hot threshold adapts "
                                "to (Linux: numa_balancing_promote_rate_limit_MBps, 65536)")
                      .above(0));
    return d;
  }
};

struct RegionState {
  uint64_t protected_pages = 0;  // pages made to fault by a scan and not faulted yet
  double fault_credit = 0;       // fractional hinting faults carried to the next access (deterministic rounding)
  double migrate_credit = 0;     // fractional migrations of non-local faulting pages
  double scanned_s = 0;          // when the last scan made its pages fault (the hint-fault latency counts from here)
  double last_access_s = -1;
};

class NumaBalancing final : public PagePlacement {
 public:
  NumaBalancing(const Params& p, BalancingParams b, bool tiering) : params_(p), b_(std::move(b)), tiering_(tiering) {
    page_bytes_ = static_cast<uint64_t>(std::llround(b_.page_kib * 1024.0));
  }

  void init(const Machine& m) override {
    m_ = &m;
    const auto nodes = static_cast<size_t>(m.num_nodes());
    capacity_.assign(nodes, 0);
    for (size_t n = 0; n < nodes; ++n) capacity_[n] = m.nodes[n].memory_bytes / page_bytes_;
    fast_.assign(nodes, false);
    for (size_t i = 0; i < b_.fast_nodes.size(); ++i) {
      const double n = b_.fast_nodes[i];
      if (n != std::floor(n) || n >= m.num_nodes())
        throw InputError(params_.file(), join_path(join_path(params_.path(), "fast_nodes"), i),
                         fmt::format("node {} does not exist, the machine has nodes 0..{}", n, m.num_nodes() - 1));
      fast_[static_cast<size_t>(n)] = true;
    }
    by_distance_.clear();
    for (int c = 0; c < m.num_cores(); ++c) by_distance_.push_back(order_from(m.cores[c].node));
  }

  uint64_t page_bytes() const override { return page_bytes_; }

  // First touch: the node nearest the touching core (the engine falls back from it when it is full).
  std::vector<double> place(const Machine& m, const Region&, const Thread&, int core) override {
    std::vector<double> share(m.num_nodes(), 0.0);
    share[by_distance_.at(core).front()] = 1.0;
    return share;
  }

  void on_access(PageMover& mover, Cpu& cpu, Thread& t, Region& r, const Op& op) override {
    RegionState& s = state(r.id);
    s.last_access_s = cpu.now_s();
    scan_if_due(mover, cpu, t);
    RegionState& st = state(r.id);  // the scan may have grown the table
    if (st.protected_pages == 0) return;
    const uint64_t total = std::accumulate(r.node_pages.begin(), r.node_pages.end(), uint64_t{0});
    if (total == 0) return;
    const uint64_t touched = std::min(total, std::max<uint64_t>(1, (op.bytes + page_bytes_ - 1) / page_bytes_));
    st.fault_credit +=
        static_cast<double>(touched) * static_cast<double>(st.protected_pages) / static_cast<double>(total);
    auto faults = std::min(st.protected_pages, static_cast<uint64_t>(st.fault_credit));
    if (faults == 0) return;
    st.fault_credit -= static_cast<double>(faults);
    st.protected_pages -= faults;
    mover.hinting_faults(cpu, t, faults, b_.hinting_fault_cycles);
    if (tiering_)
      promote(mover, cpu, t, r, faults);
    else
      to_local(mover, cpu, t, r, faults, total);
  }

 private:
  // Nodes ordered by load latency from node `from` (nearest first; ties: the faster controller, then the lower id).
  std::vector<int> order_from(int from) const {
    std::vector<int> order(m_->num_nodes());
    std::iota(order.begin(), order.end(), 0);
    const auto& lat = m_->interconnect.latency_ns[from];
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      if (lat[a] != lat[b]) return lat[a] < lat[b];
      return m_->nodes[a].controller_bandwidth_gb_s > m_->nodes[b].controller_bandwidth_gb_s;
    });
    return order;
  }
  uint64_t room_of(const PageMover& mover, int n) const {
    const uint64_t free = mover.free_bytes(n);
    return free == UINT64_MAX ? free : free / page_bytes_;
  }
  bool is_fast(int n, int core) const { return b_.fast_nodes.empty() ? n == by_distance_[core].front() : fast_[n]; }
  int fast_node_of(int core) const {
    for (int n : by_distance_[core])
      if (is_fast(n, core)) return n;
    return by_distance_[core].front();
  }
  RegionState& state(uint32_t id) {
    if (id >= states_.size()) states_.resize(id + 1);
    return states_[id];
  }

  // task_numa_work: when the process's scan is due, make the next scan_size of its regions fault (in tiering mode
  // only the pages on slow nodes), from where the last scan stopped.
  void scan_if_due(PageMover& mover, Cpu& cpu, Thread& t) {
    if (t.process >= scans_.size()) scans_.resize(t.process + 1);
    Scan& sc = scans_[t.process];
    const double now = cpu.now_s();
    if (sc.next_s < 0) {
      sc.next_s = now + b_.scan_delay_ms * 1e-3;
      sc.period_s = b_.scan_period_min_ms * 1e-3;
    }
    if (now < sc.next_s) return;
    sc.period_s =
        std::clamp(sc.migrated_since_scan > 0 ? sc.period_s / 2 : sc.period_s * 2, b_.scan_period_min_ms * 1e-3,
                   std::max(b_.scan_period_min_ms, b_.scan_period_max_ms) * 1e-3);
    sc.migrated_since_scan = 0;
    sc.next_s = now + sc.period_s;
    std::vector<uint32_t> mine;
    for (uint32_t id = 0; id < mover.regions(); ++id) {
      const Region& r = mover.region(id);
      if (r.process == t.process && !r.freed && !r.node_pages.empty()) mine.push_back(id);
    }
    if (mine.empty()) return;
    double budget = b_.scan_size_mb * 1048576.0 / static_cast<double>(page_bytes_);
    uint64_t changed = 0;
    const int core = cpu.core();
    const size_t first = sc.cursor % mine.size();
    size_t whole = 0;  // regions scanned completely: the next scan starts after them
    for (size_t i = 0; i < mine.size() && budget > 0; ++i) {
      Region& r = mover.region(mine[(first + i) % mine.size()]);
      const uint64_t total = std::accumulate(r.node_pages.begin(), r.node_pages.end(), uint64_t{0});
      const double portion = std::min(1.0, budget / static_cast<double>(total));
      budget -= static_cast<double>(total);
      uint64_t eligible = total;
      if (tiering_)
        for (int n = 0; n < m_->num_nodes(); ++n)
          if (is_fast(n, core)) eligible -= r.node_pages[n];
      RegionState& s = state(r.id);
      s.protected_pages = static_cast<uint64_t>(std::llround(portion * static_cast<double>(eligible)));
      s.fault_credit = 0;
      s.scanned_s = now;
      changed += s.protected_pages;
      if (portion >= 1.0) ++whole;
    }
    sc.cursor = (first + whole) % mine.size();
    if (changed > 0) mover.change_protection(cpu, t, changed);
    if (tiering_) keep_headroom(mover, cpu, t, fast_node_of(core), 0, UINT32_MAX);
  }

  // `shootdown`: the pages' entries are accessible and may be cached (demotion), not entries that took a hinting
  // fault. `overcommit`: the destination may go beyond its capacity (demotion when every slow node is full, as
  // placement's fallback does).
  uint64_t move(PageMover& mover, Cpu& cpu, Thread& t, Region& r, int from, int to, uint64_t pages,
                bool shootdown = false, bool overcommit = false) {
    pages = std::min({pages, r.node_pages[from], overcommit ? UINT64_MAX : room_of(mover, to)});
    if (pages == 0 || from == to) return 0;
    // The engine books the pages at their destination before the copy, during which other cores run: they see the
    // pages on their way (as Linux's migration entries make them), so no page is moved twice and the destination's
    // room is not given twice.
    scans_[t.process].migrated_since_scan += pages;
    return mover.migrate(cpu, t, r, from, to, pages, shootdown);
  }

  // NUMA balancing: of the faulting pages, those on other nodes than the faulting core's move to it.
  void to_local(PageMover& mover, Cpu& cpu, Thread& t, Region& r, uint64_t faults, uint64_t total) {
    const int here = m_->cores[cpu.core()].node;
    RegionState& s = state(r.id);
    s.migrate_credit +=
        static_cast<double>(faults) * static_cast<double>(total - r.node_pages[here]) / static_cast<double>(total);
    auto want = static_cast<uint64_t>(s.migrate_credit);
    if (want == 0) return;
    s.migrate_credit -= static_cast<double>(want);
    for (int from : by_distance_[cpu.core()]) {  // nearest first: a stable, deterministic order
      if (from == here || want == 0) continue;
      want -= std::min(want, move(mover, cpu, t, r, from, here, want));
    }
  }

  // Tiering: faulting pages (all on slow nodes) go to the core's fast node, after making room, when they are hot (they
  // faulted within the node's threshold of their scan) and the node's promotion rate allows.
  void promote(PageMover& mover, Cpu& cpu, Thread& t, Region& r, uint64_t faults) {
    const int fast = fast_node_of(cpu.core());
    const double now = cpu.now_s();
    Promotion& p = promotion(fast);
    adjust_threshold(p, now);
    if (now - state(r.id).scanned_s >= p.threshold_s) return;
    // numa_promotion_rate_limit: candidates counted per one-second window.
    p.candidates += faults;
    if (now - p.rate_start_s > 1.0) {
      p.rate_start_s = now;
      p.rate_candidates = p.candidates;
    }
    if (static_cast<double>(p.candidates - p.rate_candidates) >= rate_limit_pages()) return;
    keep_headroom(mover, cpu, t, fast, faults, r.id);
    auto want = faults;
    for (int from : by_distance_[cpu.core()]) {
      if (is_fast(from, cpu.core()) || want == 0) continue;
      want -= std::min(want, move(mover, cpu, t, r, from, fast, want));
    }
  }

  // Demotes the coldest pages of `fast` to the nearest slow node when fewer than headroom + `incoming` pages are free,
  // until twice the headroom + `incoming` are (the region `skip` is being promoted and stays).
  void keep_headroom(PageMover& mover, Cpu& cpu, Thread& t, int fast, uint64_t incoming, uint32_t skip) {
    if (capacity_[fast] == 0) return;
    const auto headroom = static_cast<uint64_t>(static_cast<double>(capacity_[fast]) * b_.headroom_percent / 100.0);
    if (room_of(mover, fast) >= headroom + incoming) return;
    int slow = -1;  // the nearest slow node with room, else the nearest slow node
    for (int n : order_from(fast))
      if (!is_fast(n, cpu.core()) && (slow < 0 || (room_of(mover, slow) == 0 && room_of(mover, n) > 0))) slow = n;
    if (slow < 0) return;
    std::vector<std::pair<double, uint32_t>> cold;  // (last access, region): least recently used first
    for (uint32_t id = 0; id < mover.regions(); ++id) {
      const Region& r = mover.region(id);
      if (id != skip && !r.freed && !r.node_pages.empty() && r.node_pages[fast] > 0)
        cold.emplace_back(state(id).last_access_s, id);
    }
    std::sort(cold.begin(), cold.end());
    const uint64_t target = std::min(capacity_[fast], 2 * headroom + incoming);
    bool flushed = false;  // one TLB shootdown for the batch (migrate_pages' batched flush, Linux 6.4+)
    for (const auto& [last_access_s, id] : cold) {
      if (room_of(mover, fast) >= target) break;
      Region& r = mover.region(id);
      if (move(mover, cpu, t, r, fast, slow, target - room_of(mover, fast), !flushed, true) > 0) {
        flushed = true;
        cpu.count("page_demotion", 1);
      }
    }
  }

  // Per fast node, Linux's pgdat promotion state: the adaptive hot threshold and the rate limit's windows.
  struct Promotion {
    double threshold_s = -1, threshold_start_s = 0, rate_start_s = 0;
    uint64_t candidates = 0, threshold_candidates = 0, rate_candidates = 0;
  };
  Promotion& promotion(int node) {
    if (promotions_.empty()) promotions_.resize(static_cast<size_t>(m_->num_nodes()));
    Promotion& p = promotions_[static_cast<size_t>(node)];
    if (p.threshold_s < 0) p.threshold_s = b_.hot_threshold_ms * 1e-3;
    return p;
  }
  double rate_limit_pages() const { return b_.promote_rate_limit_mb_s * 1048576.0 / static_cast<double>(page_bytes_); }
  // numa_promotion_adjust_threshold: every scan_period_max_ms, compare the candidates of the window with what the
  // rate limit allows in it, and move the threshold by 1/8 of hot_threshold_ms (16 steps over twice its range).
  void adjust_threshold(Promotion& p, double now) const {
    const double period_s = b_.scan_period_max_ms * 1e-3;
    if (now - p.threshold_start_s <= period_s) return;
    p.threshold_start_s = now;
    const double allowed = rate_limit_pages() * period_s;
    const auto came = static_cast<double>(p.candidates - p.threshold_candidates);
    const double reference = b_.hot_threshold_ms * 1e-3, unit = reference * 2 / 16;
    if (came > allowed * 1.1)
      p.threshold_s = std::max(p.threshold_s - unit, unit);
    else if (came < allowed * 0.9)
      p.threshold_s = std::min(p.threshold_s + unit, 2 * reference);
    p.threshold_candidates = p.candidates;
  }

  struct Scan {
    double next_s = -1, period_s = 0;
    size_t cursor = 0;
    uint64_t migrated_since_scan = 0;
  };

  Params params_;
  BalancingParams b_;
  bool tiering_;
  uint64_t page_bytes_ = 4096;
  const Machine* m_ = nullptr;
  std::vector<uint64_t> capacity_;             // pages per node (0: unlimited)
  std::vector<bool> fast_;                     // from fast_nodes
  std::vector<std::vector<int>> by_distance_;  // per core: nodes nearest first
  std::vector<RegionState> states_;
  std::vector<Scan> scans_;            // per process
  std::vector<Promotion> promotions_;  // per node (used for fast nodes)
};

PlacementRegistry::Add r1(
    "memory_policy", "numa-balancing",
    "Linux's automatic NUMA balancing: first touch with fallback, periodic scans that make pages fault, hinting faults "
    "that migrate each page to the node of the core touching it (defaults: Linux's sysctls)",
    BalancingParams::balancing().schema(),
    [](const Params& p) { return std::make_unique<NumaBalancing>(p, BalancingParams::balancing().read(p), false); });
PlacementRegistry::Add r2(
    "memory_policy", "tpp",
    "hot/cold tiering after TPP (ASPLOS 2023): scans make slow-tier pages fault, hot ones are promoted to the fast "
    "tier, cold ones demoted ahead of need to keep headroom",
    BalancingParams::tiering().schema(),
    [](const Params& p) { return std::make_unique<NumaBalancing>(p, BalancingParams::tiering().read(p), true); });

}  // namespace
}  // namespace mksim
