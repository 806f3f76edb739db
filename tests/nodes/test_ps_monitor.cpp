#include <chrono>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "pgc/nodes/ps_machine.hpp"
#include "pgc/nodes/ps_monitor.hpp"
#include "pgc/nodes/scheme_spec.hpp"

using namespace pgc;
using namespace pgc::nodes;
using ps = ps_machine;
using namespace std::chrono_literals;

namespace {

// A machine and its monitor driven like the PS shell drives them: every event and every action
// shown to the monitor. Proposed, N = 4, cyclic load 2, ell = 1, d = 4, 3 iterations.
struct rig {
  ps_monitor::clock::time_point now{};
  ps machine;
  ps_monitor monitor;

  rig() : machine(config()), monitor("run-1", config(), now) {}

  static ps_config config() {
    scheme_spec spec;
    spec.workers = 4;
    spec.load = 2;
    spec.ell = 1;
    spec.seed = 3;
    ps_config c;
    c.code = make_scheme(spec);
    c.protocol.scheme = spec;
    c.protocol.dimension = 4;
    c.run.iterations = 3;
    return c;
  }

  std::vector<ps::action> feed(ps::event e) {
    monitor.observe(e, machine, now);
    auto actions = machine.on(std::move(e));
    for (const auto& a : actions)
      monitor.observe(a, machine, now);
    return actions;
  }

  boost::json::object snapshot() const {
    return boost::json::parse(monitor.snapshot(machine, now)).as_object();
  }
};

const boost::json::object& worker(const boost::json::object& snap, int id) {
  return snap.at("workers").as_array().at(static_cast<std::size_t>(id)).as_object();
}

}  // namespace

TEST_CASE("the snapshot has the keys the dashboard and api state promise") {
  rig r;
  const auto s = r.snapshot();
  for (const char* key : {"run_id", "scheme", "mode", "n", "m", "ell", "d", "iterations",
                          "iteration", "completed", "phase", "epoch", "ready", "state",
                          "coverage", "workers", "history", "baseline", "events"}) {
    CHECK_MESSAGE(s.contains(key), key);
  }
  CHECK(s.at("state").as_array().size() == 4);
  CHECK(s.at("coverage").as_array().size() == 4);
  CHECK(s.at("workers").as_array().size() == 4);
  CHECK(s.at("ell").as_int64() == 1);
  CHECK(s.at("baseline").is_null());
  CHECK(worker(s, 2).at("status").as_string() == "disconnected");
  CHECK(worker(s, 2).at("assigned").as_int64() == 2);
}

TEST_CASE("worker status follows joins progress signals and losses") {
  rig r;
  r.feed(ps::model_ready{0});
  for (int w = 0; w < 4; ++w) {
    r.monitor.admitted(w, "w" + std::to_string(w), r.now);
    r.feed(ps::worker_joined{w});
  }
  auto s = r.snapshot();
  CHECK(s.at("phase").as_string() == "computing");
  CHECK(worker(s, 0).at("status").as_string() == "computing");
  CHECK(worker(s, 3).at("name").as_string() == "w3");

  // Worker 0 does two chunks in 10 ms each, worker 2 one; worker 1 one chunk in 100 ms. Chunk 3
  // (held by workers 2 and 3) is not covered yet.
  r.now += 10ms;
  r.feed(ps::progress{0, 0, 1});
  r.feed(ps::progress{2, 0, 1});
  r.now += 10ms;
  r.feed(ps::progress{0, 0, 2});
  r.now += 80ms;
  r.feed(ps::progress{1, 0, 1});
  s = r.snapshot();
  CHECK(worker(s, 0).at("chunks_done").as_int64() == 2);
  CHECK(worker(s, 0).at("status").as_string() == "idle");  // its list is done
  CHECK(worker(s, 1).at("slow").as_bool());
  CHECK_FALSE(worker(s, 0).at("slow").as_bool());
  CHECK(worker(s, 1).at("seconds_per_chunk").as_double() == doctest::Approx(0.1));
  // The stale progress of another iteration changes nothing.
  r.feed(ps::progress{1, 7, 2});
  CHECK(worker(r.snapshot(), 1).at("chunks_done").as_int64() == 1);

  // Worker 0 has chunks 0 and 1, worker 2 has 2 and 3: the state covers every chunk.
  r.feed(ps::progress{2, 0, 2});
  s = r.snapshot();
  CHECK(s.at("phase").as_string() == "awaiting");
  const auto& coverage = s.at("coverage").as_array();
  for (const auto& c : coverage)
    CHECK(c.as_int64() >= 1);
  CHECK(worker(s, 0).at("status").as_string() == "encoding");
  // Worker 3 never finished a chunk: the 100 ms it spent on one still mark it slow.
  CHECK(worker(s, 3).at("slow").as_bool());
  CHECK(worker(s, 3).at("seconds_per_chunk").as_double() == doctest::Approx(0.1));
  CHECK_FALSE(worker(s, 0).at("slow").as_bool());

  // Worker 1 dies while its reply is awaited: failed, and the event log says so.
  r.now += 5ms;
  r.feed(ps::worker_lost{1});
  s = r.snapshot();
  CHECK(worker(s, 1).at("status").as_string() == "failed");
  CHECK_FALSE(worker(s, 1).at("connected").as_bool());
  bool logged = false;
  for (const auto& e : s.at("events").as_array())
    logged |= e.at("text").as_string().find("worker 1 (w1) lost during iteration 0") !=
              std::string::npos;
  CHECK(logged);
  const auto metrics = r.monitor.metrics(r.machine, r.now);
  CHECK(metrics.find("pgc_workers_lost_total{scheme=\"proposed\",mode=\"exact\"} 1") !=
        std::string::npos);
  CHECK(metrics.find("pgc_worker_connected{worker=\"1\",name=\"w1\"} 0") != std::string::npos);
}

TEST_CASE("completed iterations carry timings and annotations into history and metrics") {
  rig r;
  iteration_stats stats;
  stats.epochs = 2;
  stats.exact = false;
  stats.chunks_used = 3;
  r.monitor.completed(0, stats, 0.3, 0.125, r.now);
  r.monitor.annotate(0, "loss", 1.5);
  r.monitor.annotate(0, "accuracy", 0.75);
  r.monitor.annotate(9, "loss", 2.0);  // not in history: ignored
  iteration_stats exact;
  exact.epochs = 1;
  exact.exact = true;
  r.monitor.completed(1, exact, 0.02, 0.0, r.now);
  r.monitor.set_baseline("original", {0.5, 0.6});
  const auto s = r.snapshot();
  const auto& h = s.at("history").as_array();
  REQUIRE(h.size() == 2);
  CHECK(h[0].at("seconds").as_double() == 0.3);
  CHECK(h[0].at("epochs").as_int64() == 2);
  CHECK(h[0].at("loss").as_double() == 1.5);
  CHECK(h[0].at("accuracy").as_double() == 0.75);
  CHECK(h[0].at("expected_error").as_double() == 0.125);
  CHECK_FALSE(h[1].as_object().contains("loss"));
  CHECK(s.at("baseline").at("label").as_string() == "original");
  CHECK(s.at("baseline").at("seconds").as_array().size() == 2);

  const auto metrics = r.monitor.metrics(r.machine, r.now);
  // Histogram: 0.02 s falls in le=0.025 and above, 0.3 s in le=0.5 and above.
  CHECK(metrics.find("pgc_iteration_seconds_bucket{scheme=\"proposed\",mode=\"exact\",le=\"0.01\"} 0") !=
        std::string::npos);
  CHECK(metrics.find("pgc_iteration_seconds_bucket{scheme=\"proposed\",mode=\"exact\",le=\"0.025\"} 1") !=
        std::string::npos);
  CHECK(metrics.find("pgc_iteration_seconds_bucket{scheme=\"proposed\",mode=\"exact\",le=\"0.5\"} 2") !=
        std::string::npos);
  CHECK(metrics.find("pgc_iteration_seconds_count{scheme=\"proposed\",mode=\"exact\"} 2") !=
        std::string::npos);
  CHECK(metrics.find("pgc_approximate_iterations_total{scheme=\"proposed\",mode=\"exact\"} 1") !=
        std::string::npos);
}

TEST_CASE("history and events stay bounded") {
  ps_monitor::clock::time_point now{};
  ps_monitor m("run-1", rig::config(), now, 5, 3);
  for (std::uint64_t i = 0; i < 50; ++i) {
    m.completed(i, iteration_stats{}, 0.1, 0, now);
    m.note("note " + std::to_string(i), now);
  }
  REQUIRE(m.history().size() == 5);
  CHECK(m.history().front().iteration == 45);
  REQUIRE(m.events().size() == 3);
  CHECK(m.events().back().text == "note 49");
}

TEST_CASE("metric label values are escaped") {
  rig r;
  r.monitor.admitted(0, "a\"b\\c\nd", r.now);
  const auto metrics = r.monitor.metrics(r.machine, r.now);
  CHECK(metrics.find("name=\"a\\\"b\\\\c\\nd\"") != std::string::npos);
}
