// pgc ps: run a parameter server until the configured iterations are done.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <mutex>
#include <numeric>
#include <optional>
#include <string>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <boost/system/system_error.hpp>

#include "commands.hpp"
#include "options/auth_options.hpp"
#include "options/dashboard_options.hpp"
#include "options/logging_options.hpp"
#include "options/optimizer_options.hpp"
#include "options/option_helpers.hpp"
#include "options/output_options.hpp"
#include "options/protocol_options.hpp"
#include "options/tls_options.hpp"
#include "options/workload_options.hpp"
#include "pgc/core/checkpoint.hpp"
#include "pgc/core/classifier.hpp"
#include "pgc/core/error.hpp"
#include "pgc/core/logger.hpp"
#include "pgc/core/optimizer.hpp"
#include "pgc/net/endpoint.hpp"
#include "pgc/nodes/parameter_server.hpp"
#include "ps_address.hpp"
#include "ready_signal.hpp"

namespace pgc::tools {
namespace {

struct ps_cli {
  protocol_options protocol;
  optimizer_options optimizer;
  workload_options workload;
  output_options output;
  dashboard_options dashboard;
  auth_options auth;
  tls_options tls{tls_role::server};
  logging_options logging;
  std::string listen = "127.0.0.1:0";
  int min_workers = 0;
  int ready_fd = -1;
  std::string ready_file;

  void add_to(CLI::App& app) {
    protocol.add_to(app);
    optimizer.add_to(app);
    workload.add_to(app);
    app.add_option("--listen", listen, "ADDR:PORT to listen on (port 0: any free port)")
        ->capture_default_str();
    app.add_option(
           "--min-workers", min_workers,
           "Workers needed to start an iteration after the first, which waits for all (0: all)")
        ->check(at_least(0));
    output.add_to(app);
    dashboard.add_to(app);
    auth.add_to(app);
    tls.add_to(app);
    logging.add_to(app);
    app.add_option("--ready-fd", ready_fd,
                   "Once listening, write {\"listen\":\"HOST:PORT\",\"dashboard\":...,"
                   "\"pid\":...} as one line to this open descriptor and close it (for "
                   "supervisors; pgc launch and rank use it)")
        ->check(at_least(0));
    app.add_option("--ready-file", ready_file,
                   "Once listening, write the same line to this file (atomically)");
  }

  // Throws core::input_error naming the flag; reads no data set.
  void validate() const {
    protocol.validate();
    optimizer.validate();
    output.validate();
    dashboard.validate();
    auth.validate();
    tls.validate();
    (void)parse_listen(listen, "--listen");
    if (min_workers < 0 || min_workers > protocol.workers) {
      throw core::input_error("--min-workers must be between 0 and --workers");
    }
    check_ready_fd(ready_fd);
    check_writable(ready_file, "--ready-file");
    output.check_paths();
  }
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
  out["scheme"] = std::string(coding::to_string(o.protocol.scheme));
  out["first_iteration"] = first_iteration;
  out["mode"] = std::string(core::name_of(nodes::signal_mode_names(), o.protocol.mode));
  out["workers"] = o.protocol.workers;
  out["load"] = o.protocol.load;
  out["ell"] = o.protocol.ell;
  out["iterations"] = records.size();  // run by this process (after first_iteration)
  // null without --verify: nothing was compared.
  if (o.output.verify) {
    out["max_rel_error"] = max_rel;
  } else {
    out["max_rel_error"] = nullptr;
  }
  out["verified"] = o.output.verify ? boost::json::value(verified) : boost::json::value(nullptr);
  // With f32 the decode carries the wire's rounding: max_rel_error (with --verify) measures it.
  out["wire_precision"] =
      std::string(core::name_of(nodes::wire_precision_names(), o.protocol.wire_precision));
  out["exact_tolerance"] = exact_tolerance(o.protocol.wire_precision);
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

// What a checkpoint must match to be resumed: the flags that change the numbers (the workload,
// the protocol's and the optimizer's, as forwarded) and d.
std::string checkpoint_fingerprint(const ps_cli& o, int dimension) {
  std::string out;
  for (const auto& group :
       {o.workload.arguments(), o.protocol.fingerprint_arguments(), o.optimizer.arguments()}) {
    for (const auto& word : group)
      out += word + ' ';
  }
  return out + "d=" + std::to_string(dimension);
}

// The one place where the option groups become the node's options (the callbacks are run()'s).
// `node_log` has no prefix of its own: the PS says "ps: ..." itself.
nodes::ps_options make_ps_options(const ps_cli& o, int dimension, Eigen::VectorXd initial_model,
                                  std::uint64_t first_iteration, const core::logger& node_log) {
  const nodes::protocol_config protocol = o.protocol.config(dimension);
  nodes::ps_options po;
  po.listen = parse_listen(o.listen, "--listen");
  po.protocol = protocol;
  po.run.iterations = o.protocol.iterations;
  po.run.min_workers = o.min_workers;
  // The cluster assembles fully before the first iteration; --min-workers lets it go on after
  // workers are lost for good.
  po.run.first_iteration_workers = o.protocol.workers;
  po.run.first_iteration = first_iteration;
  po.run.on_shortfall = o.protocol.on_shortfall;
  po.fingerprint = o.workload.fingerprint();
  po.initial_model = std::move(initial_model);
  po.shared_memory = !o.protocol.no_shared_memory;
  po.secret = o.auth.secret();
  po.tls = o.tls.node();  // checked (files, key against certificate) when the server is built
  po.dashboard = o.dashboard.endpoint();
  po.dashboard_token = o.dashboard.token();
  po.baseline = o.dashboard.baseline();
  po.log = node_log;
  return po;
}

// ps.start(), with a bind failure named by its address instead of a bare system error.
std::uint16_t start_listening(nodes::parameter_server& ps, const ps_cli& o) {
  try {
    return ps.start();
  } catch (const boost::system::system_error& e) {
    throw core::input_error("cannot listen on " + o.listen + ": " + e.code().message());
  } catch (const std::system_error& e) {
    // The PS names its address ("cannot listen on HOST:PORT: ...").
    if (std::string_view(e.what()).starts_with("cannot listen on")) throw core::input_error(e.what());
    // The dashboard's acceptor (net::status_server) names its address in the message.
    if (o.dashboard.endpoint() &&
        std::string_view(e.what()).find("dashboard") != std::string_view::npos) {
      throw core::input_error("cannot serve the dashboard on " +
                              o.dashboard.endpoint()->to_string() + ": " + e.code().message());
    }
    throw;
  }
}

int run(const ps_cli& o) {
  o.validate();
  const core::logger log = o.logging.make_logger("pgc ps");
  const net::endpoint listen = parse_listen(o.listen, "--listen");
  if (!o.auth.enabled() && !o.tls.enabled() && !is_loopback_host(listen.host)) {
    log.warn("bound to " + listen.host +
             " without --secret-file or TLS: nothing authenticates the workers; anyone who "
             "reaches the port can join");
  }
  const workload wl = make_workload(o.workload, o.protocol.workers, true);
  const auto& source = wl.source;

  core::optimizer opt(o.optimizer.config(), source->dimension());
  const nodes::wire_precision precision = o.protocol.wire_precision;
  const double tolerance = exact_tolerance(precision);
  const bool exact_mode = o.protocol.mode == nodes::signal_mode::exact;
  const std::string fingerprint = checkpoint_fingerprint(o, source->dimension());
  Eigen::VectorXd initial = source->initial_parameters();
  std::uint64_t first_iteration = 0;
  const std::string& checkpoint_path = o.output.checkpoint;
  if (o.output.resume) {
    const core::checkpoint c = core::read_checkpoint(checkpoint_path);
    if (c.fingerprint != fingerprint) {
      throw core::input_error("checkpoint '" + checkpoint_path +
                              "' belongs to another run:\n  checkpoint: " + c.fingerprint +
                              "\n  this run:   " + fingerprint);
    }
    if (c.model.size() != source->dimension()) {
      throw core::input_error("checkpoint '" + checkpoint_path +
                              "' has a model of the wrong length");
    }
    opt.restore(c.optimizer_state);
    initial = c.model;
    first_iteration = c.iteration;
    log.info("resuming from '" + checkpoint_path + "' at iteration " +
             std::to_string(first_iteration));
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
  if (const std::string& path = o.output.csv; !path.empty()) {
    // A resumed run appends to the log of the run it continues.
    const bool append =
        o.output.resume && std::filesystem::exists(path) && std::filesystem::file_size(path) > 0;
    csv.emplace(path, append ? std::ios::app : std::ios::trunc);
    if (!*csv) throw core::input_error("cannot write --csv file '" + path + "'");
    if (!append)
      *csv << "iteration,seconds,loss,test_accuracy,exact,epochs,chunks_used,chunks_processed,"
              "min_copies,workers_lost,expected_error,rel_error\n";
    *csv << std::setprecision(10);
  }

  boost::asio::io_context io;
  nodes::ps_options po = make_ps_options(o, source->dimension(), std::move(initial),
                                         first_iteration, o.logging.make_logger({}));
  po.on_gradient = [&](std::uint64_t iteration, const Eigen::VectorXd& gradient, double expected,
                       Eigen::VectorXd& model) {
    iteration_record r;
    r.iteration = iteration;
    r.expected_error = expected;
    if (o.output.verify) {
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
    if (!checkpoint_path.empty() &&
        (done % o.output.checkpoint_every == 0 || done == o.protocol.iterations)) {
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
          core::write_checkpoint(checkpoint_path, *c);
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
  const std::uint16_t port = start_listening(ps, o);
  const net::endpoint bound{listen.host, port};
  const std::string scheme(coding::to_string(o.protocol.scheme));
  const std::string mode(core::name_of(nodes::signal_mode_names(), o.protocol.mode));
  log.info("listening on " + bound.to_string() + " (scheme " + scheme + ", mode " + mode +
           ", N = " + std::to_string(o.protocol.workers) + ", load " +
           std::to_string(o.protocol.load) + ", ell = " + std::to_string(o.protocol.ell) +
           ", d = " + std::to_string(source->dimension()) + ", " +
           std::to_string(source->samples()) + " training samples" +
           (wl.test ? ", " + std::to_string(wl.test->samples()) + " test samples" : "") +
           (precision == nodes::wire_precision::f32 ? ", float32 wire" : "") + ")");
  if (!o.tls.cert_file.empty()) {
    log.info(std::string("workers connect over TLS only") +
             (o.tls.ca_file.empty() ? ""
                                    : ", with a client certificate signed by --tls-ca "
                                      "(mutual TLS)"));
  }
  ready_signal ready{bound, std::nullopt, ::getpid()};
  if (ps.dashboard_port() != 0) {
    ready.dashboard = net::endpoint{o.dashboard.endpoint()->host, ps.dashboard_port()};
    log.info("dashboard on http://" + ready.dashboard->to_string() + "/");
  }
  if (o.ready_fd >= 0) write_ready_fd(o.ready_fd, ready);
  if (!o.ready_file.empty()) write_ready_file(o.ready_file, ready);

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

  if (!o.output.summary.empty())
    write_summary(o.output.summary, o, records, max_rel, verified, first_iteration,
                  ps.shared_memory_links());
  if (checkpoint_failure) std::rethrow_exception(checkpoint_failure);
  if (failure) std::rethrow_exception(failure);
  if (o.output.verify) {
    std::printf("pgc ps: %zu iterations, max relative error %.2e against the reference, %s\n",
                records.size(), max_rel, verified ? "verified" : "VERIFICATION FAILED");
  } else {
    std::printf("pgc ps: %zu iterations\n", records.size());
  }
  if (o.output.verify && !verified) return 1;
  return records.size() == o.protocol.iterations - first_iteration ? 0 : 1;
}

}  // namespace

command add_ps_command(CLI::App& app) {
  auto o = std::make_shared<ps_cli>();
  auto* sub = app.add_subcommand("ps", "Run a parameter server");
  o->add_to(*sub);
  return [o] { return run(*o); };
}

}  // namespace pgc::tools
