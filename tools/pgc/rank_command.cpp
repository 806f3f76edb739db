// pgc rank: one rank of a job started by mpirun or srun. Every rank runs the same command line;
// rank 0 becomes the parameter server, ranks 1..size-1 the workers w0..w(size-2).
//
// A subcommand of its own rather than a mode of `pgc launch`: launch supervises a whole cluster
// it forks itself (stragglers, --compare, grace periods), while under a job launcher every
// process already exists and must turn into exactly one node. Rank 0 runs `pgc ps` as its child
// (to see the port it bound and publish it), the others exec `pgc worker`, so both behave and
// print exactly as when started by hand.
#include <chrono>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

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
#include "pgc/core/error.hpp"
#include "pgc/core/logger.hpp"
#include "pgc/launch/process_group.hpp"
#include "pgc/net/endpoint.hpp"
#include "ps_address.hpp"
#include "rank_env.hpp"
#include "ready_signal.hpp"

namespace pgc::tools {
namespace {

struct rank_cli {
  protocol_options protocol;
  optimizer_options optimizer;
  workload_options workload;
  output_options output;
  dashboard_options dashboard;
  auth_options auth;
  // Rank 0's PS gets the certificate and key, the workers the CA (and expected name).
  tls_options tls{tls_role::cluster};
  logging_options logging;
  std::string ps;          // HOST:PORT the workers connect to
  std::string rendezvous;  // ... or the file rank 0 writes it to
  double rendezvous_timeout = 60;
  std::string listen;  // rank 0; default 0.0.0.0 with the port of --ps (or any port)
  std::string advertise;
  int threads = 1;
  double reconnect_timeout = 600;

  void add_to(CLI::App& app);
};

std::string self_executable() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) throw std::runtime_error("cannot find the pgc executable (/proc/self/exe)");
  return std::string(path, static_cast<std::size_t>(n));
}

std::string describe(const rank_env& env) {
  return "rank " + std::to_string(env.rank) + " of " + std::to_string(env.size) + " (" +
         env.source + ")";
}

// FILE.tmp, then rename: a polling rank sees no file or the whole file, never half of it.
void write_rendezvous(const std::string& path, const net::endpoint& address,
                      const std::string& job) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << address.to_string() << '\n';
    if (!job.empty()) out << "job " << job << '\n';
    if (!out.flush()) throw std::runtime_error("cannot write the rendezvous file '" + tmp + "'");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    throw std::runtime_error("cannot rename '" + tmp + "' to '" + path + "': " + ec.message());
  }
}

struct rendezvous_entry {
  net::endpoint address;
  std::string job;
};

// Empty while the file is missing or not (yet) a rendezvous file.
std::optional<rendezvous_entry> read_rendezvous(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  rendezvous_entry e;
  try {
    e.address = net::parse_endpoint(line);
  } catch (const core::input_error&) {
    return std::nullopt;
  }
  if (std::getline(in, line) && line.starts_with("job ")) e.job = line.substr(4);
  return e;
}

net::endpoint await_rendezvous(const rank_cli& o, const rank_env& env) {
  using clock = std::chrono::steady_clock;
  const auto deadline =
      clock::now() + std::chrono::milliseconds(static_cast<long>(o.rendezvous_timeout * 1000));
  std::optional<rendezvous_entry> foreign;  // a file another job left behind
  for (;;) {
    if (auto e = read_rendezvous(o.rendezvous)) {
      if (env.job.empty() || e->job == env.job) return e->address;
      foreign = e;
    }
    if (clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string why =
      "rank 0 writes it once its PS listens: did rank 0 fail, or is the file not "
      "on a file system every rank shares?";
  if (foreign) {
    why = "it holds the address of another job (" + (foreign->job.empty() ? "none" : foreign->job) +
          ", this one is " + env.job + "): remove it, or give every job its own file";
  }
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%g", o.rendezvous_timeout);
  throw std::runtime_error(describe(env) + ": no PS address in '" + o.rendezvous + "' after " +
                           seconds + " s; " + why);
}

int run_ps(const rank_cli& o, const rank_env& env, const net::endpoint& listen,
           const core::logger& log) {
  const std::string self = self_executable();
  std::vector<std::string> argv{self, "ps", "--listen", listen.to_string()};
  for (const auto& group : {o.protocol.arguments(), o.optimizer.arguments(), o.workload.arguments(),
                            o.output.arguments(), o.dashboard.arguments(), o.auth.arguments(),
                            o.tls.for_ps().arguments(), o.logging.arguments()}) {
    argv.insert(argv.end(), group.begin(), group.end());
  }
  // The PS tells where it listens on a pipe of its own, not in its log.
  argv.push_back("--ready-fd");
  argv.push_back(std::to_string(k_ready_fd));

  // A file from an earlier job must not send the workers of this one astray.
  if (!o.rendezvous.empty()) {
    std::error_code ignored;
    std::filesystem::remove(o.rendezvous, ignored);
  }

  boost::asio::io_context io;
  launch::group_options go;
  go.self_name = "rank";
  go.sink = [](std::string_view name, std::string_view line) {
    // The PS's lines unchanged, so the output reads as that of `pgc ps`; the supervisor's own
    // notes would only repeat the summary printed below on a failure.
    if (name != "ps") return;
    std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
    std::fflush(stdout);
  };
  launch::process_group group(io.get_executor(), go);
  launch::readiness_gate gate{
      "ps", "", std::chrono::milliseconds(static_cast<long>(o.rendezvous_timeout * 1000))};
  const auto publish = [&](const std::string& line) {
    const net::endpoint address = reachable_endpoint(ready_signal::parse(line).listen, o.advertise);
    if (!o.rendezvous.empty()) {
      write_rendezvous(o.rendezvous, address, env.job);
      log.info(describe(env) + ": PS address " + address.to_string() + " written to " +
               o.rendezvous);
    } else {
      log.info(describe(env) + ": PS on " + listen.to_string() + ", workers connect to " + o.ps);
    }
    return std::vector<launch::command>{};
  };
  launch::group_summary summary;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      io, group.run({{"ps", argv, {}, true, true, k_ready_fd}}, std::move(gate), publish),
      [&](std::exception_ptr e, launch::group_summary s) {
        failure = e;
        summary = std::move(s);
      });
  io.run();
  if (failure) std::rethrow_exception(failure);
  if (summary.exit_code() != 0) log.error(summary.message);
  if (!o.rendezvous.empty()) {
    std::error_code ignored;
    std::filesystem::remove(o.rendezvous, ignored);
  }
  return summary.exit_code();
}

int run_worker(const rank_cli& o, const rank_env& env, const core::logger& log) {
  const std::string address =
      o.ps.empty() ? await_rendezvous(o, env).to_string() : net::parse_endpoint(o.ps).to_string();
  const std::string name = "w" + std::to_string(env.rank - 1);
  std::vector<std::string> args{"pgc",
                                "worker",
                                "--connect",
                                address,
                                "--name",
                                name,
                                "--chunks",
                                std::to_string(o.protocol.workers),
                                "--heartbeat-ms",
                                std::to_string(o.protocol.heartbeat_ms),
                                "--threads",
                                std::to_string(o.threads),
                                "--reconnect-timeout",
                                exact_text(o.reconnect_timeout)};
  for (const auto& group : {o.workload.arguments(), o.auth.arguments(),
                            o.tls.for_workers().arguments(), o.logging.arguments()}) {
    args.insert(args.end(), group.begin(), group.end());
  }
  log.info(describe(env) + ": worker " + name + " connects to " + address);
  // exec, not a child: the launcher sees (and signals) the worker itself.
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string self = self_executable();
  ::execv(self.c_str(), argv.data());
  throw std::runtime_error("cannot run '" + self + " worker'");
}

int run(rank_cli o, bool workers_given) {
  const auto env = detect_rank_env();
  if (!env) {
    throw core::input_error(
        "not started by mpirun or srun (none of OMPI_COMM_WORLD_RANK/SIZE, PMI_RANK/PMI_SIZE, "
        "SLURM_PROCID/SLURM_NTASKS is set); for a cluster on this machine use pgc launch");
  }
  if (env->size < 2) {
    throw core::input_error(describe(*env) + ": needs at least 2 ranks (a PS and a worker)");
  }
  if (workers_given && o.protocol.workers != env->size - 1) {
    throw core::input_error("--workers " + std::to_string(o.protocol.workers) +
                            " does not match the job: " + std::to_string(env->size) +
                            " ranks are a PS and " + std::to_string(env->size - 1) + " workers");
  }
  o.protocol.workers = env->size - 1;
  // Every rank rejects bad arguments, not only the PS.
  o.protocol.validate();
  o.optimizer.validate();
  o.output.validate();
  o.dashboard.validate();
  o.auth.validate();
  o.tls.validate();
  if (o.ps.empty() == o.rendezvous.empty()) {
    throw core::input_error("give exactly one of --ps HOST:PORT and --rendezvous FILE");
  }
  if (!o.ps.empty()) {
    try {
      (void)net::parse_endpoint(o.ps);
    } catch (const core::input_error& e) {
      throw core::input_error(std::string("--ps: ") + e.what());
    }
  }
  if (!(o.rendezvous_timeout > 0)) throw core::input_error("--rendezvous-timeout must be positive");
  if (o.threads < 1) throw core::input_error("--threads must be at least 1");
  const core::logger log = o.logging.make_logger("pgc rank");
  if (env->rank > 0) return run_worker(o, *env, log);

  net::endpoint listen{"0.0.0.0", 0};
  if (!o.listen.empty()) {
    listen = parse_listen(o.listen, "--listen");
  } else if (!o.ps.empty()) {
    listen.port = net::parse_endpoint(o.ps).port;
  }
  if (!o.ps.empty() && listen.port == 0) {
    throw core::input_error(
        "with --ps the PS needs a fixed port: --listen ADDR:PORT or a port "
        "in --ps");
  }
  return run_ps(o, *env, listen, log);
}

void rank_cli::add_to(CLI::App& app) {
  protocol.add_to(app);
  optimizer.add_to(app);
  workload.add_to(app);
  app.add_option("--ps", ps,
                 "HOST:PORT where the workers find the PS (rank 0 listens on its port)");
  app.add_option("--rendezvous", rendezvous,
                 "A file on a shared file system: rank 0 writes the PS address to it, the "
                 "others wait for it");
  app.add_option("--rendezvous-timeout", rendezvous_timeout,
                 "Seconds the workers wait for the rendezvous file (and rank 0 for its PS)")
      ->check(greater_than(0))
      ->capture_default_str();
  app.add_option("--listen", listen,
                 "ADDR:PORT the PS binds (default 0.0.0.0 and the port of --ps, or any port)");
  app.add_option("--advertise", advertise,
                 "Host name or address written to the rendezvous file (default: the --listen "
                 "host, or this host's name when that is 0.0.0.0)");
  output.add_to(app);
  dashboard.add_to(app);
  auth.add_to(app);
  tls.add_to(app);
  logging.add_to(app);
  app.add_option("--threads", threads, "Compute threads per worker")
      ->check(at_least(1))
      ->capture_default_str();
  app.add_option("--reconnect-timeout", reconnect_timeout,
                 "Seconds the workers keep trying to reach a PS that went away")
      ->check(greater_than(0))
      ->capture_default_str();
}

}  // namespace

command add_rank_command(CLI::App& app) {
  auto o = std::make_shared<rank_cli>();
  auto* sub = app.add_subcommand(
      "rank", "One rank of an mpirun/srun job: rank 0 runs the PS, the others the workers");
  o->add_to(*sub);
  return [o, sub] { return run(*o, sub->count("--workers") > 0); };
}

}  // namespace pgc::tools
