// Tests of the NUMA-aware Hoard allocator: a thread allocates from its node's heap, superblocks come from the global
// heap or the OS only when a heap runs out and go back only past Hoard's emptiness threshold, remote frees pay the
// interconnect, large objects bypass the heaps; end to end, throughput that keeps scaling where the global heap's
// stops.
#include <catch2/catch.hpp>

#include "test_sched_support.hpp"

using namespace mksim;
using namespace mksim::test;

TEST_CASE("allocator: numa-hoard allocates from the heap of the node the thread runs on") {
  Machine m = machine_of(two_node_machine());
  auto a = make_allocator("numa-hoard", m, {{"superblock_bytes", 8192}});
  Threads ts;
  Thread& t0 = ts.add("t0");
  Thread& t1 = ts.add("t1");
  FakeCpu c0(m, 0), c5(m, 5);
  a->allocate(c0, t0, 64);
  CHECK(c0.locks == std::vector<std::string>{"heap.node0.0", "heap.global"});  // the first superblock is fresh
  CHECK(c0.counts["superblock_fresh"] == 1);
  a->allocate(c5, t1, 64);
  CHECK(c5.locks == std::vector<std::string>{"heap.node1.0", "heap.global"});
  // 128 objects of 64 bytes fill a superblock: the next 127 stay in node 0's heap, the 129th needs another.
  c0.clear();
  for (int i = 0; i < 127; ++i) a->allocate(c0, t0, 64);
  CHECK(c0.times_locked("heap.global") == 0);
  a->allocate(c0, t0, 64);
  CHECK(c0.times_locked("heap.global") == 1);
}

TEST_CASE("allocator: numa-hoard frees into the owning heap, and a remote free pays the interconnect") {
  Machine m = machine_of(two_node_machine());
  auto a = make_allocator("numa-hoard", m, {{"free_cycles", 40}});
  Threads ts;
  Thread& producer = ts.add("producer");
  Thread& consumer = ts.add("consumer");
  FakeCpu c0(m, 0), c1(m, 1), c4(m, 4);
  a->allocate(c0, producer, 256);
  a->allocate(c0, producer, 256);
  // The consumer on node 1 frees the producer's object: node 0's heap lock line and the superblock header cross.
  a->release(c4, consumer, 256);
  CHECK(c4.locks == std::vector<std::string>{"heap.node0.0"});
  CHECK(c4.counts["remote_free"] == 1);
  CHECK(c4.transfer_ns == Approx(kCrossTransferNs));
  CHECK(c4.spent_s == Approx(kCrossTransferNs * 1e-9 + 130e-9 + 40 / 2e9));  // the lock line, node 0's memory
  // A consumer on node 0 frees locally: the lock line comes from node 1 now, but no remote memory is touched.
  a->release(c1, consumer, 256);
  CHECK(c1.counts["remote_free"] == 0);
  CHECK(c1.spent_s == Approx(kCrossTransferNs * 1e-9 + 40 / 2e9));
}

TEST_CASE("allocator: numa-hoard returns superblocks to the global heap only past the emptiness threshold") {
  Machine m = machine_of(two_node_machine());
  auto a =
      make_allocator("numa-hoard", m, {{"superblock_bytes", 8192}, {"empty_fraction", 0.25}, {"slack_superblocks", 1}});
  Threads ts;
  Thread& t = ts.add("t");
  FakeCpu c0(m, 0), c2(m, 2), c6(m, 6);
  for (int i = 0; i < 512; ++i) a->allocate(c0, t, 64);  // four superblocks, full
  c0.clear();
  // Freeing: a superblock moves once the heap is emptier than both a - K*S and (1-f)*a: u < 24576 after 129 frees.
  for (int i = 0; i < 128; ++i) a->release(c0, t, 64);
  CHECK(c0.counts["superblock_to_global"] == 0);
  a->release(c0, t, 64);
  CHECK(c0.counts["superblock_to_global"] == 1);
  for (int i = 0; i < 383; ++i) a->release(c0, t, 64);
  CHECK(c0.counts["superblock_to_global"] == 3);  // the heap keeps K = 1 superblock
  CHECK(c0.times_locked("heap.global") == 3);     // and takes the global lock for nothing else

  // Node 0 reuses those superblocks; node 1 gets fresh ones of its own memory.
  for (int i = 0; i < 256; ++i) a->allocate(c2, t, 64);
  CHECK(c2.counts["superblock_from_global"] == 1);
  CHECK(c2.counts["superblock_fresh"] == 0);
  a->allocate(c6, t, 64);
  CHECK(c6.counts["superblock_fresh"] == 1);
}

TEST_CASE("allocator: numa-hoard spreads threads over several heaps per node and sends large objects to the OS") {
  Machine m = machine_of(two_node_machine());
  auto a = make_allocator("numa-hoard", m, {{"heaps_per_node", 2}, {"superblock_bytes", 8192}});
  Threads ts;
  Thread& even = ts.add("even");
  Thread& odd = ts.add("odd");
  FakeCpu c0(m, 0);
  a->allocate(c0, even, 64);
  a->allocate(c0, odd, 64);
  CHECK(c0.times_locked("heap.node0.0") == 1);
  CHECK(c0.times_locked("heap.node0.1") == 1);
  c0.clear();
  a->allocate(c0, even, 5000);  // more than half a superblock
  a->release(c0, even, 5000);
  CHECK(c0.locks.empty());
  CHECK(c0.counts["heap_large"] == 1);
}

TEST_CASE("allocator: numa-hoard keeps scaling with threads where the global heap stops") {
  std::map<int, double> global, hoard;
  for (int n : {1, 2, 4, 8}) {
    global[n] = alloc_ops_per_s("global-heap", n);
    hoard[n] = alloc_ops_per_s("numa-hoard", n);
  }
  CHECK(global[8] < 1.25 * global[4]);
  // One heap per node, threads spread over both nodes: each heap's lock stays on its socket and is rarely contended.
  CHECK(hoard[2] > 1.8 * hoard[1]);
  CHECK(hoard[4] > 1.6 * hoard[2]);
  CHECK(hoard[8] > 1.4 * hoard[4]);
  CHECK(hoard[8] > 2 * global[8]);
}
