// Tests of the scheduler-trace readers and the per-thread reconstruction: each line form (ftrace with flags,
// trace-cmd with numeric states, perf's plugin form, systrace's TGID column), prev_state decoding, run bursts and
// wake-up dependencies of a hand-made trace with known answers, and an InputError with file and line (never a crash)
// for every kind of bad input.
#include <catch2/catch.hpp>
#include <string>

#include "sim/api/params.hpp"
#include "workloads/trace_model.hpp"
#include "workloads/trace_parse.hpp"

using namespace mksim;

namespace {

const SchedEvent& only(const ParsedTrace& t, SchedEventKind k, int nth = 0) {
  for (const auto& e : t.events)
    if (e.kind == k && nth-- == 0) return e;
  FAIL("no such event");
  return t.events.front();
}

const TraceThread& thread_named(const TraceModel& m, const std::string& name) {
  for (const auto& t : m.threads)
    if (t.name == name) return t;
  FAIL("no thread " << name);
  return m.threads.front();
}

// Where an InputError points, or "" when the parse succeeds.
std::string error_where(const std::string& text, TraceFormat f = TraceFormat::Auto) {
  try {
    parse_sched_trace(text, "bad.txt", f);
  } catch (const InputError& e) {
    CHECK(e.file() == "bad.txt");
    return e.where().empty() ? "(file)" : e.where();
  }
  return "";
}

}  // namespace

TEST_CASE("trace: ftrace lines with flags, comm with blanks, sched_waking and interrupt context") {
  const std::string text =
      "# tracer: nop\n"
      "# entries-in-buffer/entries-written: 4/4   #P:4\n"
      "#           TASK-PID   CPU#  ||||    TIMESTAMP  FUNCTION\n"
      "          <idle>-0     [001] d... 100.000100: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 "
      "prev_state=R ==> next_comm=Web Content next_pid=2711 next_prio=120\n"
      "     Web Content-2711  [001] d.h. 100.000200: sched_wakeup: comm=Timer pid=2745 prio=120 target_cpu=001\n"
      "     Web Content-2711  [001] d... 100.000300: sched_waking: comm=Timer pid=2745 prio=120 target_cpu=001\n"
      "     Web Content-2711  [001] d... 100.000400: irq_handler_entry: irq=28 name=radeon\n"
      "    kworker/2:0H-24678 [002] d... 100.000500: sched_switch: prev_comm=kworker/2:0H prev_pid=24678 "
      "prev_prio=100 prev_state=D ==> next_comm=gnome-shell next_pid=1746 next_prio=120\n";
  ParsedTrace t = parse_sched_trace(text, "t.txt");
  CHECK(t.format == TraceFormat::Ftrace);
  CHECK(t.cpus == 4);  // from #P:4
  CHECK(t.events_total == 5);
  CHECK(t.events_used == 4);
  CHECK(t.skipped.at("irq_handler_entry") == 1);
  const auto& sw = only(t, SchedEventKind::Switch);
  CHECK(sw.prev == 0);
  CHECK(sw.next == 2711);
  CHECK(sw.cpu == 1);
  CHECK(sw.line == 4);
  CHECK(sw.time_s == Approx(100.0001));
  CHECK(sw.prev_state == LeaveState::Runnable);
  CHECK(t.comm.at(2711) == "Web Content");
  CHECK(t.comm.at(24678) == "kworker/2:0H");
  CHECK(only(t, SchedEventKind::Wakeup).irq);
  CHECK(only(t, SchedEventKind::Wakeup).pid == 2745);
  CHECK_FALSE(only(t, SchedEventKind::Waking).irq);
  CHECK(only(t, SchedEventKind::Waking).task == 2711);
  CHECK(only(t, SchedEventKind::Switch, 1).prev_state == LeaveState::Blocked);
}

TEST_CASE("trace: trace-cmd report with numeric states, LOST lines, fork, wakeup_new and exit") {
  const std::string text =
      "version = 6\n"
      "cpus=2\n"
      "           <...>-1701  [001]    76.211513: sched_switch:          prev_comm=trace-cmd prev_pid=1701 "
      "prev_prio=120 prev_state=64 next_comm=swapper/1 next_pid=0 next_prio=120\n"
      "CPU:0 [LOST 17 EVENTS]\n"
      "              sh-1642  [000]    76.211696: sched_process_fork:    comm=sh pid=1642 child_comm=sh "
      "child_pid=1650\n"
      "              sh-1642  [000]    76.211697: sched_wakeup_new:      comm=sh pid=1650 prio=120 success=1 "
      "target_cpu=1\n"
      "              sh-1642  [000]    76.211701: sched_switch:          prev_comm=sh prev_pid=1642 prev_prio=120 "
      "prev_state=4096 next_comm=kworker/u12:1 next_pid=46 next_prio=120\n"
      "              sh-1650  [001]    76.211800: sched_process_exit:    comm=sh pid=1650 prio=120\n"
      "          <idle>-0     [001]    76.211900: sched_wakeup:          comm=sshd pid=1639 prio=120 success=0 "
      "target_cpu=1\n";
  ParsedTrace t = parse_sched_trace(text, "t.txt");
  CHECK(t.format == TraceFormat::TraceCmd);
  CHECK(t.cpus == 2);
  CHECK(t.lost_events == 17);
  CHECK(t.events_total == 6);
  CHECK(t.events_used == 5);
  CHECK(t.skipped.at("sched_wakeup(success=0)") == 1);
  CHECK(only(t, SchedEventKind::Switch).prev_state == LeaveState::Unknown);      // 64: TASK_DEAD or TASK_PARKED
  CHECK(only(t, SchedEventKind::Switch, 1).prev_state == LeaveState::Runnable);  // 4096: preempted (TASK_STATE_MAX)
  CHECK(only(t, SchedEventKind::Fork).parent == 1642);
  CHECK(only(t, SchedEventKind::Fork).pid == 1650);
  CHECK(only(t, SchedEventKind::WakeupNew).pid == 1650);
  CHECK(only(t, SchedEventKind::Exit).pid == 1650);
  CHECK(t.comm.count(1701) == 1);  // named by prev_comm although the line says <...>
  CHECK(t.comm.at(1701) == "trace-cmd");
}

TEST_CASE("trace: perf sched script lines, plugin and key=value payloads") {
  const std::string text =
      "            perf  1234 [000]  1000.000100: sched:sched_wakeup: worker:1235 [120] success=1 CPU:001\n"
      "            perf  1234 [000]  1000.000200: sched:sched_switch: perf:1234 [120] S ==> swapper/0:0 [120]\n"
      "     Web Content  2711/2712 [001]  1000.000300: sched:sched_switch: prev_comm=Web Content prev_pid=2712 "
      "prev_prio=120 prev_state=R+ ==> next_comm=worker next_pid=1235 next_prio=120\n"
      "  kworker/1:1-ev    77 [001]  1000.000400: sched:sched_switch: kworker/1:1-ev:77 [120] R ==> a b:c:9 [100]\n";
  ParsedTrace t = parse_sched_trace(text, "perf.txt");
  CHECK(t.format == TraceFormat::PerfSched);
  REQUIRE(t.events.size() == 4);
  CHECK(t.events[0].kind == SchedEventKind::Wakeup);
  CHECK(t.events[0].task == 1234);
  CHECK(t.events[0].pid == 1235);
  CHECK(t.events[1].prev == 1234);
  CHECK(t.events[1].next == 0);
  CHECK(t.events[1].prev_state == LeaveState::Blocked);
  CHECK(t.events[2].task == 2712);  // the tid of pid/tid
  CHECK(t.events[2].prev_state == LeaveState::Runnable);
  CHECK(t.comm.at(2712) == "Web Content");
  CHECK(t.events[3].task == 77);
  CHECK(t.events[3].next == 9);
  CHECK(t.comm.at(9) == "a b:c");
}

TEST_CASE("trace: systrace HTML with a TGID column keeps the HTML's line numbers") {
  const std::string html =
      "<!DOCTYPE html>\n<html><body>\n"
      "<script class=\"trace-data\" type=\"application/text\">\n"
      "# tracer: nop\n"
      "RenderThread-1143  (  611) [004] ...1 514769.085985: tracing_mark_write: E\n"
      "com.android.systemui-611   (  611) [001] d..5 514769.086090: sched_wakeup: comm=Binder_5 pid=679 prio=120 "
      "success=1 target_cpu=001 state=W\n"
      "          <idle>-0     (-----) [002] d..3 514769.086339: sched_switch: prev_comm=swapper/2 prev_pid=0 "
      "prev_prio=120 prev_state=R ==> next_comm=Binder_5 next_pid=1158 next_prio=120\n"
      "  </script>\n"
      "<script class=\"trace-data\" type=\"application/text\">{\"traceEvents\": []}</script>\n"
      "</body></html>\n";
  ParsedTrace t = parse_sched_trace(html, "s.html");
  CHECK(t.format == TraceFormat::Systrace);
  CHECK(t.events_total == 3);
  CHECK(t.events_used == 2);
  CHECK(t.tgid.at(1143) == 611);
  CHECK(t.tgid.at(611) == 611);
  CHECK(t.comm.at(611) == "com.android.systemui");
  CHECK(only(t, SchedEventKind::Other).line == 5);  // tracing_mark_write: skipped, kept as evidence of who ran
  CHECK(only(t, SchedEventKind::Wakeup).line == 6);
  CHECK(only(t, SchedEventKind::Switch).line == 7);
}

TEST_CASE("trace: prev_state letters and kernel state numbers") {
  CHECK(parse_leave_state("R") == LeaveState::Runnable);
  CHECK(parse_leave_state("R+") == LeaveState::Runnable);
  CHECK(parse_leave_state("S") == LeaveState::Blocked);
  CHECK(parse_leave_state("D|K") == LeaveState::Blocked);
  CHECK(parse_leave_state("I") == LeaveState::Blocked);
  CHECK(parse_leave_state("X") == LeaveState::Dead);
  CHECK(parse_leave_state("Z") == LeaveState::Dead);
  CHECK(parse_leave_state("0") == LeaveState::Runnable);
  CHECK(parse_leave_state("1") == LeaveState::Blocked);
  CHECK(parse_leave_state("2") == LeaveState::Blocked);
  CHECK(parse_leave_state("130") == LeaveState::Blocked);  // TASK_KILLABLE
  CHECK(parse_leave_state("16") == LeaveState::Dead);
  CHECK(parse_leave_state("256") == LeaveState::Runnable);   // TASK_REPORT_MAX (4.14+): preempted
  CHECK(parse_leave_state("2048") == LeaveState::Runnable);  // TASK_STATE_MAX (4.2-4.13)
  CHECK(parse_leave_state("4096") == LeaveState::Runnable);
  CHECK(parse_leave_state("64") == LeaveState::Unknown);
  CHECK(parse_leave_state("") == LeaveState::Unknown);
}

TEST_CASE("trace: run bursts and who woke whom in a hand-made trace") {
  // CPU 0: A runs 1.0-1.3, wakes B at 1.2 and sleeps; B (woken by A) runs 1.3-1.5, is preempted by C (woken from an
  // interrupt at 1.45), runs again 1.6-1.7. CPU 1: D runs from the CPU's first event (1.1) until 1.4, blocks with no
  // wake-up in the trace, and runs again 1.8-1.9.
  const std::string text =
      "<idle>-0  [000] d... 1.000000: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> "
      "next_comm=A next_pid=10 next_prio=120\n"
      "   D-40 [001] d... 1.100000: cpu_idle: state=4294967295 cpu_id=1\n"
      "   A-10 [000] d... 1.200000: sched_waking: comm=B pid=20 prio=120 target_cpu=000\n"
      "   A-10 [000] d... 1.200001: sched_wakeup: comm=B pid=20 prio=120 target_cpu=000\n"
      "   A-10 [000] d... 1.300000: sched_switch: prev_comm=A prev_pid=10 prev_prio=120 prev_state=S ==> "
      "next_comm=B next_pid=20 next_prio=120\n"
      "   D-40 [001] d... 1.400000: sched_switch: prev_comm=D prev_pid=40 prev_prio=120 prev_state=D ==> "
      "next_comm=swapper/1 next_pid=0 next_prio=120\n"
      "   B-20 [000] d.h. 1.450000: sched_wakeup: comm=C pid=30 prio=120 target_cpu=000\n"
      "   B-20 [000] d... 1.500000: sched_switch: prev_comm=B prev_pid=20 prev_prio=120 prev_state=R+ ==> "
      "next_comm=C next_pid=30 next_prio=120\n"
      "   C-30 [000] d... 1.600000: sched_switch: prev_comm=C prev_pid=30 prev_prio=120 prev_state=S ==> "
      "next_comm=B next_pid=20 next_prio=120\n"
      "   B-20 [000] d... 1.700000: sched_switch: prev_comm=B prev_pid=20 prev_prio=120 prev_state=S ==> "
      "next_comm=swapper/0 next_pid=0 next_prio=120\n"
      "<idle>-0  [001] d... 1.800000: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> "
      "next_comm=D next_pid=40 next_prio=120\n"
      "   D-40 [001] d... 1.900000: sched_switch: prev_comm=D prev_pid=40 prev_prio=120 prev_state=S ==> "
      "next_comm=swapper/1 next_pid=0 next_prio=120\n";
  TraceModel m = build_trace_model(parse_sched_trace(text, "t.txt"));
  REQUIRE(m.threads.size() == 4);
  const auto& a = thread_named(m, "A-10");
  const auto& b = thread_named(m, "B-20");
  const auto& c = thread_named(m, "C-30");
  const auto& d = thread_named(m, "D-40");
  CHECK(a.run_s() == Approx(0.3));
  CHECK(b.run_s() == Approx(0.3));
  CHECK(c.run_s() == Approx(0.1));
  CHECK(d.run_s() == Approx(0.4));  // 1.1-1.4 from the CPU's first event in its name, then 1.8-1.9
  REQUIRE(d.runs.size() == 2);
  CHECK(d.runs[0].start_s == Approx(1.1));
  CHECK(m.run_s() == Approx(1.1));
  CHECK(m.inconsistencies == 0);

  ReplayPlan p = plan_replay(m, 0);
  auto idx = [&](const TraceThread& t) { return static_cast<uint32_t>(&t - m.threads.data()); };
  using K = ReplayStep;
  // A: 0.2 of work, wakes B, 0.1 more.
  const auto& sa = p.threads[idx(a)];
  REQUIRE(sa.size() == 3);
  CHECK((sa[0].kind == K::Compute && sa[0].seconds == Approx(0.2)));
  CHECK((sa[1].kind == K::Wake && sa[1].thread == idx(b)));
  CHECK((sa[2].kind == K::Compute && sa[2].seconds == Approx(0.1)));
  // B: waits for A, then its two bursts (preempted in between: no wait), merged into one compute.
  const auto& sb = p.threads[idx(b)];
  REQUIRE(sb.size() == 2);
  CHECK(sb[0].kind == K::Wait);
  CHECK((sb[1].kind == K::Compute && sb[1].seconds == Approx(0.3)));
  // C: woken from an interrupt at 1.45, 0.45 s after the trace began: a timed sleep.
  const auto& sc = p.threads[idx(c)];
  REQUIRE(sc.size() == 2);
  CHECK((sc[0].kind == K::Sleep && sc[0].seconds == Approx(0.45)));
  // D: seen from 1.1 (0.1 s after the trace began), then blocked with no wake-up in the trace: sleeps the recorded
  // 0.4 s.
  const auto& sd = p.threads[idx(d)];
  REQUIRE(sd.size() == 4);
  CHECK((sd[0].kind == K::Sleep && sd[0].seconds == Approx(0.1)));
  CHECK((sd[2].kind == K::Sleep && sd[2].seconds == Approx(0.4)));
  CHECK(p.wake_edges == 1);
  CHECK(p.external_wakes == 1);
  CHECK(p.unexplained_sleeps == 1);
  CHECK(p.unused_wakes == 0);  // the sched_wakeup after B's sched_waking is the same wake-up

  ReplayPlan dropped = plan_replay(m, 0.15);  // the 0.1 s bursts of B, C and D go
  CHECK(dropped.dropped_bursts == 3);
  CHECK(dropped.dropped_run_s == Approx(0.3));
}

TEST_CASE("trace: a switch that contradicts the CPU's current task closes the stale run") {
  // The systrace sample's pattern: swapper switches to Binder_5 twice with no switch away from it in between.
  const std::string text =
      "<idle>-0 [002] d..3 10.000000: sched_switch: prev_comm=swapper/2 prev_pid=0 prev_prio=120 prev_state=R ==> "
      "next_comm=Binder_5 next_pid=1158 next_prio=120\n"
      "<idle>-0 [002] d..3 10.000100: sched_switch: prev_comm=swapper/2 prev_pid=0 prev_prio=120 prev_state=R ==> "
      "next_comm=Binder_5 next_pid=1158 next_prio=120\n"
      "Binder_5-1158 [002] d..3 10.000300: sched_switch: prev_comm=Binder_5 prev_pid=1158 prev_prio=120 "
      "prev_state=S ==> next_comm=swapper/2 next_pid=0 next_prio=120\n";
  TraceModel m = build_trace_model(parse_sched_trace(text, "t.txt"));
  CHECK(m.inconsistencies == 1);
  REQUIRE(m.threads.size() == 1);
  CHECK(m.threads[0].runs.size() == 2);
  CHECK(m.threads[0].run_s() == Approx(0.0003));
}

TEST_CASE("trace: bad input is an InputError naming the file and the line") {
  const std::string good =
      "   A-10 [000] d... 1.000000: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> "
      "next_comm=A next_pid=10 next_prio=120\n";
  CHECK(error_where("") == "(file)");
  CHECK(error_where("\n\n  \n") == "(file)");
  CHECK(error_where("# tracer: nop\n#\n") == "(file)");                // no events
  CHECK(error_where(good + "   A-10 [000] d... 1.0000") == "line 2");  // truncated line
  CHECK(error_where(good + "   A-10 [000] d... 1.100000: sched_switch: prev_comm=A prev_pid=10 prev_pri") ==
        "line 2");  // truncated payload: no next_pid
  CHECK(error_where(good + "   A-10 [000] d... 0.500000: sched_waking: comm=B pid=20 prio=120 target_cpu=000\n") ==
        "line 2");  // back in time
  CHECK(error_where(good + "   A-10 [000] d... 1.1: sched_wakeup: comm=B pid=x20 prio=120\n") == "line 2");
  CHECK(error_where(good + std::string("\x01\x02\xff\xfe garbage\n", 13)) == "line 2");
  CHECK(error_where(std::string("\x7f"
                                "ELF\x02\x01\x01\0\0\0",
                                10)) == "line 1");                              // binary with NUL bytes
  CHECK(error_where(std::string("\x17\x08\x44tracing6\0\0", 13)) == "(file)");  // trace.dat
  CHECK(error_where("PERFILE2\x68\0\0\0") == "(file)");
  CHECK(error_where("time,cpu,event\n1.0,0,switch\n") == "line 1");  // unknown format
  CHECK(error_where("{\"traceEvents\": []}\n") == "line 1");
  CHECK(error_where("<!DOCTYPE html>\n<html><body>no trace here</body></html>\n") == "(file)");
  CHECK(error_where("<!DOCTYPE html>\n<script class=\"trace-data\" type=\"application/text\">\n# tracer: nop\n") ==
        "line 2");                                                                   // truncated HTML
  CHECK(error_where("<!DOCTYPE html>\n<html>\n", TraceFormat::Ftrace) == "(file)");  // HTML given as ftrace
  CHECK(error_where("   A-x10 [000] d... 1.000000: sched_switch: prev_pid=0 next_pid=1\n") == "line 1");
  CHECK(error_where(good) == "");
  // Every message says what was wrong.
  try {
    parse_sched_trace(good + "   A-10 [000] d... 0.5: sched_waking: comm=B pid=20\n", "bad.txt");
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("bad.txt") && Catch::Contains("line 2") && Catch::Contains("back in time"));
  }
  CHECK_THROWS_AS(parse_sched_trace_file("/nonexistent/trace.txt"), InputError);
}
