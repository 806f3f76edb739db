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

#include "commands.hpp"
#include "hostfile.hpp"
#include "options/auth_options.hpp"
#include "options/dashboard_options.hpp"
#include "options/logging_options.hpp"
#include "options/optimizer_options.hpp"
#include "options/option_helpers.hpp"
#include "options/output_options.hpp"
#include "options/protocol_options.hpp"
#include "options/tls_options.hpp"
#include "options/workload_options.hpp"
#include "pgc/core/error.hpp"
#include "pgc/core/logger.hpp"
#include "pgc/launch/prefix_writer.hpp"
#include "pgc/launch/process_group.hpp"
#include "pgc/net/endpoint.hpp"
#include "pgc/nodes/delay_model.hpp"
#include "ps_address.hpp"
#include "rank_env.hpp"
#include "ready_signal.hpp"

namespace pgc::tools {
namespace {

struct launch_cli {
  protocol_options protocol;
  optimizer_options optimizer;
  workload_options workload;
  output_options output;
  dashboard_options dashboard;
  auth_options auth;
  // The PS's certificate and key, the CA its workers verify it with (and the name they expect,
  // when not the address they connect to).
  tls_options tls{tls_role::cluster};
  logging_options logging;
  std::string listen = "127.0.0.1:0";
  int slow = 0;
  double slowdown = 4.0;
  std::string delay_model = "none";
  int fail = 0;
  double grace = 3.0;
  coding::scheme_kind compare = coding::scheme_kind::proposed;
  CLI::Option* compare_option = nullptr;  // set: --compare was given
  remote_options remote;                  // --hostfile: the workers on other hosts, over ssh

  void add_to(CLI::App& app);
  // Throws core::input_error naming the flag; starts nothing.
  void validate() const;
  bool comparing() const { return compare_option != nullptr && compare_option->count() > 0; }
};

// What one cluster run gets besides the protocol: its output files (the summary of each run of
// --compare goes to a file of its own), its dashboard (the second run of --compare reuses the
// port the first one bound, so an open page follows, and shows the first run's times beside its
// own), and whether it writes (and resumes) the checkpoint.
struct run_plan {
  output_options output;
  dashboard_options dashboard;
};

std::string self_executable() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) throw std::runtime_error("cannot find the pgc executable (/proc/self/exe)");
  return std::string(path, static_cast<std::size_t>(n));
}

void append(std::vector<std::string>& to, const std::vector<std::string>& words) {
  to.insert(to.end(), words.begin(), words.end());
}

// One cluster run under `protocol`; returns the supervisor's exit code. `dashboard_bound` gets
// the dashboard address the PS bound (from its readiness line).
int run_cluster(const launch_cli& o, const protocol_options& protocol, const run_plan& plan,
                std::string* dashboard_bound = nullptr) {
  const int n = protocol.workers;
  const std::string self = self_executable();

  std::vector<std::string> ps_argv{self, "ps", "--listen", o.listen};
  append(ps_argv, protocol.arguments());
  append(ps_argv, o.optimizer.arguments());
  append(ps_argv, o.workload.arguments());
  if (o.fail > 0) {
    ps_argv.push_back("--min-workers");
    ps_argv.push_back(std::to_string(n - o.fail));
  }
  append(ps_argv, plan.output.arguments());
  append(ps_argv, plan.dashboard.arguments());
  append(ps_argv, o.auth.arguments());
  append(ps_argv, o.tls.for_ps().arguments());
  append(ps_argv, o.logging.arguments());

  // The last `fail` workers crash in iteration 1; the `slow` ones are spread evenly over the
  // others (adjacent stragglers in a cyclic assignment would share their chunks).
  std::vector<bool> is_slow(static_cast<std::size_t>(n), false);
  for (int i = 0; i < o.slow; ++i)
    is_slow[static_cast<std::size_t>(i * (n - o.fail) / o.slow)] = true;
  std::optional<remote_plan> remote;
  if (o.remote.enabled()) remote.emplace(o.remote, parse_listen(o.listen, "--listen"), n);
  const auto workers = [&](const net::endpoint& ps) {
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
      append(argv, o.workload.arguments());
      append(argv, o.auth.arguments());
      append(argv, o.tls.for_workers().arguments());
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
      append(argv, o.logging.arguments());
      if (remote) argv = remote->remote_argv(w, argv);
      out.push_back({"w" + std::to_string(w), argv, {}, !fails, false});
    }
    return out;
  };
  if (o.remote.dry_run) {
    auto all = workers(remote->ps_address());
    all.insert(all.begin(), launch::command{"ps", ps_argv, {}, true, true});
    print_dry_run(all);
    return 0;
  }
  // The PS tells where it listens on a pipe of its own, not in its log.
  ps_argv.push_back("--ready-fd");
  ps_argv.push_back(std::to_string(k_ready_fd));
  std::vector<launch::command> initial{{"ps", ps_argv, {}, true, true, k_ready_fd}};

  boost::asio::io_context io;
  launch::group_options go;
  go.grace = std::chrono::milliseconds(static_cast<long>(o.grace * 1000));
  // Every name is known now: fix the prefix column so the lines align from the first one.
  const std::size_t width =
      std::max<std::size_t>(go.self_name.size(), 1 + std::to_string(n - 1).size());
  auto writer = std::make_shared<launch::prefix_writer>(1, width);
  // The supervisor's own notes ("w3 ended ...") are its log: --quiet drops them.
  const bool notes = o.logging.threshold() <= core::log_level::info;
  go.sink = [writer, notes, self = go.self_name](std::string_view name, std::string_view line) {
    if (name == self && !notes) return;
    writer->write(name, line);
  };
  launch::process_group group(io.get_executor(), go);
  launch::group_summary summary;
  std::exception_ptr failure;
  const auto start_workers = [&](const std::string& line) {
    const ready_signal ready = ready_signal::parse(line);
    if (dashboard_bound && ready.dashboard) *dashboard_bound = ready.dashboard->to_string();
    return workers(remote ? remote->ps_address() : ready.listen);
  };
  boost::asio::co_spawn(
      io, group.run(std::move(initial), launch::readiness_gate{"ps", ""}, start_workers),
      [&](std::exception_ptr e, launch::group_summary s) {
        failure = e;
        summary = std::move(s);
      });
  io.run();
  if (failure) std::rethrow_exception(failure);
  std::cout << "pgc launch: " << coding::to_string(protocol.scheme) << ": " << summary.message
            << std::endl;  // before the next run's lines, which do not go through std::cout
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

void launch_cli::validate() const {
  protocol.validate();
  optimizer.validate();
  output.validate();
  dashboard.validate();
  auth.validate();
  tls.validate();
  const int n = protocol.workers;
  if (slow < 0 || fail < 0 || slow + fail > n) {
    throw core::input_error(
        "--slow and --fail must be non-negative and add up to at most --workers");
  }
  if (slow > 0 && !(slowdown >= 1.0)) throw core::input_error("--slowdown must be at least 1");
  if (!(grace > 0)) throw core::input_error("--grace must be positive");
  try {
    (void)nodes::delay_model::parse(delay_model);
  } catch (const core::input_error& e) {
    throw core::input_error(std::string("--delay-model: ") + e.what());
  }
  (void)parse_listen(listen, "--listen");
  if (remote.dry_run && !remote.enabled()) {
    throw core::input_error("--dry-run needs --hostfile");
  }
  if (comparing()) {
    protocol_options other = protocol;
    other.scheme = compare;
    other.validate();
  }
}

int run(const launch_cli& o) {
  o.validate();  // before starting anything
  if (const auto rank = mpi_rank_env()) {
    throw core::input_error("started as rank " + std::to_string(rank->rank) + " of " +
                            std::to_string(rank->size) + " (" + rank->source +
                            "): every rank would start a cluster of its own; use pgc rank");
  }
  if (!o.comparing() || o.remote.dry_run)
    return run_cluster(o, o.protocol, {o.output, o.dashboard});

  // --compare: the same cluster, stragglers and data once more under another scheme.
  protocol_options other = o.protocol;
  other.scheme = o.compare;
  const std::string scheme_a(coding::to_string(o.protocol.scheme));
  const std::string scheme_b(coding::to_string(o.compare));
  const std::string stem =
      o.output.summary.empty()
          ? (std::filesystem::temp_directory_path() / ("pgc-launch-" + std::to_string(::getpid())))
                .string()
          : o.output.summary;
  run_plan first{o.output, o.dashboard};
  first.output.summary =
      o.output.summary.empty() ? stem + "-" + scheme_a + ".json" : o.output.summary;
  run_plan second = first;
  second.output.summary = stem + "-" + scheme_b + ".json";
  if (!o.output.csv.empty()) {
    // Each scheme gets its own CSV file.
    first.output.csv = o.output.csv + "." + scheme_a + ".csv";
    second.output.csv = o.output.csv + "." + scheme_b + ".csv";
  }
  // The comparison run neither writes nor resumes the checkpoint of the first.
  second.output.checkpoint.clear();
  second.output.resume = false;
  if (const int rc = run_cluster(o, o.protocol, first, &second.dashboard.dashboard); rc != 0) {
    return rc;
  }
  second.dashboard.baseline_summary = first.output.summary;
  if (const int rc = run_cluster(o, other, second); rc != 0) return rc;
  const auto [mean_a, median_a] = iteration_seconds(first.output.summary);
  const auto [mean_b, median_b] = iteration_seconds(second.output.summary);
  std::printf(
      "pgc launch: seconds per iteration, median (mean): %s %.4f (%.4f), %s %.4f (%.4f); "
      "%s / %s = %.3f (%.3f)\n",
      scheme_a.c_str(), median_a, mean_a, scheme_b.c_str(), median_b, mean_b, scheme_a.c_str(),
      scheme_b.c_str(), median_a / median_b, mean_a / mean_b);
  if (o.output.summary.empty()) {
    std::remove(first.output.summary.c_str());
    std::remove(second.output.summary.c_str());
  }
  return 0;
}

void launch_cli::add_to(CLI::App& app) {
  protocol.add_to(app);
  optimizer.add_to(app);
  workload.add_to(app);
  app.add_option("--listen", listen, "ADDR:PORT for the PS (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--slow", slow, "Workers slowed down by --slowdown")
      ->check(at_least(0))
      ->capture_default_str();
  app.add_option("--slowdown", slowdown, "Slowdown factor of the slow workers")
      ->check(at_least(1))
      ->capture_default_str();
  app.add_option("--delay-model", delay_model,
                 "Random extra delay per chunk on every worker (seeded by its index): none | "
                 "fixed:MS | exp:MEAN_MS | pareto:SCALE_MS:SHAPE | bimodal:P:F")
      ->capture_default_str();
  app.add_option("--fail", fail, "Workers that crash in iteration 1 and do not come back")
      ->check(at_least(0))
      ->capture_default_str();
  output.add_to(app);
  compare_option = add_enum_option(
      app, "--compare", compare, coding::scheme_kind_names(),
      "Run the same cluster again under this scheme and print the ratio of iteration times");
  compare_option->default_str("");  // no comparison unless asked
  dashboard.add_to(app);
  auth.add_to(app);
  tls.add_to(app);
  logging.add_to(app);
  app.add_option("--grace", grace, "Seconds between SIGTERM and SIGKILL when stopping")
      ->check(greater_than(0))
      ->capture_default_str();
  remote.add_to(app);
}

}  // namespace

command add_launch_command(CLI::App& app) {
  auto o = std::make_shared<launch_cli>();
  auto* sub =
      app.add_subcommand("launch", "Start a parameter server and N workers on this machine");
  o->add_to(*sub);
  return [o] { return run(*o); };
}

}  // namespace pgc::tools
