// Tests of the per-thread cache allocator: the global heap lock only once per batch, caches per thread and per size
// class, flushes past the capacity, large objects straight to the heap; end to end, allocation throughput that keeps
// scaling with threads where the global heap's stops.
#include <catch2/catch.hpp>

#include "test_sched_support.hpp"

using namespace mksim;
using namespace mksim::test;

TEST_CASE("allocator: per-thread takes the global heap lock once per batch of allocations") {
  Machine m = machine_of(two_node_machine());
  auto a = make_allocator("per-thread", m, {{"batch_objects", 32}, {"fast_cycles", 20}});
  Threads ts;
  Thread& t = ts.add("t");
  FakeCpu c0(m, 0);
  for (int i = 0; i < 100; ++i) a->allocate(c0, t, 64);
  CHECK(c0.times_locked("heap") == 4);  // 32 + 32 + 32 + 4
  CHECK(c0.counts["cache_refill"] == 4);

  // Allocating and freeing in turn never leaves the cache again.
  c0.clear();
  for (int i = 0; i < 1000; ++i) {
    a->allocate(c0, t, 64);
    a->release(c0, t, 64);
  }
  CHECK(c0.locks.empty());
  CHECK(c0.spent_s == Approx(2000 * 20 / 2e9));
}

TEST_CASE("allocator: per-thread flushes a batch when a cache overflows") {
  Machine m = machine_of(two_node_machine());
  auto a = make_allocator("per-thread", m, {{"batch_objects", 32}, {"cache_objects", 64}});
  Threads ts;
  Thread& t = ts.add("t");
  FakeCpu c0(m, 0);
  for (int i = 0; i < 200; ++i) a->allocate(c0, t, 64);  // 7 refills: 24 objects left cached
  c0.clear();
  for (int i = 0; i < 200; ++i) a->release(c0, t, 64);
  // The cache reaches 65 after 41 frees and flushes 32; then every 32 frees: at 41, 73, 105, 137, 169.
  CHECK(c0.counts["cache_flush"] == 5);
  CHECK(c0.times_locked("heap") == 5);
}

TEST_CASE("allocator: per-thread keeps one cache per thread and per size class; large objects skip them") {
  Machine m = machine_of(two_node_machine());
  auto a = make_allocator("per-thread", m, {{"max_cached_bytes", 32768}});
  Threads ts;
  Thread& producer = ts.add("producer");
  Thread& consumer = ts.add("consumer");
  FakeCpu c0(m, 0), c4(m, 4);
  a->allocate(c0, producer, 64);
  a->allocate(c0, producer, 1000);  // another size class: its own refill
  CHECK(c0.counts["cache_refill"] == 2);
  a->release(c4, consumer, 64);   // into the consumer's cache
  a->allocate(c4, consumer, 64);  // served from it, no lock
  CHECK(c4.locks.empty());
  a->allocate(c4, consumer, 128);  // nothing cached in that class yet
  CHECK(c4.times_locked("heap") == 1);
  CHECK(c4.transfer_ns == Approx(kCrossTransferNs));  // the heap's line was last on socket 0

  c0.clear();
  for (int i = 0; i < 3; ++i) a->allocate(c0, producer, 1 << 20);
  CHECK(c0.times_locked("heap") == 3);
}

TEST_CASE("allocator: per-thread rejects a batch larger than the cache") {
  Machine m = machine_of(two_node_machine());
  CHECK_THROWS_WITH(make_allocator("per-thread", m, {{"batch_objects", 100}, {"cache_objects", 64}}),
                    Catch::Contains("kernel.per-thread.batch_objects") && Catch::Contains("at most cache_objects"));
}

TEST_CASE("allocator: per-thread keeps scaling with threads where the global heap stops") {
  std::map<int, double> global, cached;
  for (int n : {1, 2, 4, 8}) {
    global[n] = alloc_ops_per_s("global-heap", n);
    cached[n] = alloc_ops_per_s("per-thread", n);
  }
  // One lock per operation, its line bouncing between the sockets: beyond a few threads, throughput stops growing.
  CHECK(global[8] < 1.25 * global[4]);
  CHECK(global[8] < 3.5 * global[1]);
  // Per-thread caches: near-linear.
  for (int n : {2, 4, 8}) CHECK(cached[n] > 0.9 * n * cached[1]);
  CHECK(cached[8] > 2 * global[8]);
}
