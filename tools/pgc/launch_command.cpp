// pgc launch: a parameter server and N worker processes on this machine, with stragglers.
#include <algorithm>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "cluster_options.hpp"
#include "commands.hpp"
#include "hostfile.hpp"
#include "pgc/core/error.hpp"
#include "pgc/launch/prefix_writer.hpp"
#include "pgc/launch/process_group.hpp"
#include "pgc/net/endpoint.hpp"
#include "pgc/net/tls.hpp"
#include "pgc/nodes/delay_model.hpp"
#include "rank_env.hpp"

namespace pgc::tools {
namespace {

struct launch_cli {
  protocol_options protocol;
  workload_options workload;
  std::string listen = "127.0.0.1:0";
  int slow = 0;
  double slowdown = 4.0;
  std::string delay_model = "none";
  int fail = 0;
  bool verify = false;
  std::string summary;
  std::string csv;
  double grace = 3.0;
  std::string compare;
  std::string dashboard;
  std::string dashboard_token_file;
  std::string secret_file;
  // TLS: the PS's certificate and key, the CA its workers verify it with (and the name they
  // expect, when not the address they connect to).
  net::tls_options tls;
  std::string checkpoint;
  std::uint64_t checkpoint_every = 10;
  bool resume = false;
  remote_options remote;  // --hostfile: the workers on other hosts, over ssh
};

// What one cluster run gets besides the protocol: where its summary goes, the dashboard address
// (the second run of --compare reuses the port the first one bound, so an open page follows),
// the summary of the run before it for the dashboard's comparison, and the checkpoint options.
struct run_plan {
  std::string summary;
  std::string dashboard;
  std::string baseline_summary;
  bool checkpoints = true;
};

std::string self_executable() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) throw std::runtime_error("cannot find the pgc executable (/proc/self/exe)");
  return std::string(path, static_cast<std::size_t>(n));
}

// "... listening on HOST:PORT ..." -> the endpoint the PS really bound.
net::endpoint listening_endpoint(const std::string& line) {
  const std::string key = "listening on ";
  const auto at = line.find(key);
  if (at == std::string::npos) throw std::runtime_error("no address in '" + line + "'");
  const auto begin = at + key.size();
  const auto end = line.find(' ', begin);
  return net::parse_endpoint(line.substr(begin, end == std::string::npos ? end : end - begin));
}

// One cluster run under `protocol`; returns the supervisor's exit code.
int run_cluster(const launch_cli& o, const protocol_options& protocol, const run_plan& plan,
                std::string* dashboard_bound = nullptr) {
  const std::string& summary_path = plan.summary;
  const int n = protocol.workers;
  const std::string self = self_executable();

  std::vector<std::string> ps_argv{self, "ps", "--listen", o.listen};
  for (auto& a : protocol.arguments())
    ps_argv.push_back(a);
  for (auto& a : o.workload.arguments())
    ps_argv.push_back(a);
  if (o.fail > 0) {
    ps_argv.push_back("--min-workers");
    ps_argv.push_back(std::to_string(n - o.fail));
  }
  if (o.verify) ps_argv.push_back("--verify");
  if (!summary_path.empty()) {
    ps_argv.push_back("--summary");
    ps_argv.push_back(summary_path);
  }
  if (!o.csv.empty()) {
    ps_argv.push_back("--csv");
    // With --compare, each scheme gets its own file.
    ps_argv.push_back(o.compare.empty() ? o.csv : o.csv + "." + protocol.scheme + ".csv");
  }
  const auto forward = [&ps_argv](const char* flag, const std::string& value) {
    if (value.empty()) return;
    ps_argv.push_back(flag);
    ps_argv.push_back(value);
  };
  forward("--dashboard", plan.dashboard);
  forward("--dashboard-token-file", o.dashboard_token_file);
  forward("--secret-file", o.secret_file);
  forward("--tls-cert", o.tls.cert_file);
  forward("--tls-key", o.tls.key_file);
  forward("--baseline-summary", plan.baseline_summary);
  if (plan.checkpoints && !o.checkpoint.empty()) {
    forward("--checkpoint", o.checkpoint);
    forward("--checkpoint-every", std::to_string(o.checkpoint_every));
    if (o.resume) ps_argv.push_back("--resume");
  }
  std::vector<launch::command> initial{{"ps", ps_argv, {}, true, true}};

  // The last `fail` workers crash in iteration 1; the `slow` ones are spread evenly over the
  // others (adjacent stragglers in a cyclic assignment would share their chunks).
  std::vector<bool> is_slow(static_cast<std::size_t>(n), false);
  for (int i = 0; i < o.slow; ++i)
    is_slow[static_cast<std::size_t>(i * (n - o.fail) / o.slow)] = true;
  std::optional<remote_plan> remote;
  if (o.remote.enabled()) remote.emplace(o.remote, net::parse_endpoint(o.listen), n);
  const auto workers = [&](const std::string& line) {
    const net::endpoint ps = remote ? remote->ps_address() : listening_endpoint(line);
    std::vector<launch::command> out;
    for (int w = 0; w < n; ++w) {
      std::vector<std::string> argv{self,
                                    "worker",
                                    "--connect",
                                    ps.to_string(),
                                    "--name",
                                    "w" + std::to_string(w),
                                    "--id",
                                    std::to_string(w),
                                    "--chunks",
                                    std::to_string(n),
                                    "--heartbeat-ms",
                                    std::to_string(protocol.heartbeat_ms)};
      for (auto& a : o.workload.arguments())
        argv.push_back(a);
      if (!o.secret_file.empty()) {
        argv.push_back("--secret-file");
        argv.push_back(o.secret_file);
      }
      if (!o.tls.ca_file.empty()) {
        argv.push_back("--tls-ca");
        argv.push_back(o.tls.ca_file);
      }
      if (!o.tls.server_name.empty()) {
        argv.push_back("--tls-server-name");
        argv.push_back(o.tls.server_name);
      }
      const bool fails = w >= n - o.fail;
      const bool slow = is_slow[static_cast<std::size_t>(w)];
      if (slow) {
        argv.push_back("--slowdown");
        argv.push_back(exact_text(o.slowdown));
      }
      if (o.delay_model != "none") {
        // Every worker draws its own delays: the seed is its index.
        argv.push_back("--delay-model");
        argv.push_back(o.delay_model);
        argv.push_back("--delay-seed");
        argv.push_back(std::to_string(w));
      }
      if (fails) {
        argv.push_back("--fail-at");
        argv.push_back("1:0");
        argv.push_back("--no-reconnect");
      }
      if (remote) argv = remote->remote_argv(w, argv);
      out.push_back({"w" + std::to_string(w), argv, {}, !fails, false});
    }
    return out;
  };
  if (o.remote.dry_run) {
    auto all = workers("");
    all.insert(all.begin(), initial.front());
    print_dry_run(all);
    return 0;
  }

  boost::asio::io_context io;
  launch::group_options go;
  go.grace = std::chrono::milliseconds(static_cast<long>(o.grace * 1000));
  // Every name is known now: fix the prefix column so the lines align from the first one.
  const std::size_t width =
      std::max<std::size_t>(go.self_name.size(), 1 + std::to_string(n - 1).size());
  auto writer = std::make_shared<launch::prefix_writer>(1, width);
  go.sink = [writer, dashboard_bound](std::string_view name, std::string_view line) {
    // "pgc ps: dashboard on http://HOST:PORT/": remember where, for the next run.
    const std::string_view key = "dashboard on http://";
    if (dashboard_bound && name == "ps") {
      if (const auto at = line.find(key); at != std::string_view::npos) {
        auto address = line.substr(at + key.size());
        address = address.substr(0, address.find('/'));
        *dashboard_bound = std::string(address);
      }
    }
    writer->write(name, line);
  };
  launch::process_group group(io.get_executor(), go);
  launch::group_summary summary;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      io, group.run(std::move(initial), launch::readiness_gate{"ps", "listening on"}, workers),
      [&](std::exception_ptr e, launch::group_summary s) {
        failure = e;
        summary = std::move(s);
      });
  io.run();
  if (failure) std::rethrow_exception(failure);
  std::cout << "pgc launch: " << protocol.scheme << ": " << summary.message << '\n';
  return summary.exit_code();
}

std::pair<double, double> iteration_seconds(const std::string& summary_path) {
  std::ifstream in(summary_path);
  std::ostringstream text;
  text << in.rdbuf();
  const auto v = boost::json::parse(text.str()).as_object();
  return {v.at("mean_iteration_seconds").to_number<double>(),
          v.at("median_iteration_seconds").to_number<double>()};
}

int run(const launch_cli& o) {
  (void)o.protocol.spec();  // validate before starting anything
  const int n = o.protocol.workers;
  if (o.slow < 0 || o.fail < 0 || o.slow + o.fail > n) {
    throw core::input_error(
        "--slow and --fail must be non-negative and add up to at most --workers");
  }
  if (o.slow > 0 && !(o.slowdown >= 1.0)) throw core::input_error("--slowdown must be at least 1");
  if (!(o.grace > 0)) throw core::input_error("--grace must be positive");
  try {
    (void)nodes::delay_model::parse(o.delay_model);
  } catch (const core::input_error& e) {
    throw core::input_error(std::string("--delay-model: ") + e.what());
  }
  (void)net::parse_endpoint(o.listen);
  if (!o.dashboard.empty()) (void)dashboard_endpoint(o.dashboard);
  if (o.resume && o.checkpoint.empty()) throw core::input_error("--resume needs --checkpoint FILE");
  if (!o.tls.cert_file.empty() || !o.tls.key_file.empty() || !o.tls.ca_file.empty() ||
      !o.tls.server_name.empty()) {
    if (o.tls.cert_file.empty() || o.tls.key_file.empty() || o.tls.ca_file.empty()) {
      throw core::input_error(
          "TLS needs --tls-cert and --tls-key (the PS) and --tls-ca (the workers verify the PS "
          "with it)");
    }
    // Bad files fail here, before any process starts.
    net::tls_options ps = o.tls;
    ps.ca_file.clear();  // the PS of pgc launch asks no client certificates
    (void)net::make_server_context(ps);
    net::tls_options worker = o.tls;
    worker.cert_file.clear();
    worker.key_file.clear();
    (void)net::make_client_context(worker);
  }
  if (o.remote.dry_run && !o.remote.enabled()) {
    throw core::input_error("--dry-run needs --hostfile");
  }
  if (const auto rank = mpi_rank_env()) {
    throw core::input_error("started as rank " + std::to_string(rank->rank) + " of " +
                            std::to_string(rank->size) + " (" + rank->source +
                            "): every rank would start a cluster of its own; use pgc rank");
  }
  if (o.compare.empty() || o.remote.dry_run) {
    return run_cluster(o, o.protocol, {o.summary, o.dashboard, "", true});
  }

  // --compare: the same cluster, stragglers and data once more under another scheme.
  protocol_options other = o.protocol;
  other.scheme = o.compare;
  (void)other.spec();
  const std::string stem =
      o.summary.empty()
          ? (std::filesystem::temp_directory_path() / ("pgc-launch-" + std::to_string(::getpid())))
                .string()
          : o.summary;
  const std::string first =
      o.summary.empty() ? stem + "-" + o.protocol.scheme + ".json" : o.summary;
  const std::string second = stem + "-" + o.compare + ".json";
  std::string dashboard = o.dashboard;
  if (const int rc = run_cluster(o, o.protocol, {first, o.dashboard, "", true}, &dashboard);
      rc != 0) {
    return rc;
  }
  // The comparison run neither writes nor resumes the checkpoint of the first.
  if (const int rc = run_cluster(o, other, {second, dashboard, first, false}); rc != 0) return rc;
  const auto [mean_a, median_a] = iteration_seconds(first);
  const auto [mean_b, median_b] = iteration_seconds(second);
  std::printf(
      "pgc launch: seconds per iteration, median (mean): %s %.4f (%.4f), %s %.4f (%.4f); "
      "%s / %s = %.3f (%.3f)\n",
      o.protocol.scheme.c_str(), median_a, mean_a, o.compare.c_str(), median_b, mean_b,
      o.protocol.scheme.c_str(), o.compare.c_str(), median_a / median_b, mean_a / mean_b);
  if (o.summary.empty()) {
    std::remove(first.c_str());
    std::remove(second.c_str());
  }
  return 0;
}

}  // namespace

command add_launch_command(CLI::App& app) {
  auto o = std::make_shared<launch_cli>();
  auto* sub =
      app.add_subcommand("launch", "Start a parameter server and N workers on this machine");
  o->protocol.add_to(*sub);
  o->workload.add_to(*sub);
  sub->add_option("--listen", o->listen, "ADDR:PORT for the PS (port 0: any free port)")
      ->capture_default_str();
  sub->add_option("--slow", o->slow, "Workers slowed down by --slowdown")->capture_default_str();
  sub->add_option("--slowdown", o->slowdown, "Slowdown factor of the slow workers")
      ->capture_default_str();
  sub->add_option("--delay-model", o->delay_model,
                  "Random extra delay per chunk on every worker (seeded by its index): none | "
                  "fixed:MS | exp:MEAN_MS | pareto:SCALE_MS:SHAPE | bimodal:P:F")
      ->capture_default_str();
  sub->add_option("--fail", o->fail, "Workers that crash in iteration 1 and do not come back")
      ->capture_default_str();
  sub->add_flag("--verify", o->verify, "The PS checks every decoded gradient against a reference");
  sub->add_option("--summary", o->summary, "The PS writes a JSON summary to this file");
  sub->add_option("--csv", o->csv,
                  "The PS writes one CSV line per iteration to this file (with --compare: "
                  "FILE.SCHEME.csv per scheme)");
  sub->add_option(
         "--compare", o->compare,
         "Run the same cluster again under this scheme and print the ratio of iteration times")
      ->check(CLI::IsMember({"proposed", "original", "frc", "ignore", "uncoded"}));
  sub->add_option("--dashboard", o->dashboard,
                  "The PS serves the live dashboard on ADDR:PORT, or 127.0.0.1:PORT for a bare PORT "
                  "(port 0: any free port; with --compare both runs use the same port)");
  sub->add_option("--dashboard-token-file", o->dashboard_token_file,
                  "The dashboard requires the token in this file");
  sub->add_option("--secret-file", o->secret_file,
                  "PS and workers authenticate each other with the shared secret in this file");
  sub->add_option("--tls-cert", o->tls.cert_file,
                  "PS and workers talk TLS: the PS's PEM certificate (needs --tls-key, --tls-ca)");
  sub->add_option("--tls-key", o->tls.key_file, "The PEM private key of --tls-cert");
  sub->add_option("--tls-ca", o->tls.ca_file,
                  "The PEM CA the workers verify the PS certificate with");
  sub->add_option("--tls-server-name", o->tls.server_name,
                  "The name the workers expect in the PS certificate (default: the address they "
                  "connect to)");
  sub->add_option("--checkpoint", o->checkpoint,
                  "The PS checkpoints to this file every --checkpoint-every iterations");
  sub->add_option("--checkpoint-every", o->checkpoint_every, "Iterations between checkpoints")
      ->capture_default_str();
  sub->add_flag("--resume", o->resume, "The PS starts from the --checkpoint file");
  sub->add_option("--grace", o->grace, "Seconds between SIGTERM and SIGKILL when stopping")
      ->capture_default_str();
  o->remote.add_to(*sub);
  return [o] { return run(*o); };
}

}  // namespace pgc::tools
