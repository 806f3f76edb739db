// Faults with real processes: workers killed with SIGKILL at random moments and restarted, the
// PS killed with SIGKILL and restarted with --resume, a worker frozen with SIGSTOP. In every
// case each applied gradient is checked against the single-process reference (--verify), no
// iteration is skipped, and the run ends normally.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "child_process.hpp"
#include "run_pgc.hpp"

using pgc::test::child_process;
using pgc::test::slurp;
using namespace std::chrono_literals;

namespace {

std::string temp_file(const std::string& name) {
  const std::string path = std::string(PGC_BINARY_DIR) + "/tests/faults-" + name;
  std::remove(path.c_str());
  return path;
}

// "pgc ps: listening on 127.0.0.1:PORT (...": the port.
std::string listening_port(const std::string& output) {
  const std::string key = "listening on 127.0.0.1:";
  const auto at = output.find(key);
  REQUIRE(at != std::string::npos);
  const auto begin = at + key.size();
  return output.substr(begin, output.find(' ', begin) - begin);
}

std::vector<std::string> workload_args() {
  return {"--workload", "synthetic", "--dim", "1000", "--samples", "24000"};
}

std::vector<std::string> ps_args(int workers, int load, int iterations) {
  std::vector<std::string> a{"ps",          "--workers",      std::to_string(workers),
                             "--load",      std::to_string(load), "--ell", "1",
                             "--iterations", std::to_string(iterations), "--heartbeat-ms", "100",
                             "--verify"};
  for (auto& w : workload_args())
    a.push_back(w);
  return a;
}

std::unique_ptr<child_process> start_worker(const std::string& port, int id, int workers,
                                            double slowdown, const std::string& log) {
  std::vector<std::string> a{"worker",      "--connect", "127.0.0.1:" + port,
                             "--name",      "w" + std::to_string(id),
                             "--chunks",    std::to_string(workers),
                             "--heartbeat-ms", "100",
                             "--slowdown",  std::to_string(slowdown)};
  for (auto& w : workload_args())
    a.push_back(w);
  return std::make_unique<child_process>(a, log);
}

boost::json::object read_summary(const std::string& path) {
  return boost::json::parse(slurp(path)).as_object();
}

// Every iteration from `first` to `last` exactly once, in order, each exact and verified.
void check_iterations(const boost::json::object& summary, std::uint64_t first,
                      std::uint64_t last) {
  const auto& per = summary.at("per_iteration").as_array();
  REQUIRE(per.size() == last - first + 1);
  std::uint64_t expected = first;
  for (const auto& it : per) {
    CHECK(it.at("iteration").to_number<std::uint64_t>() == expected++);
    CHECK(it.at("exact").as_bool());
    CHECK(it.at("rel_error").as_double() < 1e-9);
  }
  CHECK(summary.at("verified").as_bool());
  CHECK(summary.at("max_rel_error").as_double() < 1e-9);
}

}  // namespace

TEST_CASE("workers killed with sigkill at random moments never cost a wrong or skipped step") {
  // Cyclic load 3, ell 1: any 2 of the 6 workers may be missing. The killer keeps at most two
  // dead, restarts each after a random pause under the same name, and strikes at random moments
  // of the iterations (computing, after progress, after the signal, while sending).
  const int n = 6;
  const std::string summary = temp_file("kill-workers.json");
  auto args = ps_args(n, 3, 100);
  for (const char* a : {"--listen", "127.0.0.1:0", "--min-workers", "4", "--summary"})
    args.push_back(a);
  args.push_back(summary);
  child_process ps(args, temp_file("kill-workers-ps.log"));
  REQUIRE(ps.wait_for_output("listening on", 20s));
  const std::string port = listening_port(ps.output());

  std::vector<std::unique_ptr<child_process>> workers(n);
  for (int w = 0; w < n; ++w)
    workers[w] = start_worker(port, w, n, 2.0, temp_file("kill-w" + std::to_string(w) + ".log"));

  std::mt19937 rng(7);
  std::map<int, std::chrono::steady_clock::time_point> dead;  // worker -> restart time
  // A worker is struck only once it has had time to load its data and join.
  std::vector<std::chrono::steady_clock::time_point> alive_since(
      n, std::chrono::steady_clock::now());
  std::vector<bool> restarted(n, false);
  int kills = 0;
  // Let the first iteration (which waits for all six) start before striking.
  REQUIRE(ps.wait_for_output("iteration 0:", 60s));
  const auto give_up = std::chrono::steady_clock::now() + 150s;
  while (ps.running() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::uniform_int_distribution<int>(150, 600)(rng)));
    const auto now = std::chrono::steady_clock::now();
    for (auto it = dead.begin(); it != dead.end();) {
      if (now < it->second) {
        ++it;
        continue;
      }
      workers[it->first] = start_worker(port, it->first, n, 2.0,
                                        temp_file("kill-w" + std::to_string(it->first) + ".log"));
      alive_since[it->first] = now;
      restarted[it->first] = true;
      it = dead.erase(it);
    }
    if (dead.size() < 2) {
      const int victim = std::uniform_int_distribution<int>(0, n - 1)(rng);
      if (dead.count(victim) == 0 && now - alive_since[victim] > 1500ms &&
          workers[victim]->running()) {
        workers[victim]->signal(SIGKILL);
        workers[victim]->wait();
        ++kills;
        dead[victim] = now + std::chrono::milliseconds(
                                 std::uniform_int_distribution<int>(150, 700)(rng));
      }
    }
  }
  const int rc = ps.wait_for(30s);
  INFO(ps.output());
  REQUIRE(rc == 0);
  const auto s = read_summary(summary);
  check_iterations(s, 0, 99);
  long long lost = 0;
  for (const auto& it : s.at("per_iteration").as_array())
    lost += it.at("workers_lost").as_int64();
  MESSAGE("kills: " << kills << ", workers lost inside an iteration: " << lost);
  // The workers never struck got their Shutdown and ended normally. (A restarted one may still
  // be loading its data when the PS ends, and then rightly retries until it gives up.)
  for (int w = 0; w < n; ++w)
    if (!restarted[w] && dead.count(w) == 0) CHECK(workers[w]->wait_for(20s) == 0);
  CHECK(kills >= 8);
  // Many kills landed in the middle of an iteration (the others between iterations, or while
  // the PS waited for enough workers).
  CHECK(lost * 4 >= kills);
}

TEST_CASE("the ps killed with sigkill resumes from its checkpoint and loses nothing before it") {
  const int n = 4;
  const std::string checkpoint = temp_file("resume.ckpt");
  const std::string csv = temp_file("resume.csv");
  auto args = ps_args(n, 2, 30);
  for (const char* a : {"--checkpoint-every", "5", "--checkpoint"})
    args.push_back(a);
  args.push_back(checkpoint);
  args.push_back("--csv");
  args.push_back(csv);

  auto first_args = args;
  first_args.push_back("--listen");
  first_args.push_back("127.0.0.1:0");
  child_process first(first_args, temp_file("resume-ps1.log"));
  REQUIRE(first.wait_for_output("listening on", 20s));
  const std::string port = listening_port(first.output());
  std::vector<std::unique_ptr<child_process>> workers;
  for (int w = 0; w < n; ++w)
    workers.push_back(
        start_worker(port, w, n, 2.0, temp_file("resume-w" + std::to_string(w) + ".log")));
  REQUIRE(first.wait_for_output("iteration 12:", 90s));
  first.signal(SIGKILL);
  CHECK(first.wait() == 128 + SIGKILL);

  // The workers keep trying to reconnect (with backoff) while the PS is down.
  std::this_thread::sleep_for(300ms);
  const std::string summary = temp_file("resume.json");
  auto second_args = args;
  for (const std::string& a : {std::string("--resume"), std::string("--listen"),
                               "127.0.0.1:" + port, std::string("--summary"), summary}) {
    second_args.push_back(a);
  }
  child_process second(second_args, temp_file("resume-ps2.log"));
  const int rc = second.wait_for(120s);
  INFO(first.output());
  INFO(second.output());
  REQUIRE(rc == 0);
  for (auto& w : workers)
    CHECK(w->wait_for(20s) == 0);  // each rejoined the new PS and got its Shutdown

  const auto s = read_summary(summary);
  const auto resumed_at = s.at("first_iteration").to_number<std::uint64_t>();
  CHECK(resumed_at >= 10);
  CHECK(resumed_at % 5 == 0);
  check_iterations(s, resumed_at, 29);
  // The CSV log has every iteration of the run (those after the checkpoint twice).
  const std::string log = slurp(csv);
  for (int i = 0; i < 30; ++i)
    CHECK_MESSAGE(log.find("\n" + std::to_string(i) + ",") != std::string::npos, i);
}

TEST_CASE("a worker frozen with sigstop is dropped and rejoins after sigcont") {
  const int n = 4;
  const std::string summary = temp_file("stop.json");
  auto args = ps_args(n, 2, 30);
  for (const char* a : {"--listen", "127.0.0.1:0", "--min-workers", "3", "--summary"})
    args.push_back(a);
  args.push_back(summary);
  child_process ps(args, temp_file("stop-ps.log"));
  REQUIRE(ps.wait_for_output("listening on", 20s));
  const std::string port = listening_port(ps.output());
  std::vector<std::unique_ptr<child_process>> workers;
  for (int w = 0; w < n; ++w)
    workers.push_back(start_worker(port, w, n, 2.0, temp_file("stop-w" + std::to_string(w) + ".log")));
  REQUIRE(ps.wait_for_output("iteration 3:", 60s));
  workers[1]->signal(SIGSTOP);
  // 4 heartbeats of 100 ms: the PS gives up on it well within 1.5 s and goes on without it.
  std::this_thread::sleep_for(1500ms);
  workers[1]->signal(SIGCONT);
  const int rc = ps.wait_for(120s);
  INFO(ps.output());
  INFO(workers[1]->output());
  REQUIRE(rc == 0);
  for (auto& w : workers)
    CHECK(w->wait_for(20s) == 0);
  check_iterations(read_summary(summary), 0, 29);
}
