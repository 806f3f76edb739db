#include "pgc/nodes/ps_monitor.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/json.hpp>

#include "pgc/coding/baselines.hpp"
#include "pgc/core/error.hpp"

namespace pgc::nodes {

namespace json = boost::json;

namespace {

// Upper bounds of the iteration-time histogram, in seconds.
constexpr std::array<double, 12> seconds_bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                0.5,   1.0,  2.5,   5.0,  10.0, 30.0};

// A worker is slow when its moving seconds-per-chunk is this many times the median's.
constexpr double slow_factor = 2.0;
// Weight of the newest observation in the seconds-per-chunk moving average.
constexpr double average_weight = 0.3;

double seconds_between(ps_monitor::clock::time_point a, ps_monitor::clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// A JSON number that is never NaN/inf (boost::json would write them as invalid JSON).
json::value number(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

// Prometheus label values escape backslash, double quote and newline.
std::string label_value(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // The shortest text that reads back as the same double.
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

}  // namespace

ps_monitor::ps_monitor(std::string run_id, ps_config config, clock::time_point now,
                       std::size_t history_limit, std::size_t event_limit)
    : run_id_(std::move(run_id)),
      config_(std::move(config)),
      created_(now),
      history_limit_(std::max<std::size_t>(history_limit, 1)),
      event_limit_(std::max<std::size_t>(event_limit, 1)),
      seconds_buckets_(seconds_bounds.size(), 0) {
  if (!config_.code) throw core::input_error("ps_monitor: the config has no scheme");
  workers_.resize(static_cast<std::size_t>(config_.code->workers()));
  for (std::size_t w = 0; w < workers_.size(); ++w)
    workers_[w].assigned = config_.code->tasks().load(static_cast<int>(w));
}

double ps_monitor::since_start(clock::time_point now) const {
  return seconds_between(created_, now);
}

void ps_monitor::log_event(std::string text, clock::time_point now) {
  events_.push_back({since_start(now), iteration_, std::move(text)});
  while (events_.size() > event_limit_)
    events_.pop_front();
  ++version_;
}

void ps_monitor::note(std::string text, clock::time_point now) {
  log_event(std::move(text), now);
}

void ps_monitor::admitted(int worker, std::string_view name, clock::time_point now) {
  if (worker < 0 || static_cast<std::size_t>(worker) >= workers_.size()) return;
  auto& w = workers_[static_cast<std::size_t>(worker)];
  const bool again = !w.name.empty();
  w.name = std::string(name);
  log_event("worker " + std::to_string(worker) + " (" + w.name + ") " +
                (again ? "rejoined" : "joined"),
            now);
}

void ps_monitor::refused(std::string_view why, clock::time_point now) {
  ++refused_total_;
  log_event("refused a connection: " + std::string(why), now);
}

ps_monitor::worker_status* ps_monitor::find(int worker) {
  if (worker < 0 || static_cast<std::size_t>(worker) >= workers_.size()) return nullptr;
  return &workers_[static_cast<std::size_t>(worker)];
}

void ps_monitor::update_slow() {
  std::vector<double> rates;
  for (const auto& w : workers_)
    if (w.connected && w.seconds_per_chunk > 0) rates.push_back(w.seconds_per_chunk);
  if (rates.size() < 2) {
    for (auto& w : workers_)
      w.slow = false;
    return;
  }
  // The lower median: with a few stragglers among few workers it still sits among the others.
  const auto mid = rates.begin() + static_cast<std::ptrdiff_t>((rates.size() - 1) / 2);
  std::nth_element(rates.begin(), mid, rates.end());
  const double median = *mid;
  for (auto& w : workers_)
    w.slow = w.connected && w.seconds_per_chunk > slow_factor * median;
}

void ps_monitor::observe(const ps_machine::event& event, const ps_machine& m,
                         clock::time_point now) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ps_machine::worker_joined>) {
          worker_status* found = find(e.worker);
          if (!found) return;
          auto& w = *found;
          w.connected = true;
          w.in_iteration = false;
          w.status = "waiting";
          ++version_;
        } else if constexpr (std::is_same_v<T, ps_machine::worker_lost>) {
          worker_status* found = find(e.worker);
          if (!found) return;
          auto& w = *found;
          if (!w.connected) return;
          w.connected = false;
          // Lost in the middle of an iteration it was part of: a failure the PS works around.
          const bool failed = w.in_iteration && iteration_running_;
          w.status = failed ? "failed" : "disconnected";
          w.in_iteration = false;
          w.slow = false;
          if (failed) ++workers_lost_total_;
          log_event("worker " + std::to_string(e.worker) + " (" + w.name + ") " +
                        (failed ? "lost during iteration " + std::to_string(iteration_)
                                : std::string("disconnected")),
                    now);
          update_slow();
        } else if constexpr (std::is_same_v<T, ps_machine::progress>) {
          worker_status* found = find(e.worker);
          if (!found) return;
          auto& w = *found;
          if (!w.connected || e.iteration != m.iteration() || !w.in_iteration ||
              e.chunks_done <= w.chunks_done || e.chunks_done > w.assigned) {
            return;  // stale or repeated: the machine drops it as well
          }
          const double per_chunk =
              seconds_between(w.last_mark, now) / static_cast<double>(e.chunks_done - w.chunks_done);
          w.seconds_per_chunk = w.seconds_per_chunk > 0
                                    ? (1 - average_weight) * w.seconds_per_chunk +
                                          average_weight * per_chunk
                                    : per_chunk;
          w.chunks_done = e.chunks_done;
          w.last_mark = now;
          if (w.status == "computing" && w.chunks_done == w.assigned) w.status = "idle";
          update_slow();
          ++version_;
        } else if constexpr (std::is_same_v<T, ps_machine::encoded>) {
          worker_status* found = find(e.worker);
          if (!found) return;
          auto& w = *found;
          if (e.iteration == m.iteration() && w.status == "encoding") {
            w.status = "sent";
            ++version_;
          }
        } else if constexpr (std::is_same_v<T, ps_machine::deadline_fired>) {
          if (e.iteration == m.iteration() && m.current_phase() == ps_machine::phase::computing) {
            log_event("deadline of iteration " + std::to_string(e.iteration) + " reached", now);
          }
        } else {
          static_assert(std::is_same_v<T, ps_machine::model_ready>);
        }
      },
      event);
}

void ps_monitor::observe(const ps_machine::action& action, const ps_machine& m,
                         clock::time_point now) {
  std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, ps_machine::start_iteration>) {
          if (!a.resume) {
            iteration_ = a.iteration;
            iteration_start_ = now;
            iteration_running_ = true;
          } else {
            log_event("iteration " + std::to_string(a.iteration) +
                          ": too few chunks left after a loss; workers resume",
                      now);
          }
          for (int id : a.to) {
            if (id < 0 || static_cast<std::size_t>(id) >= workers_.size()) continue;
            auto& w = workers_[static_cast<std::size_t>(id)];
            w.in_iteration = true;
            w.status = "computing";
            if (!a.resume || a.iteration != iteration_) w.chunks_done = 0;
            w.last_mark = now;
          }
          ++version_;
        } else if constexpr (std::is_same_v<T, ps_machine::encode_and_transmit>) {
          for (int id : a.to) {
            if (id < 0 || static_cast<std::size_t>(id) >= workers_.size()) continue;
            auto& w = workers_[static_cast<std::size_t>(id)];
            const auto s = static_cast<std::size_t>(id);
            // A worker stopped in the middle of a chunk has spent at least this long on it: a
            // straggler that never finishes a chunk before the others still shows as slow.
            if (a.epoch == 0 && w.status == "computing" && w.chunks_done < w.assigned) {
              const double lower_bound = seconds_between(w.last_mark, now);
              if (lower_bound > w.seconds_per_chunk) {
                w.seconds_per_chunk =
                    w.seconds_per_chunk > 0
                        ? (1 - average_weight) * w.seconds_per_chunk + average_weight * lower_bound
                        : lower_bound;
              }
            }
            w.status = s < a.state.size() && a.state[s] > 0 ? "encoding" : "idle";
          }
          update_slow();
          if (a.epoch > 0) {
            log_event("iteration " + std::to_string(a.iteration) + ": re-signalled with epoch " +
                          std::to_string(a.epoch),
                      now);
          } else if (!m.ready()) {
            log_event("iteration " + std::to_string(a.iteration) +
                          ": signalled at the deadline without exact coverage",
                      now);
          }
          ++version_;
        } else if constexpr (std::is_same_v<T, ps_machine::decode>) {
          iteration_running_ = false;
          for (auto& w : workers_) {
            if (w.connected) w.status = "waiting";
            w.in_iteration = false;
          }
          ++version_;
        } else if constexpr (std::is_same_v<T, ps_machine::reject>) {
          refused(a.text, now);
        } else if constexpr (std::is_same_v<T, ps_machine::send_error>) {
          log_event("error to worker " + std::to_string(a.worker) + ": " + a.text, now);
        } else if constexpr (std::is_same_v<T, ps_machine::shutdown>) {
          log_event("shutdown: " + a.reason, now);
        } else if constexpr (std::is_same_v<T, ps_machine::notice>) {
          log_event(a.text, now);
        }
      },
      action);
}

void ps_monitor::completed(std::uint64_t iteration, const iteration_stats& stats, double seconds,
                           double expected_error, clock::time_point now) {
  iteration_entry e;
  e.iteration = iteration;
  e.seconds = seconds;
  e.stats = stats;
  e.stats.copies.clear();  // per chunk: not shown per past iteration, and m ints each
  e.stats.copies.shrink_to_fit();
  e.expected_error = expected_error;
  history_.push_back(std::move(e));
  while (history_.size() > history_limit_)
    history_.pop_front();
  epochs_total_ += stats.epochs;
  if (!stats.exact) ++approximate_total_;
  for (std::size_t b = 0; b < seconds_bounds.size(); ++b)
    if (seconds <= seconds_bounds[b]) ++seconds_buckets_[b];
  seconds_sum_ += seconds;
  ++observed_;
  (void)now;
  ++version_;
}

void ps_monitor::annotate(std::uint64_t iteration, std::string_view key, double value) {
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
    if (it->iteration == iteration) {
      it->values.insert_or_assign(std::string(key), value);
      ++version_;
      return;
    }
  }
}

void ps_monitor::set_baseline(std::string label, std::vector<double> seconds) {
  baseline_label_ = std::move(label);
  baseline_seconds_ = std::move(seconds);
  ++version_;
}

std::string ps_monitor::snapshot(const ps_machine& m, clock::time_point now) const {
  json::object o;
  o["run_id"] = run_id_;
  o["scheme"] = coding::to_string(config_.protocol.scheme.kind);
  o["mode"] = core::name_of(signal_mode_names(), config_.protocol.mode);
  o["n"] = config_.code->workers();
  o["m"] = config_.code->chunks();
  o["ell"] = config_.code->ell();
  o["d"] = config_.protocol.dimension;
  if (config_.run.iterations) {
    o["iterations"] = *config_.run.iterations;
  } else {
    o["iterations"] = nullptr;
  }
  o["iteration"] = m.iteration();
  o["completed"] = m.completed();
  const char* phase = "waiting";
  switch (m.current_phase()) {
    case ps_machine::phase::waiting_model: phase = "waiting"; break;
    case ps_machine::phase::computing: phase = "computing"; break;
    case ps_machine::phase::awaiting: phase = "awaiting"; break;
    case ps_machine::phase::finished: phase = "finished"; break;
  }
  o["phase"] = phase;
  o["epoch"] = m.signals() > 0 ? m.signals() - 1 : 0;
  o["ready"] = m.ready();
  o["elapsed_seconds"] = iteration_running_ ? seconds_between(iteration_start_, now) : 0.0;
  o["uptime_seconds"] = since_start(now);
  o["joined"] = m.joined_count();
  o["stale_dropped"] = m.stale_dropped();

  json::array state;
  for (int s : m.state())
    state.push_back(s);
  o["state"] = std::move(state);
  json::array coverage;
  for (int c : m.copies())
    coverage.push_back(c);
  o["coverage"] = std::move(coverage);

  json::array workers;
  for (std::size_t id = 0; id < workers_.size(); ++id) {
    const auto& w = workers_[id];
    json::object x;
    x["id"] = id;
    x["name"] = w.name;
    x["connected"] = w.connected;
    x["status"] = w.status;
    x["slow"] = w.slow;
    x["chunks_done"] = w.chunks_done;
    x["assigned"] = w.assigned;
    x["seconds_per_chunk"] = number(w.seconds_per_chunk);
    x["since_progress_seconds"] =
        w.connected && w.in_iteration ? seconds_between(w.last_mark, now) : 0.0;
    workers.push_back(std::move(x));
  }
  o["workers"] = std::move(workers);

  json::array history;
  for (const auto& e : history_) {
    json::object h;
    h["iteration"] = e.iteration;
    h["seconds"] = number(e.seconds);
    h["epochs"] = e.stats.epochs;
    h["exact"] = e.stats.exact;
    h["by_deadline"] = e.stats.by_deadline;
    h["chunks_used"] = e.stats.chunks_used;
    h["chunks_processed"] = e.stats.chunks_processed;
    h["workers_lost"] = e.stats.workers_lost;
    h["expected_error"] = number(e.expected_error);
    for (const auto& [key, value] : e.values)
      h[key] = number(value);
    history.push_back(std::move(h));
  }
  o["history"] = std::move(history);

  if (baseline_label_) {
    json::object b;
    b["label"] = *baseline_label_;
    json::array s;
    for (double v : baseline_seconds_)
      s.push_back(number(v));
    b["seconds"] = std::move(s);
    o["baseline"] = std::move(b);
  } else {
    o["baseline"] = nullptr;
  }

  json::array events;
  for (const auto& e : events_) {
    json::object x;
    x["t"] = e.t;
    x["iteration"] = e.iteration;
    x["text"] = e.text;
    events.push_back(std::move(x));
  }
  o["events"] = std::move(events);
  return json::serialize(o);
}

std::string ps_monitor::metrics(const ps_machine& m, clock::time_point now) const {
  std::ostringstream out;
  const std::string run =
      "scheme=\"" + label_value(std::string(coding::to_string(config_.protocol.scheme.kind))) +
      "\",mode=\"" + label_value(std::string(core::name_of(signal_mode_names(), config_.protocol.mode))) + "\"";
  auto metric = [&](const char* name, const char* type, const char* help, double value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
        << name << '{' << run << "} " << format_number(value) << '\n';
  };
  metric("pgc_iterations_completed_total", "counter", "Iterations decoded and applied.",
         static_cast<double>(m.completed()));
  metric("pgc_iteration", "gauge", "The running (or last) iteration.",
         static_cast<double>(m.iteration()));
  metric("pgc_epochs_total", "counter", "EncodeAndTransmit signals, re-signals included.",
         static_cast<double>(epochs_total_));
  metric("pgc_approximate_iterations_total", "counter",
         "Iterations whose decoded gradient was not exact.", static_cast<double>(approximate_total_));
  metric("pgc_workers_lost_total", "counter", "Workers lost during an iteration.",
         static_cast<double>(workers_lost_total_));
  metric("pgc_connections_refused_total", "counter", "Connections refused at the handshake.",
         static_cast<double>(refused_total_));
  metric("pgc_stale_messages_dropped_total", "counter",
         "Messages of a past iteration or epoch that were dropped.",
         static_cast<double>(m.stale_dropped()));
  metric("pgc_workers_joined", "gauge", "Workers connected and admitted.",
         static_cast<double>(m.joined_count()));
  metric("pgc_iteration_elapsed_seconds", "gauge", "Time since the running iteration started.",
         iteration_running_ ? seconds_between(iteration_start_, now) : 0.0);
  if (!history_.empty()) {
    for (const auto& [key, value] : history_.back().values) {
      const std::string name = "pgc_" + key;
      if (std::all_of(key.begin(), key.end(),
                      [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; })) {
        metric(name.c_str(), "gauge", "Value reported for the last iteration.", value);
      }
    }
  }

  out << "# HELP pgc_iteration_seconds Wall time of completed iterations.\n"
         "# TYPE pgc_iteration_seconds histogram\n";
  for (std::size_t b = 0; b < seconds_bounds.size(); ++b) {
    out << "pgc_iteration_seconds_bucket{" << run << ",le=\"" << format_number(seconds_bounds[b])
        << "\"} " << seconds_buckets_[b] << '\n';
  }
  out << "pgc_iteration_seconds_bucket{" << run << ",le=\"+Inf\"} " << observed_ << '\n'
      << "pgc_iteration_seconds_sum{" << run << "} " << format_number(seconds_sum_) << '\n'
      << "pgc_iteration_seconds_count{" << run << "} " << observed_ << '\n';

  auto per_worker = [&](const char* name, const char* help, auto value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n";
    for (std::size_t id = 0; id < workers_.size(); ++id) {
      out << name << "{worker=\"" << id << "\",name=\"" << label_value(workers_[id].name)
          << "\"} " << format_number(value(workers_[id])) << '\n';
    }
  };
  per_worker("pgc_worker_connected", "1 when the worker is connected.",
             [](const worker_status& w) { return w.connected ? 1.0 : 0.0; });
  per_worker("pgc_worker_slow", "1 when the worker is markedly slower than the median.",
             [](const worker_status& w) { return w.slow ? 1.0 : 0.0; });
  per_worker("pgc_worker_chunks_done", "Chunks the worker processed in this iteration.",
             [](const worker_status& w) { return static_cast<double>(w.chunks_done); });
  per_worker("pgc_worker_seconds_per_chunk", "Moving average of the worker's time per chunk.",
             [](const worker_status& w) { return w.seconds_per_chunk; });
  return out.str();
}

}  // namespace pgc::nodes
