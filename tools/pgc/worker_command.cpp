// pgc worker: connect to a parameter server and compute, encode and send chunk gradients.
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

#include "cluster_options.hpp"
#include "commands.hpp"
#include "pgc/core/error.hpp"
#include "pgc/net/auth.hpp"
#include "pgc/net/endpoint.hpp"
#include "pgc/net/tls_options.hpp"
#include "pgc/nodes/delay_model.hpp"
#include "pgc/nodes/worker.hpp"

namespace pgc::tools {
namespace {

struct worker_cli {
  workload_options workload;
  std::string connect;
  std::string name;
  int chunks = 0;
  double slowdown = 1.0;
  std::string delay_model = "none";
  std::uint64_t delay_seed = 0;
  std::string fail_at;
  bool no_reconnect = false;
  double reconnect_timeout = 600;
  bool no_shared_memory = false;
  int heartbeat_ms = 200;
  int threads = 1;
  std::string secret_file;
  net::tls_options tls;
  int id = -1;
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

int run(const worker_cli& o) {
  if (o.connect.empty()) throw core::input_error("--connect HOST:PORT is required");
  if (o.chunks < 1)
    throw core::input_error("--chunks M (the number of data chunks, = N) is required");
  if (!(o.slowdown >= 1.0)) throw core::input_error("--slowdown must be at least 1");
  if (o.threads < 1) throw core::input_error("--threads must be at least 1");
  nodes::worker_options wo;
  wo.connect = net::parse_endpoint(o.connect);
  wo.name = o.name.empty() ? "worker-" + std::to_string(::getpid()) : o.name;
  wo.heartbeat = std::chrono::milliseconds(o.heartbeat_ms);
  wo.slowdown = o.slowdown;
  try {
    wo.delay = nodes::delay_model::parse(o.delay_model);
  } catch (const core::input_error& e) {
    throw core::input_error(std::string("--delay-model: ") + e.what());
  }
  wo.delay_seed = o.delay_seed;
  wo.compute_threads = o.threads;
  wo.preferred_id = o.id;
  if (!o.secret_file.empty()) wo.secret = net::read_secret_file(o.secret_file);
  if (!o.tls.server_name.empty() && o.tls.ca_file.empty()) {
    throw core::input_error("--tls-server-name needs --tls-ca");
  }
  wo.tls = o.tls;  // checked (files, key against certificate) when the worker is built
  if (!o.fail_at.empty()) wo.fail_at = parse_fail_at(o.fail_at);
  wo.reconnect_after_failure = !o.no_reconnect;
  if (!(o.reconnect_timeout > 0)) throw core::input_error("--reconnect-timeout must be positive");
  wo.reconnect_timeout =
      std::chrono::milliseconds(static_cast<long long>(o.reconnect_timeout * 1000));
  wo.shared_memory = !o.no_shared_memory;
  wo.fingerprint = o.workload.fingerprint();
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

}  // namespace

command add_worker_command(CLI::App& app) {
  auto o = std::make_shared<worker_cli>();
  auto* sub = app.add_subcommand("worker", "Run a worker that connects to a parameter server");
  sub->add_option("--connect", o->connect, "HOST:PORT of the parameter server");
  sub->add_option("--name", o->name, "Stable worker name (default worker-PID)");
  sub->add_option("--chunks", o->chunks, "Number of data chunks m (= number of workers N)");
  o->workload.add_to(*sub);
  sub->add_option("--slowdown", o->slowdown,
                  "Straggler injection: every chunk takes F times longer")
      ->capture_default_str();
  sub->add_option("--delay-model", o->delay_model,
                  "Straggler injection: random extra delay per chunk: none | fixed:MS | "
                  "exp:MEAN_MS | pareto:SCALE_MS:SHAPE | bimodal:P:F (with probability P a chunk "
                  "takes F times its compute time)")
      ->capture_default_str();
  sub->add_option("--delay-seed", o->delay_seed, "Seed of the --delay-model draws")
      ->capture_default_str();
  sub->add_option("--fail-at", o->fail_at, "Crash (drop the connection) at ITERATION:CHUNK");
  sub->add_flag("--no-reconnect", o->no_reconnect, "After --fail-at, exit instead of reconnecting");
  sub->add_option("--reconnect-timeout", o->reconnect_timeout,
                  "Seconds to wait for a PS that went away (or is not up yet) before giving up; "
                  "long enough by default to restart a PS with --resume")
      ->capture_default_str();
  sub->add_flag("--no-shared-memory", o->no_shared_memory,
                "Send coded vectors over the socket even when the PS offers shared memory (it "
                "does to workers on its host)");
  sub->add_option("--heartbeat-ms", o->heartbeat_ms, "Heartbeat interval")->capture_default_str();
  sub->add_option("--id", o->id,
                  "Ask the PS for this worker id (its chunks and place in the ring); granted when "
                  "free, otherwise the first free one");
  sub->add_option("--secret-file", o->secret_file,
                  "Authenticate to the PS (and it to us) with the shared secret in this file");
  sub->add_option("--tls-ca", o->tls.ca_file,
                  "Connect over TLS only and accept a PS whose certificate this PEM CA signed "
                  "(and that names the --connect host)");
  sub->add_option("--tls-server-name", o->tls.server_name,
                  "The name the PS certificate must carry, instead of the --connect host");
  sub->add_option("--tls-cert", o->tls.cert_file,
                  "A PEM client certificate for a PS that requires one (mutual TLS); needs "
                  "--tls-key");
  sub->add_option("--tls-key", o->tls.key_file, "The PEM private key of --tls-cert");
  sub->add_option("--threads", o->threads, "Compute threads")->capture_default_str();
  return [o] { return run(*o); };
}

}  // namespace pgc::tools
