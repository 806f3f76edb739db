// pgc worker: connect to a parameter server and compute, encode and send chunk gradients.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "commands.hpp"
#include "options/auth_options.hpp"
#include "options/logging_options.hpp"
#include "options/option_helpers.hpp"
#include "options/tls_options.hpp"
#include "options/workload_options.hpp"
#include "pgc/core/error.hpp"
#include "pgc/core/logger.hpp"
#include "pgc/net/endpoint.hpp"
#include "pgc/nodes/delay_model.hpp"
#include "pgc/nodes/worker.hpp"

namespace pgc::tools {
namespace {

struct worker_cli {
  workload_options workload;
  auth_options auth;
  tls_options tls{tls_role::client};
  logging_options logging;
  std::string connect;
  std::string name;
  int chunks = 0;
  double slowdown = 1.0;
  std::string delay_model = "none";
  std::uint64_t delay_seed = 0;
  std::string fail_at;
  bool no_reconnect = false;
  bool no_shared_memory = false;
  int heartbeat_ms = 200;
  int threads = 1;
  int id = -1;
  double reconnect_timeout = 600;  // seconds

  void add_to(CLI::App& app);
  // Throws core::input_error naming the flag.
  void validate() const;
};

// ITER:CHUNK, both non-negative integers.
nodes::worker_options::fail_point parse_fail_at(const std::string& text) {
  const auto colon = text.find(':');
  const auto bad = core::input_error("--fail-at '" + text + "' is not ITERATION:CHUNK (e.g. 1:2)");
  if (colon == std::string::npos) throw bad;
  unsigned long long iteration = 0;
  int position = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  const auto r1 = std::from_chars(b, b + colon, iteration);
  const auto r2 = std::from_chars(b + colon + 1, e, position);
  if (r1.ec != std::errc{} || r1.ptr != b + colon || r2.ec != std::errc{} || r2.ptr != e ||
      position < 0) {
    throw bad;
  }
  return {iteration, position};
}

void worker_cli::validate() const {
  if (connect.empty()) throw core::input_error("--connect HOST:PORT is required");
  try {
    (void)net::parse_endpoint(connect);
  } catch (const core::input_error& e) {
    throw core::input_error(std::string("--connect: ") + e.what());
  }
  if (chunks < 1) {
    throw core::input_error("--chunks M (the number of data chunks, = N) is required");
  }
  if (!(slowdown >= 1.0)) throw core::input_error("--slowdown must be at least 1");
  if (threads < 1) throw core::input_error("--threads must be at least 1");
  if (!(reconnect_timeout > 0)) throw core::input_error("--reconnect-timeout must be positive");
  try {
    (void)nodes::delay_model::parse(delay_model);
  } catch (const core::input_error& e) {
    throw core::input_error(std::string("--delay-model: ") + e.what());
  }
  if (!fail_at.empty()) (void)parse_fail_at(fail_at);
  auth.validate();
  tls.validate();
}

// The one place where the option groups become the node's options (on_done is run()'s).
nodes::worker_options make_worker_options(const worker_cli& o, const core::logger& log) {
  nodes::worker_options wo;
  wo.connect = net::parse_endpoint(o.connect);
  wo.name = o.name.empty() ? "worker-" + std::to_string(::getpid()) : o.name;
  wo.heartbeat = std::chrono::milliseconds(o.heartbeat_ms);
  wo.slowdown = o.slowdown;
  wo.delay = nodes::delay_model::parse(o.delay_model);
  wo.delay_seed = o.delay_seed;
  wo.compute_threads = o.threads;
  wo.preferred_id = o.id;
  wo.secret = o.auth.secret();
  wo.tls = o.tls.node();  // checked (files, key against certificate) when the worker is built
  if (!o.fail_at.empty()) wo.fail_at = parse_fail_at(o.fail_at);
  wo.reconnect_after_failure = !o.no_reconnect;
  wo.reconnect_timeout =
      std::chrono::milliseconds(static_cast<long long>(o.reconnect_timeout * 1000));
  wo.shared_memory = !o.no_shared_memory;
  wo.fingerprint = o.workload.fingerprint();
  wo.log = log;
  return wo;
}

int run(const worker_cli& o) {
  o.validate();
  const core::logger log = o.logging.make_logger({});
  nodes::worker_options wo = make_worker_options(o, log);
  const auto source = make_workload(o.workload, o.chunks, false).source;

  boost::asio::io_context io;
  std::exception_ptr failure;
  wo.on_done = [&](std::exception_ptr e) {
    failure = e;
    io.stop();
  };
  nodes::worker w(io.get_executor(), std::move(wo), source);
  w.start();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) w.stop();
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return 0;
}

void worker_cli::add_to(CLI::App& app) {
  app.add_option("--connect", connect, "HOST:PORT of the parameter server");
  app.add_option("--name", name, "Stable worker name (default worker-PID)");
  app.add_option("--chunks", chunks, "Number of data chunks m (= number of workers N)")
      ->check(at_least(1));
  workload.add_to(app);
  app.add_option("--slowdown", slowdown, "Straggler injection: every chunk takes F times longer")
      ->check(at_least(1))
      ->capture_default_str();
  app.add_option("--delay-model", delay_model,
                 "Straggler injection: random extra delay per chunk: none | fixed:MS | "
                 "exp:MEAN_MS | pareto:SCALE_MS:SHAPE | bimodal:P:F (with probability P a chunk "
                 "takes F times its compute time)")
      ->capture_default_str();
  app.add_option("--delay-seed", delay_seed, "Seed of the --delay-model draws")
      ->check(at_least(0))
      ->capture_default_str();
  app.add_option("--fail-at", fail_at, "Crash (drop the connection) at ITERATION:CHUNK");
  app.add_flag("--no-reconnect", no_reconnect, "After --fail-at, exit instead of reconnecting");
  app.add_flag("--no-shared-memory", no_shared_memory,
               "Send coded vectors over the socket even when the PS offers shared memory (it "
               "does to workers on its host)");
  app.add_option("--heartbeat-ms", heartbeat_ms,
                 "Heartbeat interval until the PS's Welcome says its own")
      ->check(at_least(10))
      ->capture_default_str();
  app.add_option("--id", id,
                 "Ask the PS for this worker id (its chunks and place in the ring); granted when "
                 "free, otherwise the first free one")
      ->check(at_least(0));
  app.add_option("--reconnect-timeout", reconnect_timeout,
                 "Seconds to keep trying to reach a PS that went away (long enough to restart "
                 "it with --resume)")
      ->check(greater_than(0))
      ->capture_default_str();
  auth.add_to(app);
  tls.add_to(app);
  app.add_option("--threads", threads, "Compute threads")
      ->check(at_least(1))
      ->capture_default_str();
  logging.add_to(app);
}

}  // namespace

command add_worker_command(CLI::App& app) {
  auto o = std::make_shared<worker_cli>();
  auto* sub = app.add_subcommand("worker", "Run a worker that connects to a parameter server");
  o->add_to(*sub);
  return [o] { return run(*o); };
}

}  // namespace pgc::tools
