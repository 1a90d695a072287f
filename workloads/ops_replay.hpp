// The `ops` workload's replay of one thread of an ops trace (sim/ops_format.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sim/api/program.hpp"
#include "sim/ops_format.hpp"

namespace mksim {

// Engine ids of what a replay created, by the file's ids; spawned threads and allocated regions are filled in at run
// time, when the operation that makes them completes.
struct OpsReplayIds {
  std::vector<uint32_t> thread, region, channel, lock, template_of_thread;
  uint64_t waits_for_maker = 0;  // polls of a thread whose operation names a thread or region not made yet
  uint64_t dropped = 0;          // operations dropped because what they name was never made
};

// Replays one thread's operations, translating the file's ids into the engine's. An operation naming a spawned thread
// or an allocated region that does not exist yet (the replay runs in another order than the recording, e.g. under
// another kernel) waits for it in steps of kPollSeconds of simulated time, at most kMaxPolls times, then is dropped.
class OpsReplaySource final : public OpSource {
 public:
  OpsReplaySource(std::shared_ptr<const std::vector<RecordedOp>> ops, std::vector<uint32_t> indexes,
                  std::shared_ptr<OpsReplayIds> ids)
      : ops_(std::move(ops)), indexes_(std::move(indexes)), ids_(std::move(ids)) {}
  bool next(const OpResult& last, Op& out) override;

  static constexpr double kPollSeconds = 1e-6;
  static constexpr int kMaxPolls = 1000000;

 private:
  int polls_ = 0;
  std::shared_ptr<const std::vector<RecordedOp>> ops_;
  std::vector<uint32_t> indexes_;  // this thread's operations in ops_
  size_t pos_ = 0;
  std::shared_ptr<OpsReplayIds> ids_;
};

}  // namespace mksim
