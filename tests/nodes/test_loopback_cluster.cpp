// A parameter_server and six workers in one process over real TCP on 127.0.0.1: every decoded
// gradient is compared with the full-batch gradient of the same least-squares workload.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include "pgc/core/least_squares.hpp"
#include "pgc/nodes/parameter_server.hpp"
#include "pgc/nodes/worker.hpp"

using namespace pgc;
using namespace pgc::nodes;

namespace {

struct run_result {
  std::uint64_t completed = 0;
  int iterations_reported = 0;
  double max_rel_error = 0;
  int decodes = 0;
  bool ps_done = false;
  bool ps_failed = false;
  int workers_done = 0;
  int workers_lost = 0;
  int all_exact = 0;
  std::vector<std::string> log;
};

run_result run_cluster(coding::scheme_kind kind, std::optional<int> failing_worker) {
  constexpr int n = 6;
  core::least_squares_config cfg;
  cfg.samples = 240;
  cfg.dimension = 11;  // odd: the last of the ell = 2 blocks is padded
  cfg.chunks = n;
  cfg.seed = 7;
  // Every node builds its own copy from the same seed, as separate processes would.
  auto ps_source = std::make_shared<core::least_squares>(cfg);

  boost::asio::io_context io;
  run_result r;
  std::mutex mu;  // on_gradient runs on the decode pool
  const core::logger sink(
      [&](core::log_level, std::string_view line) {
        const std::lock_guard lock(mu);
        r.log.emplace_back(line);
      },
      core::log_level::debug);

  ps_options o;
  o.protocol.scheme.kind = kind;
  o.protocol.scheme.workers = n;
  o.protocol.scheme.load = 3;
  o.protocol.scheme.ell = 2;
  o.protocol.scheme.seed = 42;
  o.protocol.mode = signal_mode::exact;
  o.protocol.dimension = cfg.dimension;
  o.run.iterations = 3;
  o.protocol.heartbeat = std::chrono::milliseconds(100);
  o.initial_model = ps_source->initial_parameters();
  o.log = sink;
  o.on_gradient = [&](std::uint64_t, const Eigen::VectorXd& g, double, Eigen::VectorXd& model) {
    const Eigen::VectorXd truth = core::full_gradient(*ps_source, model);
    const std::lock_guard lock(mu);
    r.max_rel_error = std::max(r.max_rel_error, (g - truth).norm() / truth.norm());
    ++r.decodes;
    model -= 0.5 / static_cast<double>(cfg.samples) * g;  // so later iterations see new models
  };
  o.on_iteration = [&](std::uint64_t, const iteration_stats& stats,
                       std::chrono::steady_clock::duration) {
    ++r.iterations_reported;
    r.workers_lost += stats.workers_lost;
    if (stats.exact) ++r.all_exact;
  };
  o.on_done = [&](std::exception_ptr e) {
    r.ps_done = true;
    r.ps_failed = e != nullptr;
  };
  parameter_server ps(io.get_executor(), o);
  const auto port = ps.start();
  REQUIRE(port != 0);

  std::vector<std::unique_ptr<worker>> workers;
  for (int i = 0; i < n; ++i) {
    worker_options wo;
    wo.connect = {"127.0.0.1", port};
    wo.name = "w" + std::to_string(i);
    wo.heartbeat = std::chrono::milliseconds(100);
    wo.log = sink;
    wo.on_done = [&](std::exception_ptr e) {
      ++r.workers_done;
      if (e) sink.error("worker failed");
    };
    // Position 0: the worker is sure to reach it (it crashes as iteration 1 starts); a later
    // position may never be reached if the PS signals before the worker gets there.
    if (failing_worker == i) wo.fail_at = worker_options::fail_point{1, 0};
    workers.push_back(std::make_unique<worker>(io.get_executor(), wo,
                                               std::make_shared<core::least_squares>(cfg)));
    workers.back()->start();
  }
  io.run_for(std::chrono::seconds(15));
  r.completed = ps.completed();
  return r;
}

void check_exact_run(const run_result& r) {
  for (const auto& line : r.log)
    MESSAGE(line);
  CHECK(r.ps_done);
  CHECK_FALSE(r.ps_failed);
  CHECK(r.completed == 3);
  CHECK(r.iterations_reported == 3);
  CHECK(r.decodes == 3);
  CHECK(r.all_exact == 3);
  CHECK(r.max_rel_error < 1e-9);
  CHECK(r.workers_done == 6);
}

}  // namespace

TEST_CASE("a loopback cluster of the proposed scheme decodes every gradient exactly") {
  const auto r = run_cluster(coding::scheme_kind::proposed, std::nullopt);
  check_exact_run(r);
  CHECK(r.workers_lost == 0);
}

TEST_CASE("a loopback cluster finishes exactly when a worker drops mid iteration") {
  const auto r = run_cluster(coding::scheme_kind::proposed, 2);
  check_exact_run(r);
  CHECK(r.workers_lost >= 1);
  CHECK(std::any_of(r.log.begin(), r.log.end(), [](const std::string& l) {
    return l.find("injected failure") != std::string::npos;
  }));
}

TEST_CASE("a loopback cluster of the original scheme decodes every gradient exactly") {
  const auto r = run_cluster(coding::scheme_kind::original, std::nullopt);
  check_exact_run(r);
}
