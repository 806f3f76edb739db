#include "pgc/nodes/worker_machine.hpp"

#include <string>
#include <utility>

namespace pgc::nodes {

using core::errc;

std::vector<worker_machine::action> worker_machine::on(event e) {
  std::vector<action> out;
  std::visit([&](auto& ev) { on_event(ev, out); }, e);
  return out;
}

int worker_machine::load() const {
  return config_.code->tasks().load(config_.worker);
}

bool worker_machine::check_configured(std::vector<action>& out) {
  if (configured()) return true;
  out.push_back(send_error{errc::protocol_violation, "a message before Welcome"});
  return false;
}

void worker_machine::on_event(welcome& e, std::vector<action>& out) {
  const auto& c = e.config;
  if (!c.code || c.worker < 0 || c.worker >= c.code->workers() || c.dimension <= 0) {
    out.push_back(send_error{errc::invalid_input, "Welcome without a usable configuration"});
    return;
  }
  forget(out);
  config_ = std::move(e.config);
  ended_ = false;
}

void worker_machine::forget(std::vector<action>& out) {
  if (running_) out.push_back(drop_gradients{current_});
  running_ = false;
  computed_ = 0;
  stopped_ = false;
  epoch_.reset();
  in_flight_.reset();  // its result will be stale: the ticket is never reused
}

void worker_machine::on_event(const connection_lost&, std::vector<action>& out) {
  forget(out);
}

void worker_machine::on_event(const start_iteration& e, std::vector<action>& out) {
  if (!check_configured(out) || ended_) return;
  if (running_ && e.iteration < current_) {
    ++stale_;
    return;
  }
  if (running_ && e.iteration == current_) {
    stopped_ = false;  // resume; a repeated StartIteration while computing changes nothing
    advance(out);
    return;
  }
  if (running_) out.push_back(drop_gradients{current_});
  running_ = true;
  current_ = e.iteration;
  computed_ = 0;
  stopped_ = false;
  epoch_.reset();
  in_flight_.reset();  // a chunk of the old iteration still running is stale
  advance(out);
}

void worker_machine::advance(std::vector<action>& out) {
  if (stopped_ || in_flight_ || computed_ >= load()) return;
  const auto list = config_.code->tasks().list(config_.worker);
  in_flight_ = next_ticket_++;
  out.push_back(
      compute_chunk{*in_flight_, current_, computed_, list[static_cast<std::size_t>(computed_)]});
}

void worker_machine::on_event(const chunk_computed& e, std::vector<action>& out) {
  if (!in_flight_ || e.ticket != *in_flight_) {
    ++stale_;  // an old iteration's or an old connection's chunk
    return;
  }
  in_flight_.reset();
  out.push_back(keep_gradient{e.ticket, current_, computed_});
  ++computed_;
  // Reported even after EncodeAndTransmit: if the PS loses a sender, its next state may use it.
  out.push_back(send_progress{current_, computed_});
  advance(out);
}

void worker_machine::on_event(const encode_and_transmit& e, std::vector<action>& out) {
  if (!check_configured(out) || ended_) return;
  const auto& code = *config_.code;
  if (!running_ || e.iteration > current_) {
    out.push_back(send_error{errc::protocol_violation, "EncodeAndTransmit for iteration " +
                                                           std::to_string(e.iteration) +
                                                           ", which has not started"});
    return;
  }
  if (e.iteration < current_ || (epoch_ && e.epoch <= *epoch_)) {
    ++stale_;
    return;
  }
  if (static_cast<int>(e.state.size()) != code.workers()) {
    out.push_back(send_error{errc::invalid_input,
                             "state vector of " + std::to_string(e.state.size()) +
                                 " entries, expected " + std::to_string(code.workers())});
    return;
  }
  for (int w = 0; w < code.workers(); ++w) {
    const int v = e.state[static_cast<std::size_t>(w)];
    if (v < 0 || v > code.tasks().load(w)) {
      out.push_back(send_error{errc::invalid_input, "state vector entry " + std::to_string(w) +
                                                        " = " + std::to_string(v) +
                                                        " is out of range"});
      return;
    }
  }
  // The PS only knows counts this worker reported, and it reports after keeping a gradient.
  const int mine = e.state[static_cast<std::size_t>(config_.worker)];
  const int used = code.used(config_.worker, e.state);
  if (mine > computed_ || used > computed_) {
    out.push_back(
        send_error{errc::protocol_violation, "the state vector counts " + std::to_string(mine) +
                                                 " chunks of this worker, it has computed " +
                                                 std::to_string(computed_)});
    return;
  }
  epoch_ = e.epoch;
  stopped_ = true;  // a chunk in flight may finish; it is kept for a later epoch
  if (used > 0) out.push_back(encode{current_, e.epoch, e.state, used});
}

void worker_machine::on_event(const shutdown&, std::vector<action>& out) {
  forget(out);
  ended_ = true;
  out.push_back(stop{});
}

}  // namespace pgc::nodes
