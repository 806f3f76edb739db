// pgc ps: run a parameter server until the configured iterations are done.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <utility>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

#include "cluster_options.hpp"
#include "commands.hpp"
#include "pgc/core/checkpoint.hpp"
#include "pgc/core/classifier.hpp"
#include "pgc/core/error.hpp"
#include "pgc/core/optimizer.hpp"
#include "pgc/net/auth.hpp"
#include "pgc/net/endpoint.hpp"
#include "pgc/net/tls_options.hpp"
#include "pgc/nodes/parameter_server.hpp"

namespace pgc::tools {
namespace {

struct ps_cli {
  protocol_options protocol;
  workload_options workload;
  std::string listen = "127.0.0.1:0";
  int min_workers = 0;
  bool verify = false;
  std::string summary;
  std::string csv;
  std::string checkpoint;
  std::uint64_t checkpoint_every = 10;
  bool resume = false;
  std::string dashboard;
  std::string dashboard_token_file;
  std::string baseline_summary;
  std::string secret_file;
  net::tls_options tls;
};

struct iteration_record {
  std::uint64_t iteration = 0;
  double seconds = 0;
  double expected_error = 0;
  double rel_error = std::nan("");
  double loss = 0;                 // mean training loss (synthetic) or mean test loss (classifier)
  double accuracy = std::nan("");  // test accuracy (classifier)
  long long rss_bytes = 0;         // the PS's resident memory after the step
  nodes::iteration_stats stats;
};

// The relative error an exact decode may show against the reference: rounding in double, or
// with a float32 wire each coded entry rounded to 24 bits (2^-24 ~ 6e-8 relative), a little
// amplified by the decoding coefficients; measured ~1e-7 (README, "Performance").
double exact_tolerance(nodes::wire_precision precision) {
  return precision == nodes::wire_precision::f32 ? 1e-5 : 1e-9;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void write_summary(const std::string& path, const ps_cli& o,
                   const std::vector<iteration_record>& records, double max_rel, bool verified,
                   std::uint64_t first_iteration, std::uint64_t shared_memory_links) {
  boost::json::object out;
  out["scheme"] = o.protocol.scheme;
  out["first_iteration"] = first_iteration;
  out["mode"] = o.protocol.mode;
  out["workers"] = o.protocol.workers;
  out["load"] = o.protocol.load;
  out["ell"] = o.protocol.ell;
  out["iterations"] = records.size();  // run by this process (after first_iteration)
  // null without --verify: nothing was compared.
  if (o.verify) {
    out["max_rel_error"] = max_rel;
  } else {
    out["max_rel_error"] = nullptr;
  }
  out["verified"] = o.verify ? boost::json::value(verified) : boost::json::value(nullptr);
  // With f32 the decode carries the wire's rounding: max_rel_error (with --verify) measures it.
  out["wire_precision"] = o.protocol.wire_precision;
  out["exact_tolerance"] = exact_tolerance(o.protocol.precision());
  // Worker connections that sent their coded vectors through shared memory (same host).
  out["shared_memory_links"] = shared_memory_links;
  std::vector<double> seconds;
  boost::json::array per;
  for (const auto& r : records) {
    seconds.push_back(r.seconds);
    boost::json::object it;
    it["iteration"] = r.iteration;
    it["seconds"] = r.seconds;
    it["epochs"] = r.stats.epochs;
    it["exact"] = r.stats.exact;
    it["chunks_used"] = r.stats.chunks_used;
    it["workers_lost"] = r.stats.workers_lost;
    it["shortfall"] = r.stats.shortfall;
    it["expected_error"] = r.expected_error;
    if (!std::isnan(r.rel_error)) it["rel_error"] = r.rel_error;
    it["loss"] = r.loss;
    it["rss_bytes"] = r.rss_bytes;
    if (!std::isnan(r.accuracy)) it["test_accuracy"] = r.accuracy;
    per.push_back(std::move(it));
  }
  out["mean_iteration_seconds"] =
      seconds.empty() ? 0.0 : std::accumulate(seconds.begin(), seconds.end(), 0.0) / seconds.size();
  out["median_iteration_seconds"] = median(seconds);
  if (!records.empty()) {
    // Resident memory after a tenth of the run (warm-up) and at its end: a leak shows as growth.
    const auto& warm = records[records.size() / 10];
    out["rss_bytes_after_warmup"] = warm.rss_bytes;
    out["rss_bytes_final"] = records.back().rss_bytes;
    long long peak = 0;
    for (const auto& r : records)
      peak = std::max(peak, r.rss_bytes);
    out["rss_bytes_peak"] = peak;
  }
  if (!records.empty()) {
    out["final_loss"] = records.back().loss;
    if (!std::isnan(records.back().accuracy)) out["test_accuracy"] = records.back().accuracy;
  }
  out["per_iteration"] = std::move(per);
  // Written to a temporary file and renamed, so a reader never sees half a summary.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    if (!f) throw core::input_error("cannot write --summary file '" + path + "'");
    f << boost::json::serialize(out) << '\n';
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw core::input_error("cannot write --summary file '" + path + "'");
  }
}

// The PS's resident set size (/proc/self/statm), for the soak's leak check; 0 if unreadable.
long long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long long pages = 0;
  long long resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return resident * static_cast<long long>(::sysconf(_SC_PAGESIZE));
}

// A comparison run's iteration times, for the dashboard: its --summary file.
std::pair<std::string, std::vector<double>> read_baseline(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw core::input_error("cannot read --baseline-summary file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  const auto v = boost::json::parse(text.str(), ec);
  if (ec || !v.is_object() || !v.as_object().contains("per_iteration")) {
    throw core::input_error("--baseline-summary '" + path + "' is not a pgc --summary file");
  }
  std::vector<double> seconds;
  for (const auto& it : v.at("per_iteration").as_array())
    seconds.push_back(it.at("seconds").to_number<double>());
  const auto* scheme = v.as_object().if_contains("scheme");
  return {scheme && scheme->is_string() ? std::string(scheme->as_string()) : "baseline",
          std::move(seconds)};
}

std::string read_token(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw core::input_error("cannot read --dashboard-token-file '" + path + "'");
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
    token.pop_back();
  if (token.empty()) throw core::input_error("--dashboard-token-file '" + path + "' is empty");
  return token;
}

int run(const ps_cli& o) {
  const nodes::scheme_spec spec = o.protocol.spec();
  const workload wl = make_workload(o.workload, o.protocol.workers, true);
  const auto& source = wl.source;
  const net::endpoint listen = net::parse_endpoint(o.listen);
  if (o.min_workers < 0 || o.min_workers > o.protocol.workers) {
    throw core::input_error("--min-workers must be between 0 and --workers");
  }

  core::optimizer opt(o.protocol.optimizer(), source->dimension());
  const nodes::wire_precision precision = o.protocol.precision();
  const double tolerance = exact_tolerance(precision);
  const bool exact_mode = o.protocol.mode == "exact";
  if (o.resume && o.checkpoint.empty()) throw core::input_error("--resume needs --checkpoint FILE");
  if (o.checkpoint_every < 1) throw core::input_error("--checkpoint-every must be at least 1");
  const std::string fingerprint =
      o.protocol.fingerprint(o.workload) + " d=" + std::to_string(source->dimension());
  Eigen::VectorXd initial = source->initial_parameters();
  std::uint64_t first_iteration = 0;
  if (o.resume) {
    const core::checkpoint c = core::read_checkpoint(o.checkpoint);
    if (c.fingerprint != fingerprint) {
      throw core::input_error("checkpoint '" + o.checkpoint +
                              "' belongs to another run:\n  checkpoint: " + c.fingerprint +
                              "\n  this run:   " + fingerprint);
    }
    if (c.model.size() != source->dimension()) {
      throw core::input_error("checkpoint '" + o.checkpoint + "' has a model of the wrong length");
    }
    opt.restore(c.optimizer_state);
    initial = c.model;
    first_iteration = c.iteration;
    std::printf("pgc ps: resuming from '%s' at iteration %llu\n", o.checkpoint.c_str(),
                static_cast<unsigned long long>(first_iteration));
  }
  if (first_iteration > o.protocol.iterations) {
    throw core::input_error("the checkpoint is at iteration " + std::to_string(first_iteration) +
                            ", beyond --iterations " + std::to_string(o.protocol.iterations));
  }

  std::mutex mutex;  // records_ are written on the decode pool and read on the io thread
  std::vector<iteration_record> records;
  iteration_record pending;
  double max_rel = 0;
  bool verified = true;

  std::optional<std::ofstream> csv;
  if (!o.csv.empty()) {
    // A resumed run appends to the log of the run it continues.
    const bool append = o.resume && std::filesystem::exists(o.csv) &&
                        std::filesystem::file_size(o.csv) > 0;
    csv.emplace(o.csv, append ? std::ios::app : std::ios::trunc);
    if (!*csv) throw core::input_error("cannot write --csv file '" + o.csv + "'");
    if (!append)
      *csv << "iteration,seconds,loss,test_accuracy,exact,epochs,chunks_used,chunks_processed,"
            "min_copies,workers_lost,expected_error,rel_error\n";
    *csv << std::setprecision(10);
  }

  boost::asio::io_context io;
  nodes::ps_options po;
  po.listen = listen;
  po.protocol.scheme = spec;
  po.protocol.mode = exact_mode ? nodes::signal_mode::exact : nodes::signal_mode::approximate;
  po.protocol.deadline = std::chrono::milliseconds(static_cast<long>(o.protocol.deadline * 1000));
  po.protocol.dimension = source->dimension();
  po.protocol.heartbeat = std::chrono::milliseconds(o.protocol.heartbeat_ms);
  po.protocol.precision = precision;
  po.run.iterations = o.protocol.iterations;
  po.run.min_workers = o.min_workers;
  // The cluster assembles fully before the first iteration; --min-workers lets it go on after
  // workers are lost for good.
  po.run.first_iteration_workers = o.protocol.workers;
  po.run.first_iteration = first_iteration;
  po.initial_model = initial;
  po.fingerprint = o.workload.fingerprint();
  po.shared_memory = !o.protocol.no_shared_memory;
  if (!o.secret_file.empty()) po.secret = net::read_secret_file(o.secret_file);
  po.tls = o.tls;  // checked (files, key against certificate) when the server is built
  po.run.on_shortfall = o.protocol.on_shortfall == "approx"  ? nodes::shortfall_policy::approximate
                    : o.protocol.on_shortfall == "stop" ? nodes::shortfall_policy::stop
                                                        : nodes::shortfall_policy::wait;
  if (!o.dashboard.empty()) po.dashboard = dashboard_endpoint(o.dashboard);
  if (!o.dashboard_token_file.empty()) po.dashboard_token = read_token(o.dashboard_token_file);
  if (!o.baseline_summary.empty()) po.baseline = read_baseline(o.baseline_summary);
  po.on_gradient = [&](std::uint64_t iteration, const Eigen::VectorXd& gradient, double expected,
                       Eigen::VectorXd& model) {
    iteration_record r;
    r.iteration = iteration;
    r.expected_error = expected;
    if (o.verify) {
      // The single-process reference: every chunk gradient summed at the same model.
      const Eigen::VectorXd reference = core::full_gradient(*source, model);
      r.rel_error = (gradient - reference).norm() / std::max(reference.norm(), 1e-300);
    }
    opt.step(model, gradient, 1.0 / static_cast<double>(source->samples()));
    if (wl.classifier) {
      // A classifier is scored on the test set; its training loss would cost a full pass.
      const core::evaluation e = wl.classifier->evaluate(model, *wl.test);
      r.loss = e.mean_loss;
      r.accuracy = e.accuracy;
    } else {
      r.loss = source->loss(model) / static_cast<double>(source->samples());
    }
    const std::lock_guard lock(mutex);
    pending = r;
  };
  nodes::parameter_server* server = nullptr;  // set below; on_iteration runs after start()
  // Checkpoints are written and fsync'ed on a thread of their own, one after the other: for a
  // big model that takes long enough that the io thread would miss heartbeats and workers would
  // drop the PS. A failed write stops the run (rethrown after the loop).
  boost::asio::thread_pool checkpoint_writer(1);
  std::exception_ptr checkpoint_failure;
  po.on_iteration = [&](std::uint64_t iteration, const nodes::iteration_stats& stats,
                        std::chrono::steady_clock::duration wall) {
    iteration_record r;
    {
      const std::lock_guard lock(mutex);
      r = pending;
    }
    r.iteration = iteration;
    r.stats = stats;
    r.seconds = std::chrono::duration<double>(wall).count();
    if (!std::isnan(r.rel_error)) {
      max_rel = std::max(max_rel, r.rel_error);
      // An exact decode in exact mode must match the single-process reference.
      if (exact_mode && stats.exact && !(r.rel_error <= tolerance)) verified = false;
    }
    const int min_copies =
        stats.copies.empty() ? 0 : *std::min_element(stats.copies.begin(), stats.copies.end());
    // Copies per chunk at the signal: the whole list for small clusters, the minimum otherwise.
    std::string copies = "min copies " + std::to_string(min_copies);
    if (!stats.copies.empty() && stats.copies.size() <= 32) {
      copies = "copies";
      for (int c : stats.copies)
        copies += " " + std::to_string(c);
    }
    std::printf(
        "iteration %llu: %.4f s, loss %.6g, epochs %u, %s, chunks used %lld of %lld processed, %s",
        static_cast<unsigned long long>(iteration), r.seconds, r.loss, stats.epochs,
        stats.exact ? "exact" : "approximate", stats.chunks_used, stats.chunks_processed,
        copies.c_str());
    if (!std::isnan(r.accuracy)) std::printf(", test accuracy %.2f%%", 100.0 * r.accuracy);
    if (!std::isnan(r.rel_error)) std::printf(", rel error %.2e", r.rel_error);
    if (!stats.exact) std::printf(", expected squared error %.3g", r.expected_error);
    if (stats.workers_lost > 0) std::printf(", workers lost %d", stats.workers_lost);
    std::printf("\n");
    std::fflush(stdout);
    if (csv) {
      auto& f = *csv;
      f << iteration << ',' << r.seconds << ',' << r.loss << ',';
      if (!std::isnan(r.accuracy)) f << r.accuracy;
      f << ',' << (stats.exact ? 1 : 0) << ',' << stats.epochs << ','
        << stats.chunks_used << ',' << stats.chunks_processed << ',' << min_copies << ','
        << stats.workers_lost << ',' << r.expected_error << ',';
      if (!std::isnan(r.rel_error)) f << r.rel_error;
      f << '\n' << std::flush;  // one line per iteration, readable while the run goes on
    }
    r.rss_bytes = resident_bytes();
    // Kept for the summary, which needs no per-chunk counts: a long run's records stay small.
    r.stats.copies.clear();
    r.stats.copies.shrink_to_fit();
    records.push_back(r);
    server->annotate(iteration, "loss", r.loss);
    if (!std::isnan(r.accuracy)) server->annotate(iteration, "accuracy", r.accuracy);
    if (!std::isnan(r.rel_error)) server->annotate(iteration, "rel_error", r.rel_error);
    const std::uint64_t done = iteration + 1;
    if (!o.checkpoint.empty() &&
        (done % o.checkpoint_every == 0 || done == o.protocol.iterations)) {
      // The step of `iteration` is applied and the next one has not started: model and
      // optimizer agree, and this copy of them is what gets written. The file is replaced
      // atomically (temporary, fsync, rename), so a crash loses at most the iterations since
      // the last checkpoint that was complete.
      auto c = std::make_shared<core::checkpoint>();
      c->iteration = done;
      c->model = server->model();
      c->optimizer_state = opt.state();
      c->fingerprint = fingerprint;
      boost::asio::post(checkpoint_writer, [&, c] {
        std::exception_ptr error;
        try {
          core::write_checkpoint(o.checkpoint, *c);
        } catch (...) {
          error = std::current_exception();
        }
        boost::asio::post(io, [&, error, at = c->iteration] {
          if (error) {
            if (!checkpoint_failure) checkpoint_failure = error;
            server->stop();
          } else {
            server->note("checkpoint of iteration " + std::to_string(at) + " written");
          }
        });
      });
    }
  };
  std::exception_ptr failure;
  // Not io.stop(): the Shutdown messages still queued to the workers must go out first.
  bool done = false;
  po.on_done = [&](std::exception_ptr e) {
    failure = e;
    done = true;
  };

  nodes::parameter_server ps(io.get_executor(), std::move(po));
  server = &ps;
  const std::uint16_t port = ps.start();
  std::printf(
      "pgc ps: listening on %s (scheme %s, mode %s, N = %d, load %d, ell = %d, d = %d, %ld "
      "training samples%s%s)\n",
      net::endpoint{listen.host, port}.to_string().c_str(), o.protocol.scheme.c_str(),
      o.protocol.mode.c_str(), o.protocol.workers, o.protocol.load, o.protocol.ell,
      source->dimension(), source->samples(),
      wl.test ? (", " + std::to_string(wl.test->samples()) + " test samples").c_str() : "",
      precision == nodes::wire_precision::f32 ? ", float32 wire" : "");
  if (!o.tls.cert_file.empty()) {
    std::printf("pgc ps: workers connect over TLS only%s\n",
                o.tls.ca_file.empty() ? ""
                                      : ", with a client certificate signed by --tls-ca "
                                        "(mutual TLS)");
  }
  if (ps.dashboard_port() != 0) {
    std::printf("pgc ps: dashboard on http://%s/\n",
                net::endpoint{dashboard_endpoint(o.dashboard).host, ps.dashboard_port()}
                    .to_string()
                    .c_str());
  }
  std::fflush(stdout);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) ps.stop();
  });
  while (!done && io.run_one() > 0) {
  }
  signals.cancel();
  // The last checkpoint is on disk before the PS says it is done.
  checkpoint_writer.join();
  // Let the channels drain (Shutdown to every worker) and close; a peer that does not read
  // cannot hold the exit for more than a moment.
  io.run_for(std::chrono::seconds(2));

  if (!o.summary.empty())
    write_summary(o.summary, o, records, max_rel, verified, first_iteration,
                  ps.shared_memory_links());
  if (checkpoint_failure) std::rethrow_exception(checkpoint_failure);
  if (failure) std::rethrow_exception(failure);
  if (o.verify) {
    std::printf("pgc ps: %zu iterations, max relative error %.2e against the reference, %s\n",
                records.size(), max_rel, verified ? "verified" : "VERIFICATION FAILED");
  } else {
    std::printf("pgc ps: %zu iterations\n", records.size());
  }
  if (o.verify && !verified) return 1;
  return records.size() == o.protocol.iterations - first_iteration ? 0 : 1;
}

}  // namespace

command add_ps_command(CLI::App& app) {
  auto o = std::make_shared<ps_cli>();
  auto* sub = app.add_subcommand("ps", "Run a parameter server");
  o->protocol.add_to(*sub);
  o->workload.add_to(*sub);
  sub->add_option("--listen", o->listen, "ADDR:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  sub->add_option(
      "--min-workers", o->min_workers,
      "Workers needed to start an iteration after the first, which waits for all (0: all)");
  sub->add_flag("--verify", o->verify,
                "Check every decoded gradient against a single-process reference (exit 1 if an "
                "exact one is off by more than 1e-9 relative, 1e-5 with --wire-precision f32)");
  sub->add_option("--summary", o->summary, "Write a JSON summary to this file");
  sub->add_option("--csv", o->csv,
                  "Write one CSV line per iteration to this file (appended to with --resume)");
  sub->add_option("--checkpoint", o->checkpoint,
                  "Write the model and optimizer state to this file every --checkpoint-every "
                  "iterations and at the end (atomically: temporary file, then rename)");
  sub->add_option("--checkpoint-every", o->checkpoint_every, "Iterations between checkpoints")
      ->capture_default_str();
  sub->add_flag("--resume", o->resume,
                "Start from the --checkpoint file (it must belong to the same run)");
  sub->add_option("--dashboard", o->dashboard,
                  "Serve the live dashboard (HTTP + WebSocket) on ADDR:PORT, or on 127.0.0.1:PORT "
                  "for a bare PORT (port 0: any free)");
  sub->add_option("--dashboard-token-file", o->dashboard_token_file,
                  "Require the token in this file on every dashboard request");
  sub->add_option("--secret-file", o->secret_file,
                  "Workers must prove they hold the shared secret in this file (HMAC-SHA256 "
                  "challenge-response); others are refused");
  sub->add_option("--tls-cert", o->tls.cert_file,
                  "Accept workers over TLS only, with this PEM certificate (chain); needs "
                  "--tls-key");
  sub->add_option("--tls-key", o->tls.key_file, "The PEM private key of --tls-cert");
  sub->add_option("--tls-ca", o->tls.ca_file,
                  "Mutual TLS: every worker must present a certificate signed by this PEM CA");
  sub->add_option("--baseline-summary", o->baseline_summary,
                  "Show this --summary file's iteration times on the dashboard beside ours");
  return [o] { return run(*o); };
}

}  // namespace pgc::tools
