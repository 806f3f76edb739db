#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgc/nodes/ps_machine.hpp"

namespace pgc::nodes {

// The parameter server's observable status (the dashboard's snapshot and the Prometheus
// metrics), kept beside the ps_machine: the shell shows it every event it feeds the machine and
// every action the machine returns, and the monitor derives per-worker status, slowness,
// timings and an event log from them. Pure and deterministic (time is passed in); one thread.
class ps_monitor {
 public:
  using clock = std::chrono::steady_clock;

  struct worker_status {
    std::string name;
    bool connected = false;
    bool in_iteration = false;
    // waiting | computing | encoding | sent | idle | failed | disconnected
    std::string status = "disconnected";
    int chunks_done = 0;
    int assigned = 0;
    clock::time_point last_mark{};     // iteration start or the last progress
    double seconds_per_chunk = 0;      // moving average over progress reports; 0: none yet
    bool slow = false;
  };

  struct iteration_entry {
    std::uint64_t iteration = 0;
    double seconds = 0;
    iteration_stats stats;
    double expected_error = 0;
    std::map<std::string, double, std::less<>> values;  // loss, accuracy, ... (annotate)
  };

  struct event_entry {
    double t = 0;  // seconds since the monitor was made
    std::uint64_t iteration = 0;
    std::string text;
  };

  // `assigned[w]`: the length of worker w's list.
  // `config` is the machine's, as is: the header, the labels and the list lengths come from it.
  // `run_id` is unique per PS process: the page resets its charts when it changes.
  ps_monitor(std::string run_id, ps_config config, clock::time_point now,
             std::size_t history_limit = 500, std::size_t event_limit = 200);

  // The shell accepted a Hello from `name` as this worker (before feeding worker_joined).
  void admitted(int worker, std::string_view name, clock::time_point now);
  // A connection refused before or at Hello, for the event log.
  void refused(std::string_view why, clock::time_point now);
  // Every event the machine is fed, before it is fed.
  void observe(const ps_machine::event& e, const ps_machine& m, clock::time_point now);
  // Every action the machine returned, in order.
  void observe(const ps_machine::action& a, const ps_machine& m, clock::time_point now);
  // An iteration is complete (the step is applied).
  void completed(std::uint64_t iteration, const iteration_stats& stats, double seconds,
                 double expected_error, clock::time_point now);
  // A value of a completed iteration (loss, accuracy); ignored for iterations not in history.
  void annotate(std::uint64_t iteration, std::string_view key, double value);
  // The iteration times of a comparison run (e.g. original gradient coding), drawn beside.
  void set_baseline(std::string label, std::vector<double> seconds);
  void note(std::string text, clock::time_point now);

  // Bumped by every change; the shell publishes when it moved.
  std::uint64_t version() const noexcept { return version_; }
  // The dashboard's JSON snapshot (keys documented in README.md, "Dashboard").
  std::string snapshot(const ps_machine& m, clock::time_point now) const;
  // Prometheus text exposition format 0.0.4.
  std::string metrics(const ps_machine& m, clock::time_point now) const;

  const std::vector<worker_status>& workers() const noexcept { return workers_; }
  const std::deque<iteration_entry>& history() const noexcept { return history_; }
  const std::deque<event_entry>& events() const noexcept { return events_; }

 private:
  void log_event(std::string text, clock::time_point now);
  void update_slow();
  // The worker's status, or null for an id out of range (bad peer input).
  worker_status* find(int worker);
  double since_start(clock::time_point now) const;

  std::string run_id_;
  ps_config config_;
  clock::time_point created_;
  std::size_t history_limit_;
  std::size_t event_limit_;
  std::vector<worker_status> workers_;
  std::deque<iteration_entry> history_;
  std::deque<event_entry> events_;
  std::optional<std::string> baseline_label_;
  std::vector<double> baseline_seconds_;
  clock::time_point iteration_start_{};
  bool iteration_running_ = false;
  std::uint64_t iteration_ = 0;
  std::uint64_t version_ = 0;
  // Totals for the metrics.
  std::uint64_t epochs_total_ = 0;
  std::uint64_t approximate_total_ = 0;
  std::uint64_t workers_lost_total_ = 0;
  std::uint64_t refused_total_ = 0;
  std::vector<std::uint64_t> seconds_buckets_;  // cumulative counts per bucket bound
  double seconds_sum_ = 0;
  std::uint64_t observed_ = 0;
};

}  // namespace pgc::nodes
