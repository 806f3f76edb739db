// The stop policy of process_group: plain state transitions, no coroutines.
#include <csignal>
#include <exception>

#include "pgc/core/error.hpp"
#include "pgc/launch/process_group.hpp"

namespace pgc::launch {

std::string_view to_string(stop_reason reason) noexcept {
  switch (reason) {
    case stop_reason::all_exited:
      return "all_exited";
    case stop_reason::awaited_exited:
      return "awaited_exited";
    case stop_reason::essential_failed:
      return "essential_failed";
    case stop_reason::signal:
      return "signal";
    case stop_reason::readiness_timeout:
      return "readiness_timeout";
    case stop_reason::not_ready:
      return "not_ready";
    case stop_reason::start_failed:
      return "start_failed";
  }
  return "unknown";
}

int group_summary::exit_code() const noexcept {
  if (reason == stop_reason::signal) return 128 + signal;
  if (reason != stop_reason::awaited_exited && reason != stop_reason::all_exited) return 1;
  for (const auto& p : processes) {
    const bool ok = p.status && p.status->success();
    if (p.awaited && !ok) return 1;
    if (p.essential && !p.stopped && !ok) return 1;
  }
  return 0;
}

const process_result* group_summary::find(std::string_view name) const noexcept {
  for (const auto& p : processes) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

void process_group::validate_(const std::vector<command>& commands, std::set<std::string>& names) {
  for (const auto& cmd : commands) {
    if (cmd.name.empty()) throw core::input_error("launch: a command has an empty name");
    if (!names.insert(cmd.name).second) {
      throw core::input_error("launch: two commands are named \"" + cmd.name + "\"");
    }
    if (cmd.argv.empty()) throw core::input_error(cmd.name + ": empty command line");
  }
}

void process_group::note_(std::string_view text) {
  options_.sink(options_.self_name, text);
}

void process_group::on_line_(const std::string& name, std::string_view line) {
  options_.sink(name, line);
  if (!gate_on_ready_fd_) offer_to_gate_(name, line);
}

void process_group::on_ready_line_(const std::string& name, std::string_view line) {
  if (gate_on_ready_fd_) offer_to_gate_(name, line);
}

void process_group::offer_to_gate_(const std::string& name, std::string_view line) {
  if (gate_pending_() && !ready_line_ && name == gate_->process &&
      line.find(gate_->substring) != std::string_view::npos) {
    ready_line_ = std::string(line);
    notify_();
  }
}

std::string process_group::gate_event_() const {
  if (gate_on_ready_fd_) return "signal readiness";
  return "print \"" + gate_->substring + "\"";
}

bool process_group::all_finished_() const noexcept {
  for (const auto& e : entries_) {
    if (!e.finished) return false;
  }
  return true;
}

void process_group::signal_running_(int sig) {
  for (auto& e : entries_) {
    if (!e.finished) e.proc->signal(sig);
  }
}

void process_group::begin_stop_(stop_reason reason, std::string trigger, std::string message) {
  if (stopping_) return;
  stopping_ = true;
  reason_ = reason;
  trigger_ = std::move(trigger);
  message_ = std::move(message);
  signals_at_stop_ = signal_count_;
  note_("stopping: " + message_);
  for (auto& e : entries_)
    e.stopped = !e.finished;
  signal_running_(SIGTERM);
  kill_deadline_ = clock::now() + options_.grace;
}

void process_group::evaluate_() {
  while (!finished_queue_.empty() && !stopping_) {
    const auto& e = entries_[finished_queue_.front()];
    finished_queue_.pop_front();
    const auto& status = e.proc->status();
    const std::string how = status ? status->describe() : std::string("an unknown status");
    const bool ok = status && status->success();
    if (gate_pending_() && e.cmd.name == gate_->process) {
      begin_stop_(stop_reason::not_ready, e.cmd.name,
                  e.cmd.name + " ended (" + how + ") before it could " + gate_event_());
    } else if (e.cmd.awaited) {
      begin_stop_(stop_reason::awaited_exited, e.cmd.name,
                  e.cmd.name + " ended (" + how + "), stopping the others");
    } else if (e.cmd.essential && !ok) {
      begin_stop_(stop_reason::essential_failed, e.cmd.name, e.cmd.name + " failed (" + how + ")");
    } else {
      note_(e.cmd.name + " ended (" + how + ")");
    }
  }
  if (stopping_) return;
  if (signal_count_ > 0) {
    stop_signal_ = last_signal_;
    begin_stop_(stop_reason::signal, signal_name(last_signal_),
                "received " + signal_name(last_signal_));
    return;
  }
  if (gate_pending_()) {
    if (ready_line_) {
      gate_open_ = true;
      if (then_) {
        try {
          auto more = then_(*ready_line_);
          std::set<std::string> names;
          for (const auto& existing : entries_)
            names.insert(existing.cmd.name);
          validate_(more, names);
          start_all_(std::move(more));
        } catch (const std::exception& e) {
          begin_stop_(stop_reason::start_failed, gate_->process, e.what());
        }
      }
    } else if (clock::now() >= gate_deadline_) {
      begin_stop_(stop_reason::readiness_timeout, gate_->process,
                  gate_->process + " did not " + gate_event_() + " within " +
                      std::to_string(gate_->timeout.count()) + " ms");
      return;
    }
  }
  if (!stopping_ && !gate_pending_() && all_finished_()) {
    begin_stop_(stop_reason::all_exited, "", "every process ended");
  }
}

group_summary process_group::summary_() {
  group_summary summary;
  summary.reason = reason_;
  summary.trigger = trigger_;
  summary.message = message_;
  summary.signal = stop_signal_;
  for (const auto& e : entries_) {
    summary.processes.push_back(process_result{e.cmd.name, e.proc->pid(), e.proc->status(),
                                               e.cmd.essential, e.cmd.awaited, e.stopped});
  }
  return summary;
}

}  // namespace pgc::launch
