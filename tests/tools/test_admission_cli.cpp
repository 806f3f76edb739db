// Admission and the settings the PS decides, with real processes (issue 15, "Done when"): `pgc
// ps` and `pgc worker` started by hand on loopback, as a user would. Each test says at its top
// which behaviour it needs. Waits end on events (a line in a log, a process ending); the
// deadlines only stop a hang and are generous for a busy machine.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "child_process.hpp"
#include "ps_log.hpp"
#include "run_pgc.hpp"

using pgc::test::admissions;
using pgc::test::child_process;
using pgc::test::slurp;
using namespace std::chrono_literals;

namespace {

std::string temp_file(const std::string& name) {
  return pgc::test::fresh_path("admission", name);
}

// The synthetic workload at its defaults, spelled out so that PS and workers agree by
// construction: --workload synthetic --dim 64 --samples 4096.
std::vector<std::string> workload_args() {
  return {"--workload", "synthetic", "--dim", "64", "--samples", "4096"};
}

// A PS on a free loopback port for `workers` workers of cyclic load `load`, then `extra`.
std::unique_ptr<child_process> start_ps(int workers, int load, int iterations,
                                        const std::vector<std::string>& extra,
                                        const std::string& log) {
  std::vector<std::string> a{"ps",
                             "--listen",
                             "127.0.0.1:0",
                             "--workers",
                             std::to_string(workers),
                             "--load",
                             std::to_string(load),
                             "--iterations",
                             std::to_string(iterations)};
  for (const auto& w : workload_args())
    a.push_back(w);
  a.insert(a.end(), extra.begin(), extra.end());
  return std::make_unique<child_process>(a, log);
}

// A worker started by hand: its name, the chunk count (workers need it today) and `extra`; no
// --heartbeat-ms, so it runs at the default until the PS says otherwise.
std::unique_ptr<child_process> start_worker(const std::string& port, const std::string& name,
                                            int chunks, const std::vector<std::string>& extra,
                                            const std::string& log,
                                            const std::string& err_log = {}) {
  std::vector<std::string> a{"worker", "--connect", "127.0.0.1:" + port,   "--name",
                             name,     "--chunks",  std::to_string(chunks)};
  for (const auto& w : workload_args())
    a.push_back(w);
  a.insert(a.end(), extra.begin(), extra.end());
  return std::make_unique<child_process>(a, log, err_log);
}

boost::json::object read_summary(const std::string& path) {
  return boost::json::parse(slurp(path)).as_object();
}

// Iterations first..last once each, in order, each exact, and the run verified.
void check_verified(const boost::json::object& summary, std::uint64_t first, std::uint64_t last) {
  const auto& per = summary.at("per_iteration").as_array();
  REQUIRE(per.size() == last - first + 1);
  std::uint64_t expected = first;
  for (const auto& it : per) {
    CHECK(it.at("iteration").to_number<std::uint64_t>() == expected++);
    CHECK(it.at("exact").as_bool());
  }
  CHECK(summary.at("verified").as_bool());
}

// GET http://127.0.0.1:PORT/PATH with curl (installed by tools/setup), bounded; the body, or
// nothing when the request failed.
std::optional<std::string> http_get(const std::string& port, const std::string& path) {
  static int counter = 0;
  const std::string out = temp_file("http-" + std::to_string(counter++));
  const std::string command =
      "curl -sSf --max-time 10 -o " + out + " http://127.0.0.1:" + port + path + " 2>/dev/null";
  if (std::system(command.c_str()) != 0) return std::nullopt;
  auto body = slurp(out);
  std::remove(out.c_str());
  return body;
}

// The value of a metric without per-worker labels ("NAME{...} VALUE") in a Prometheus text.
std::optional<double> metric_value(const std::string& text, const std::string& name) {
  for (const auto line : pgc::test::lines_of(text)) {
    if (line.substr(0, name.size()) != name) continue;
    if (line.size() == name.size() || (line[name.size()] != '{' && line[name.size()] != ' '))
      continue;
    const auto space = line.rfind(' ');
    if (space == std::string_view::npos) continue;
    return std::stod(std::string(line.substr(space + 1)));
  }
  return std::nullopt;
}

// The column named `name` of a CSV file's header line, for every data line.
std::vector<std::string> csv_column(const std::string& text, const std::string& name) {
  std::vector<std::string> values;
  const auto lines = pgc::test::lines_of(text);
  REQUIRE(!lines.empty());
  const auto split = [](std::string_view line) {
    std::vector<std::string> cells;
    std::stringstream in{std::string(line)};
    for (std::string cell; std::getline(in, cell, ',');)
      cells.push_back(cell);
    return cells;
  };
  const auto header = split(lines.front());
  const auto column = std::find(header.begin(), header.end(), name);
  REQUIRE_MESSAGE(column != header.end(), "no column '" << name << "' in " << lines.front());
  const auto index = static_cast<std::size_t>(column - header.begin());
  for (std::size_t l = 1; l < lines.size(); ++l) {
    if (lines[l].empty()) continue;
    const auto cells = split(lines[l]);
    REQUIRE(cells.size() > index);
    values.push_back(cells[index]);
  }
  return values;
}

bool contains_nocase(std::string_view text, std::string_view part) {
  return std::search(text.begin(), text.end(), part.begin(), part.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         }) != text.end();
}

// Needs: workers take the heartbeat interval (and misses) from Welcome; their own
// --heartbeat-ms only covers the time before it (issue 15, "one protocol configuration").
// Today a worker keeps its default 200 ms: with the PS at 1000 ms it times the PS out, with the
// PS at 50 ms the PS times it out, and the workers reconnect over and over.
//
// Both phases where the mismatch shows: the cluster assembling slowly (three workers wait
// 5 s for the fourth, with nothing but heartbeats on the wire: 5 of the PS's intervals at
// 1000 ms, 100 at 50 ms), then 30 iterations whose chunks take 300 ms more than they compute.
// The test stops at the first second admission of any worker.
void no_reconnects_under_the_ps_heartbeat(int ps_heartbeat_ms) {
  const int n = 4;
  const std::string tag = "heartbeat-" + std::to_string(ps_heartbeat_ms);
  const std::string summary = temp_file(tag + ".json");
  auto ps = start_ps(
      n, 2, 30,
      {"--heartbeat-ms", std::to_string(ps_heartbeat_ms), "--verify", "--summary", summary},
      temp_file(tag + "-ps.log"));
  const std::string port = pgc::test::ps_port(*ps);
  std::vector<std::unique_ptr<child_process>> workers;
  const auto start = [&](int w) {
    workers.push_back(start_worker(port, "hb" + std::to_string(w), n,
                                   {"--delay-model", "fixed:300"},
                                   temp_file(tag + "-w" + std::to_string(w) + ".log")));
  };
  for (int w = 0; w < n - 1; ++w)
    start(w);
  const auto reconnect_among = [](int joined) {
    return [joined](const std::string& out) { return admissions(out) > joined; };
  };
  INFO(ps->output());
  REQUIRE(ps->wait_for_output_if(reconnect_among(n - 2), 120s));  // the first three are in
  // The idle stretch: it ends early only on a reconnect.
  bool reconnected = ps->wait_for_output_if(reconnect_among(n - 1), 5s);
  if (!reconnected) {
    start(n - 1);
    reconnected = ps->wait_for_output_if(reconnect_among(n), 300s);
  }
  if (reconnected) ps->signal(SIGKILL);
  const int rc = ps->wait_for(300s);
  const std::string log = ps->output();
  for (std::size_t w = 0; w < workers.size(); ++w)
    CHECK_MESSAGE(admissions(log, "hb" + std::to_string(w)) == 1, "worker hb" << w);
  REQUIRE(rc == 0);
  CHECK(log.find("verified") != std::string::npos);
  check_verified(read_summary(summary), 0, 29);
  for (auto& w : workers)
    CHECK(w->wait_for(60s) == 0);
}

}  // namespace

TEST_CASE("workers started without a heartbeat flag follow a ps at 1000 ms without reconnecting") {
  no_reconnects_under_the_ps_heartbeat(1000);
}

TEST_CASE("workers started without a heartbeat flag follow a ps at 50 ms without reconnecting") {
  no_reconnects_under_the_ps_heartbeat(50);
}

TEST_CASE("a new name takes the slot of a worker lost for good and the run completes") {
  // Needs: a slot whose worker is lost is free for a new name once no free slot is left (the
  // old name gets it back only while it is free). Today the slot stays c's, d is refused with
  // "no free worker slot" and the PS waits for a third worker for ever.
  const int n = 3;
  const std::string summary = temp_file("slot.json");
  auto ps = start_ps(n, 2, 30, {"--verify", "--summary", summary}, temp_file("slot-ps.log"));
  const std::string port = pgc::test::ps_port(*ps);
  // 100 ms more per chunk: the run lasts seconds, so c dies in the middle of it.
  const std::vector<std::string> slow{"--delay-model", "fixed:100"};
  auto a = start_worker(port, "a", n, slow, temp_file("slot-a.log"));
  auto b = start_worker(port, "b", n, slow, temp_file("slot-b.log"));
  auto c = start_worker(port, "c", n, slow, temp_file("slot-c.log"));
  INFO(ps->output());
  REQUIRE(ps->wait_for_output_if(
      [](const std::string& out) {
        return admissions(out, "a") == 1 && admissions(out, "b") == 1 &&
               admissions(out, "c") == 1 && out.find("iteration 2:") != std::string::npos;
      },
      180s));
  const auto lost_slot = pgc::test::admitted_slot(ps->output(), "c");
  REQUIRE(lost_slot.has_value());
  c->signal(SIGKILL);
  CHECK(c->wait() == 128 + SIGKILL);

  auto d = start_worker(port, "d", n, slow, temp_file("slot-d.log"));
  const bool joined =
      ps->wait_for_output_if([](const std::string& out) { return admissions(out, "d") > 0; }, 120s);
  INFO(ps->output());
  INFO(d->output());
  REQUIRE_MESSAGE(joined, "the PS never admitted d");
  CHECK(pgc::test::admitted_slot(ps->output(), "d") == lost_slot);
  const int rc = ps->wait_for(300s);
  REQUIRE(rc == 0);
  CHECK(admissions(ps->output(), "c") == 1);
  CHECK(admissions(ps->output(), "d") == 1);
  check_verified(read_summary(summary), 0, 29);
  for (auto* w : {a.get(), b.get(), d.get()})
    CHECK(w->wait_for(60s) == 0);
}

TEST_CASE("an ignore stragglers run reports its steps as not exact everywhere") {
  // Needs: one notion of "exact" from the scheme (an ignore-stragglers step is not an exact
  // decode) that reaches the summary, the CSV, /api/state and /metrics alike. Today the CLI
  // patches its own output (summary and CSV say 0) while the dashboard's history says exact and
  // pgc_approximate_iterations_total stays 0.
  //
  // N = 4, load 2: ignore waits for the first N - (load - ell) = 3 replies. hs3 is 10 times
  // slower than the others, so it is the straggler every time and no step has every reply.
  const int n = 4;
  const int iterations = 150;
  const std::string summary = temp_file("ignore.json");
  const std::string csv = temp_file("ignore.csv");
  auto ps = start_ps(
      n, 2, iterations,
      {"--scheme", "ignore", "--summary", summary, "--csv", csv, "--dashboard", "127.0.0.1:0"},
      temp_file("ignore-ps.log"));
  const std::string port = pgc::test::ps_port(*ps);
  const std::string dashboard = pgc::test::dashboard_port(*ps);
  std::vector<std::unique_ptr<child_process>> workers;
  for (int w = 0; w < n; ++w) {
    workers.push_back(start_worker(port, "is" + std::to_string(w), n,
                                   {"--delay-model", w == n - 1 ? "fixed:300" : "fixed:30"},
                                   temp_file("ignore-w" + std::to_string(w) + ".log")));
  }

  // While the run goes on: a state with a few iterations in its history.
  std::optional<boost::json::object> state;
  const auto until = std::chrono::steady_clock::now() + 180s;
  while (ps->running() && std::chrono::steady_clock::now() < until) {
    if (const auto body = http_get(dashboard, "/api/state")) {
      boost::system::error_code ec;
      auto v = boost::json::parse(*body, ec);
      if (!ec && v.is_object() && v.as_object().contains("completed") &&
          v.as_object().at("completed").to_number<std::uint64_t>() >= 5) {
        state = v.as_object();
        break;
      }
    }
    std::this_thread::sleep_for(200ms);
  }
  const auto metrics = http_get(dashboard, "/metrics");
  INFO(ps->output());
  REQUIRE_MESSAGE(state.has_value(), "no /api/state with 5 completed iterations during the run");
  REQUIRE_MESSAGE(metrics.has_value(), "no /metrics during the run");
  {
    const auto& history = state->at("history").as_array();
    REQUIRE(!history.empty());
    for (const auto& h : history)
      CHECK_MESSAGE(!h.at("exact").as_bool(), "/api/state: iteration " << h.at("iteration"));
  }
  {
    INFO(*metrics);
    const auto approximate = metric_value(*metrics, "pgc_approximate_iterations_total");
    const auto completed = metric_value(*metrics, "pgc_iterations_completed_total");
    REQUIRE(approximate.has_value());
    REQUIRE(completed.has_value());
    CHECK(*completed >= 5);
    // Every completed step was approximate (the one being recorded may lag by one).
    CHECK(*approximate >= *completed - 1);
  }

  const int rc = ps->wait_for(300s);
  REQUIRE(rc == 0);
  const auto s = read_summary(summary);
  const auto& per = s.at("per_iteration").as_array();
  CHECK(per.size() == static_cast<std::size_t>(iterations));
  for (const auto& it : per)
    CHECK_MESSAGE(!it.at("exact").as_bool(), "summary: iteration " << it.at("iteration"));
  const auto exact_column = csv_column(slurp(csv), "exact");
  CHECK(exact_column.size() == static_cast<std::size_t>(iterations));
  for (std::size_t i = 0; i < exact_column.size(); ++i)
    CHECK_MESSAGE(exact_column[i] == "0", "csv: line " << i + 1);
}

TEST_CASE("a worker with another data seed is refused naming the field and the others verify") {
  // Needs: Hello carries a fingerprint of the workload and the PS refuses a mismatch with a
  // message that names the differing flag; such a worker exits 2 instead of retrying. Today
  // the handshake checks only d and the chunk count: the worker is admitted and takes a slot.
  //
  // N = 3 good workers plus one with --data-seed 2, which connects first.
  const int n = 3;
  const std::string summary = temp_file("seed.json");
  auto ps = start_ps(n, 2, 20, {"--verify", "--summary", summary}, temp_file("seed-ps.log"));
  const std::string port = pgc::test::ps_port(*ps);
  const std::string bad_name = "other-seed";
  const auto bad_started = std::chrono::steady_clock::now();
  auto bad = start_worker(port, bad_name, n, {"--data-seed", "2"}, temp_file("seed-bad.log"),
                          temp_file("seed-bad.err"));
  // The PS has heard from it (refused it, and it ended; today, admitted it) before the good
  // ones start.
  const bool heard = ps->wait_for_output_if(
      [&](const std::string& out) {
        return pgc::test::count_lines(out, "", bad_name) > 0 || !bad->running();
      },
      120s);
  INFO(ps->output());
  INFO(bad->output());
  INFO(bad->errors());
  REQUIRE_MESSAGE(heard, "neither did the PS mention " << bad_name << " nor did it end");
  std::vector<std::unique_ptr<child_process>> good;
  for (int w = 0; w < n; ++w)
    good.push_back(start_worker(port, "good" + std::to_string(w), n, {},
                                temp_file("seed-good" + std::to_string(w) + ".log")));

  const int bad_rc = bad->wait_for(30s);
  const auto took = std::chrono::steady_clock::now() - bad_started;
  MESSAGE("the worker with another seed ended after "
          << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(bad->errors().find("--data-seed") != std::string::npos);
  CHECK(admissions(ps->output(), bad_name) == 0);
  // Admitted, the other worker holds a slot a good one needs, and the run cannot complete.
  REQUIRE(bad_rc == 2);

  const int rc = ps->wait_for(300s);
  REQUIRE(rc == 0);
  CHECK(ps->output().find("verified") != std::string::npos);
  check_verified(read_summary(summary), 0, 19);
  for (auto& w : good)
    CHECK(w->wait_for(60s) == 0);
}

// Not listed by a plain run of the executable: tests/CMakeLists.txt registers it alone, with
// the label "slow" and a long timeout (it waits out a two-minute outage).
TEST_CASE("a ps killed and resumed after two minutes finishes the run with the same workers" *
          doctest::skip()) {
  // Needs: workers wait for a PS that went away as long as --reconnect-timeout says (default
  // 10 minutes), saying that they wait. Today they give up after about 70 s, so the resumed PS
  // finds nobody.
  const int n = 4;
  const int iterations = 20;
  const std::string checkpoint = temp_file("outage.ckpt");
  const std::vector<std::string> common{"--verify", "--checkpoint", checkpoint,
                                        "--checkpoint-every", "1"};
  auto first = start_ps(n, 2, iterations, common, temp_file("outage-ps1.log"));
  const std::string port = pgc::test::ps_port(*first);
  std::vector<std::unique_ptr<child_process>> workers;
  for (int w = 0; w < n; ++w) {
    workers.push_back(start_worker(port, "ow" + std::to_string(w), n,
                                   {"--delay-model", "fixed:100"},
                                   temp_file("outage-w" + std::to_string(w) + ".log")));
  }
  INFO(first->output());
  REQUIRE(first->wait_for_output("iteration 5:", 180s));
  first->signal(SIGKILL);
  CHECK(first->wait() == 128 + SIGKILL);

  // The outage: two minutes, or until a worker gives up.
  const auto outage_end = std::chrono::steady_clock::now() + 120s;
  bool all_waiting = true;
  while (all_waiting && std::chrono::steady_clock::now() < outage_end) {
    for (auto& w : workers)
      all_waiting = all_waiting && w->running();
    std::this_thread::sleep_for(500ms);
  }
  for (int w = 0; w < n; ++w) {
    INFO("worker ow" << w << ": " << workers[static_cast<std::size_t>(w)]->output());
    CHECK(workers[static_cast<std::size_t>(w)]->running());
  }
  REQUIRE_MESSAGE(all_waiting, "a worker gave up during the two-minute outage");

  const std::string summary = temp_file("outage.json");
  auto second_args = common;
  for (const std::string& a : {std::string("--resume"), std::string("--summary"), summary})
    second_args.push_back(a);
  std::vector<std::string> args{"ps",        "--listen",        "127.0.0.1:" + port,
                                "--workers", std::to_string(n), "--load",
                                "2",         "--iterations",    std::to_string(iterations)};
  for (const auto& w : workload_args())
    args.push_back(w);
  args.insert(args.end(), second_args.begin(), second_args.end());
  child_process second(args, temp_file("outage-ps2.log"));
  const int rc = second.wait_for(600s);
  INFO(second.output());
  REQUIRE(rc == 0);
  CHECK(second.output().find("resuming from") != std::string::npos);
  for (int w = 0; w < n; ++w) {
    INFO("worker ow" << w << ": " << workers[static_cast<std::size_t>(w)]->output());
    CHECK(admissions(second.output(), "ow" + std::to_string(w)) >= 1);
    CHECK(workers[static_cast<std::size_t>(w)]->wait_for(60s) == 0);
  }
  const auto s = read_summary(summary);
  const auto resumed_at = s.at("first_iteration").to_number<std::uint64_t>();
  CHECK(resumed_at >= 5);
  check_verified(s, resumed_at, iterations - 1);
}

TEST_CASE("a worker refused for a duplicate name backs off and says so") {
  // Needs: refusals that may heal (a name still connected, no free slot) back off exponentially
  // with jitter, the backoff does not reset on a bare TCP connect, and the worker says it is
  // backing off ("backing off" in its output). Today the duplicate retries every few
  // milliseconds: hundreds of refusals in 20 s.
  //
  // A PS for 2 workers with only "dup" joined waits for the second worker for ever; a second
  // "dup" is refused while the first is connected, and joins once the first is gone. A refusal
  // is a line of the PS's log with "refus" and the name.
  auto ps = start_ps(2, 2, 5, {}, temp_file("dup-ps.log"));
  const std::string port = pgc::test::ps_port(*ps);
  auto first = start_worker(port, "dup", 2, {}, temp_file("dup-first.log"));
  INFO(ps->output());
  REQUIRE(ps->wait_for_output_if([](const std::string& out) { return admissions(out, "dup") == 1; },
                                 120s));

  auto second = start_worker(port, "dup", 2, {}, temp_file("dup-second.log"));
  const auto refusals = [&] { return pgc::test::count_lines(ps->output(), "refus", "dup"); };
  REQUIRE(ps->wait_for_output_if(
      [](const std::string& out) { return pgc::test::count_lines(out, "refus", "dup") > 0; },
      120s));
  const int at_first = refusals();
  // The observation window of the contract: at most ~15 refusals in 20 s.
  std::this_thread::sleep_for(20s);
  const int in_window = refusals() - at_first + 1;
  INFO(ps->output());
  INFO(second->output());
  MESSAGE("refusals of the duplicate in 20 s: " << in_window);
  CHECK(in_window <= 15);
  CHECK(in_window >= 2);  // it does retry: the refusal may heal
  CHECK(second->running());
  CHECK(contains_nocase(second->output(), "backing off"));

  // It heals: with the first one gone, the duplicate joins (within its backoff).
  first->signal(SIGKILL);
  first->wait();
  CHECK(ps->wait_for_output_if([](const std::string& out) { return admissions(out, "dup") == 2; },
                               120s));
  ps->signal(SIGTERM);
  ps->wait_for(30s);
}
