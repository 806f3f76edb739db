#pragma once

// pgc launch --hostfile: the PS runs here, the workers on the listed hosts, started over ssh.

#include <string>
#include <string_view>
#include <vector>

#include "pgc/launch/process_group.hpp"
#include "pgc/net/endpoint.hpp"

namespace CLI {
class App;
}

namespace pgc::tools {

struct host_slots {
  std::string host;
  int slots = 1;
};

// One host a line, "HOST [slots=K]" (K workers on it, default 1); '#' starts a comment, blank
// lines are skipped. `name` names the text in errors. Throws core::input_error with the line.
std::vector<host_slots> parse_hostfile(std::string_view text, const std::string& name);
std::vector<host_slots> read_hostfile(const std::string& path);

// The host of each worker: the hosts in file order, each filled up to its slots (as mpirun's
// --map-by slot). Throws core::input_error if there are fewer slots than workers.
std::vector<std::string> place_workers(const std::vector<host_slots>& hosts, int workers);

// POSIX sh quoting: the word unchanged if it needs no quotes, else in single quotes.
std::string shell_quote(std::string_view word);
std::string shell_line(const std::vector<std::string>& argv);

// The launch flags of a run across hosts.
struct remote_options {
  std::string hostfile;
  std::string advertise;  // what the workers connect to, when --listen is 0.0.0.0
  std::string ssh = "ssh -o BatchMode=yes -o ConnectTimeout=10";
  std::string remote_pgc = "pgc";
  bool dry_run = false;

  void add_to(CLI::App& app);
  bool enabled() const noexcept { return !hostfile.empty(); }
};

// remote_options checked against the run: built before anything starts.
class remote_plan {
 public:
  // Throws core::input_error for an unreadable hostfile, too few slots, or a --listen the
  // hosts cannot reach (port 0, or loopback while a host is not this one).
  remote_plan(const remote_options& options, const net::endpoint& listen, int workers);

  // What the workers connect to.
  const net::endpoint& ps_address() const noexcept { return ps_address_; }
  const std::string& host(int worker) const { return hosts_.at(static_cast<std::size_t>(worker)); }
  // The ssh command line that runs `local_argv` (argv[0] this pgc) on the worker's host, with
  // argv[0] replaced by --remote-pgc. `exec`, so the remote shell does not stay in between.
  std::vector<std::string> remote_argv(int worker,
                                       const std::vector<std::string>& local_argv) const;

 private:
  remote_options options_;
  net::endpoint ps_address_;
  std::vector<std::string> hosts_;
};

// --dry-run: the command lines, one per process as "[NAME] COMMAND", shell-quoted.
void print_dry_run(const std::vector<launch::command>& commands);

}  // namespace pgc::tools
