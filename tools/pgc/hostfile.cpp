#include "hostfile.hpp"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "pgc/core/error.hpp"
#include "ps_address.hpp"

namespace pgc::tools {
namespace {

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::istringstream in{std::string(text)};
  for (std::string w; in >> w;)
    words.push_back(w);
  return words;
}

}  // namespace

std::vector<host_slots> parse_hostfile(std::string_view text, const std::string& name) {
  std::vector<host_slots> hosts;
  std::istringstream in{std::string(text)};
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const auto fail = [&](const std::string& why) {
      return core::input_error(name + ":" + std::to_string(number) + ": " + why);
    };
    const auto words = split_words(line.substr(0, line.find('#')));
    if (words.empty()) continue;
    host_slots h{words[0], 1};
    // A host that looked like an option would be read as one by ssh.
    if (h.host.front() == '-' || h.host.find('=') != std::string::npos) {
      throw fail("'" + h.host + "' is not a host name");
    }
    for (std::size_t i = 1; i < words.size(); ++i) {
      const std::string& w = words[i];
      if (!w.starts_with("slots=")) throw fail("unknown '" + w + "' (expected slots=K)");
      const char* b = w.data() + 6;
      const char* e = w.data() + w.size();
      const auto r = std::from_chars(b, e, h.slots);
      if (r.ec != std::errc{} || r.ptr != e || h.slots < 1) {
        throw fail("'" + w + "': K must be a positive integer");
      }
    }
    hosts.push_back(std::move(h));
  }
  if (hosts.empty()) throw core::input_error(name + ": no hosts");
  return hosts;
}

std::vector<host_slots> read_hostfile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw core::input_error("cannot read --hostfile '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_hostfile(text.str(), path);
}

std::vector<std::string> place_workers(const std::vector<host_slots>& hosts, int workers) {
  std::vector<std::string> placed;
  for (const auto& h : hosts) {
    for (int s = 0; s < h.slots && static_cast<int>(placed.size()) < workers; ++s)
      placed.push_back(h.host);
  }
  if (static_cast<int>(placed.size()) < workers) {
    throw core::input_error("the hostfile has " + std::to_string(placed.size()) + " slots for " +
                            std::to_string(workers) + " workers (add hosts or slots=K)");
  }
  return placed;
}

std::string shell_quote(std::string_view word) {
  const bool plain = !word.empty() && word.find_first_not_of(
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789_./:=@%+,-") == std::string_view::npos;
  if (plain) return std::string(word);
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string shell_line(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& a : argv) {
    if (!line.empty()) line += ' ';
    line += shell_quote(a);
  }
  return line;
}

void remote_options::add_to(CLI::App& app) {
  app.add_option("--hostfile", hostfile,
                 "Start the workers over ssh on the hosts in FILE (one a line: HOST [slots=K]); "
                 "the PS runs here on --listen, which the hosts must reach");
  app.add_option("--advertise", advertise,
                 "--hostfile: the address the workers connect to (default: the --listen host, or "
                 "this host's name when that is 0.0.0.0)");
  app.add_option("--ssh", ssh, "--hostfile: the ssh command, split at spaces")
      ->capture_default_str();
  app.add_option("--remote-pgc", remote_pgc, "--hostfile: the pgc executable on the hosts")
      ->capture_default_str();
  app.add_flag("--dry-run", dry_run,
               "--hostfile: print the command lines of the PS and of every worker, start nothing");
}

remote_plan::remote_plan(const remote_options& options, const net::endpoint& listen, int workers)
    : options_(options) {
  if (split_words(options.ssh).empty()) throw core::input_error("--ssh is empty");
  if (options.remote_pgc.empty()) throw core::input_error("--remote-pgc is empty");
  hosts_ = place_workers(read_hostfile(options.hostfile), workers);
  if (listen.port == 0) {
    throw core::input_error(
        "--hostfile needs a fixed --listen port (the hosts' firewalls must "
        "let it through), e.g. --listen 0.0.0.0:7000");
  }
  if (is_loopback_host(listen.host)) {
    for (const auto& h : hosts_) {
      if (!is_loopback_host(h)) {
        throw core::input_error("--listen " + listen.to_string() + " cannot be reached from " + h +
                                ": listen on an address the hosts reach (e.g. --listen "
                                "0.0.0.0:" +
                                std::to_string(listen.port) + ")");
      }
    }
  }
  try {
    ps_address_ = reachable_endpoint(listen, options.advertise);
  } catch (const std::runtime_error& e) {
    throw core::input_error(e.what());
  }
}

std::vector<std::string> remote_plan::remote_argv(
    int worker, const std::vector<std::string>& local_argv) const {
  std::vector<std::string> remote = local_argv;
  remote.at(0) = options_.remote_pgc;
  std::vector<std::string> argv = split_words(options_.ssh);
  argv.push_back(host(worker));
  // ssh hands the remote shell one line: every word quoted for that shell.
  argv.push_back("exec " + shell_line(remote));
  return argv;
}

void print_dry_run(const std::vector<launch::command>& commands) {
  std::printf("pgc launch: dry run, nothing started\n");
  for (const auto& c : commands)
    std::printf("[%s] %s\n", c.name.c_str(), shell_line(c.argv).c_str());
  std::fflush(stdout);
}

}  // namespace pgc::tools
