// pgc launch: a parameter server and N worker processes on this machine, with stragglers.
#include <algorithm>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
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
#include "pgc/core/error.hpp"
#include "pgc/launch/prefix_writer.hpp"
#include "pgc/launch/process_group.hpp"
#include "pgc/net/endpoint.hpp"

namespace pgc::tools {
namespace {

struct launch_cli {
  protocol_options protocol;
  workload_options workload;
  std::string listen = "127.0.0.1:0";
  int slow = 0;
  double slowdown = 4.0;
  int fail = 0;
  bool verify = false;
  std::string summary;
  std::string csv;
  double grace = 3.0;
  std::string compare;
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
int run_cluster(const launch_cli& o, const protocol_options& protocol,
                const std::string& summary_path) {
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
  std::vector<launch::command> initial{{"ps", ps_argv, {}, true, true}};

  // The last `fail` workers crash in iteration 1; the `slow` ones are spread evenly over the
  // others (adjacent stragglers in a cyclic assignment would share their chunks).
  std::vector<bool> is_slow(static_cast<std::size_t>(n), false);
  for (int i = 0; i < o.slow; ++i)
    is_slow[static_cast<std::size_t>(i * (n - o.fail) / o.slow)] = true;
  const auto workers = [&](const std::string& line) {
    const net::endpoint ps = listening_endpoint(line);
    std::vector<launch::command> out;
    for (int w = 0; w < n; ++w) {
      std::vector<std::string> argv{self,
                                    "worker",
                                    "--connect",
                                    ps.to_string(),
                                    "--name",
                                    "w" + std::to_string(w),
                                    "--chunks",
                                    std::to_string(n),
                                    "--heartbeat-ms",
                                    std::to_string(protocol.heartbeat_ms)};
      for (auto& a : o.workload.arguments())
        argv.push_back(a);
      const bool fails = w >= n - o.fail;
      const bool slow = is_slow[static_cast<std::size_t>(w)];
      if (slow) {
        argv.push_back("--slowdown");
        argv.push_back(std::to_string(o.slowdown));
      }
      if (fails) {
        argv.push_back("--fail-at");
        argv.push_back("1:0");
        argv.push_back("--no-reconnect");
      }
      out.push_back({"w" + std::to_string(w), argv, {}, !fails, false});
    }
    return out;
  };

  boost::asio::io_context io;
  launch::group_options go;
  go.grace = std::chrono::milliseconds(static_cast<long>(o.grace * 1000));
  // Every name is known now: fix the prefix column so the lines align from the first one.
  const std::size_t width =
      std::max<std::size_t>(go.self_name.size(), 1 + std::to_string(n - 1).size());
  auto writer = std::make_shared<launch::prefix_writer>(1, width);
  go.sink = [writer](std::string_view name, std::string_view line) { writer->write(name, line); };
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
  (void)net::parse_endpoint(o.listen);
  if (o.compare.empty()) return run_cluster(o, o.protocol, o.summary);

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
  if (const int rc = run_cluster(o, o.protocol, first); rc != 0) return rc;
  if (const int rc = run_cluster(o, other, second); rc != 0) return rc;
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
  sub->add_option("--grace", o->grace, "Seconds between SIGTERM and SIGKILL when stopping")
      ->capture_default_str();
  return [o] { return run(*o); };
}

}  // namespace pgc::tools
