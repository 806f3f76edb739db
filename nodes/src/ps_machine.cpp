#include "pgc/nodes/ps_machine.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

namespace pgc::nodes {

using core::errc;

namespace {

const coding::scheme& checked_code(const ps_config& config) {
  if (!config.code) throw core::input_error("ps_machine: the config has no scheme");
  if (config.protocol.dimension <= 0) throw core::input_error("ps_machine: the dimension must be positive");
  const int n = config.code->workers();
  if (config.run.first_iteration_workers < 0 || config.run.first_iteration_workers > n) {
    throw core::input_error("ps_machine: first_iteration_workers must lie in [0, " +
                            std::to_string(n) + "]");
  }
  if (config.run.min_workers < 0 || config.run.min_workers > n) {
    throw core::input_error("ps_machine: min_workers must lie in [0, " + std::to_string(n) + "]");
  }
  return *config.code;
}

std::string describe(int worker) {
  return "worker " + std::to_string(worker);
}

}  // namespace

ps_machine::ps_machine(ps_config config)
    : config_(std::move(config)),
      block_(coding::block_layout{config_.protocol.dimension, checked_code(config_).ell()}.block()),
      min_workers_(config_.run.min_workers == 0 ? config_.code->workers() : config_.run.min_workers),
      first_workers_(config_.run.first_iteration_workers == 0 ? min_workers_
                                                          : config_.run.first_iteration_workers),
      tracker_(config_.code->tasks(), config_.code->ell()),
      joined_(static_cast<std::size_t>(config_.code->workers()), false),
      in_iteration_(static_cast<std::size_t>(config_.code->workers()), false),
      replies_(static_cast<std::size_t>(config_.code->workers())) {
  if (config_.run.iterations && config_.run.first_iteration > *config_.run.iterations) {
    throw core::input_error("ps_machine: the first iteration " +
                            std::to_string(config_.run.first_iteration) + " lies beyond the " +
                            std::to_string(*config_.run.iterations) + " configured iterations");
  }
  current_ = next_ = completed_ = config_.run.first_iteration;
}

bool ps_machine::joined(int worker) const {
  return worker >= 0 && worker < config_.code->workers() &&
         joined_[static_cast<std::size_t>(worker)];
}

std::vector<ps_machine::action> ps_machine::on(event e) {
  std::vector<action> out;
  std::visit([&](auto& ev) { on_event(ev, out); }, e);
  return out;
}

std::vector<int> ps_machine::joined_list() const {
  std::vector<int> out;
  for (int w = 0; w < config_.code->workers(); ++w) {
    if (joined_[static_cast<std::size_t>(w)]) out.push_back(w);
  }
  return out;
}

std::vector<int> ps_machine::in_iteration_list() const {
  std::vector<int> out;
  for (int w = 0; w < config_.code->workers(); ++w) {
    if (in_iteration_[static_cast<std::size_t>(w)]) out.push_back(w);
  }
  return out;
}

void ps_machine::start_workers(std::vector<int> to, bool resume, std::vector<action>& out) {
  for (int w : to)
    in_iteration_[static_cast<std::size_t>(w)] = true;
  out.push_back(start_iteration{current_, std::move(to), resume});
}

void ps_machine::count_stale() {
  ++stale_total_;
  ++stats_.stale_dropped;
}

bool ps_machine::exact_possible() const {
  coding::progress_tracker best(config_.code->tasks(), config_.code->ell());
  for (int w = 0; w < config_.code->workers(); ++w) {
    if (joined_[static_cast<std::size_t>(w)]) best.report(w, config_.code->tasks().load(w));
  }
  return config_.code->ready(best);
}

bool ps_machine::remaining_done() const {
  for (int w = 0; w < config_.code->workers(); ++w) {
    if (in_iteration_[static_cast<std::size_t>(w)] &&
        tracker_.state()[static_cast<std::size_t>(w)] < config_.code->tasks().load(w)) {
      return false;
    }
  }
  return true;
}

void ps_machine::check_shortfall(std::vector<action>& out) {
  if (phase_ != phase::computing && phase_ != phase::awaiting) return;
  const bool was = shortfall_;
  shortfall_ = !exact_possible();
  if (shortfall_ == was) return;
  const std::string head = "iteration " + std::to_string(current_) + ": ";
  if (!shortfall_) {
    out.push_back(notice{head + "enough workers again for an exact step"});
    return;
  }
  stats_.shortfall = true;
  const std::string what = head + "the " + std::to_string(joined_count_) +
                           " joined workers cannot give every chunk ell = " +
                           std::to_string(config_.code->ell()) +
                           " copies even if they finish their lists; ";
  switch (config_.run.on_shortfall) {
    case shortfall_policy::wait:
      out.push_back(notice{what + "waiting for workers to join"});
      break;
    case shortfall_policy::approximate:
      out.push_back(notice{what + "decoding approximately from what they compute"});
      if (phase_ == phase::computing) maybe_signal(out);
      break;
    case shortfall_policy::stop:
      out.push_back(notice{what + "stopping"});
      phase_ = phase::finished;
      out.push_back(shutdown{joined_list(), what + "stopping", true});
      break;
  }
}

void ps_machine::on_event(const worker_joined& e, std::vector<action>& out) {
  if (e.worker < 0 || e.worker >= config_.code->workers()) {
    out.push_back(reject{e.worker, errc::invalid_input,
                         "worker id " + std::to_string(e.worker) + " is outside [0, " +
                             std::to_string(config_.code->workers()) + ")"});
    return;
  }
  if (joined(e.worker)) {
    out.push_back(
        reject{e.worker, errc::duplicate_peer, describe(e.worker) + " is already joined"});
    return;
  }
  joined_[static_cast<std::size_t>(e.worker)] = true;
  ++joined_count_;
  out.push_back(send_welcome{e.worker});
  switch (phase_) {
    case phase::waiting_model:
      try_start(out);
      break;
    case phase::computing:
      // A (re)joined worker helps the running iteration from scratch; tracker_.remove left its
      // count at 0, so its new progress counts from there.
      start_workers({e.worker}, false, out);
      check_shortfall(out);
      break;
    case phase::awaiting:
      // It gets the iteration only if the machine resumes or the next one starts: an
      // EncodeAndTransmit now would name a state it never computed.
    case phase::finished:
      break;
  }
}

void ps_machine::on_event(const worker_lost& e, std::vector<action>& out) {
  if (!joined(e.worker)) return;  // already dropped (close_worker, or a repeated report)
  drop(e.worker, out);
}

void ps_machine::drop(int worker, std::vector<action>& out) {
  joined_[static_cast<std::size_t>(worker)] = false;
  in_iteration_[static_cast<std::size_t>(worker)] = false;
  --joined_count_;
  if (phase_ != phase::computing && phase_ != phase::awaiting) return;
  ++stats_.workers_lost;
  tracker_.remove(worker);
  check_shortfall(out);
  if (phase_ != phase::awaiting) return;  // less progress can only delay the signal

  const bool was_awaited = std::binary_search(awaited_.begin(), awaited_.end(), worker);
  // Not a sender, or its reply is already in: the decode of the signalled state does not need
  // it any more.
  if (!was_awaited || replies_[static_cast<std::size_t>(worker)].owner) return;
  if (may_signal()) {
    signal(out);  // the others re-encode for the smaller state
    return;
  }
  // Not enough left: back to collecting progress. The workers stopped at EncodeAndTransmit,
  // so tell them to go on (they keep their chunk gradients); a worker that joined meanwhile
  // starts the iteration from scratch on the same message.
  phase_ = phase::computing;
  start_workers(joined_list(), true, out);
}

void ps_machine::on_event(const progress& e, std::vector<action>& out) {
  if (!joined(e.worker)) {
    out.push_back(reject{e.worker, errc::unknown_peer,
                         "progress from " + describe(e.worker) + ", which has not joined"});
    return;
  }
  if (!started_ || e.iteration > current_) {
    out.push_back(send_error{
        e.worker, errc::protocol_violation,
        "progress for iteration " + std::to_string(e.iteration) + ", which has not started"});
    return;
  }
  if (e.iteration < current_ || (phase_ != phase::computing && phase_ != phase::awaiting)) {
    count_stale();
    return;
  }
  // A worker that (re)joined while the PS awaited replies was not sent StartIteration: its count
  // would make it an awaited sender of the next signal, which is not sent to it (found by
  // tests/fuzz: the iteration then waits for a reply nobody asked for).
  if (!in_iteration_[static_cast<std::size_t>(e.worker)]) {
    out.push_back(send_error{e.worker, errc::protocol_violation,
                             "progress for iteration " + std::to_string(e.iteration) + ", which " +
                                 describe(e.worker) + " was not started on"});
    return;
  }
  const int load = config_.code->tasks().load(e.worker);
  if (e.chunks_done < 0 || e.chunks_done > load) {
    out.push_back(send_error{e.worker, errc::invalid_input,
                             "progress " + std::to_string(e.chunks_done) + " is outside [0, " +
                                 std::to_string(load) + "]"});
    return;
  }
  const int known = tracker_.state()[static_cast<std::size_t>(e.worker)];
  if (e.chunks_done < known) {
    out.push_back(send_error{e.worker, errc::protocol_violation,
                             "progress went back from " + std::to_string(known) + " to " +
                                 std::to_string(e.chunks_done)});
    return;
  }
  if (e.chunks_done == known) return;  // nothing new
  // Recorded in the awaiting phase too: if a sender is lost the next signal can use it.
  tracker_.report(e.worker, e.chunks_done);
  if (phase_ == phase::computing) maybe_signal(out);
}

void ps_machine::on_event(encoded& e, std::vector<action>& out) {
  if (!joined(e.worker)) {
    out.push_back(reject{e.worker, errc::unknown_peer,
                         "coded vector from " + describe(e.worker) + ", which has not joined"});
    return;
  }
  const bool future =
      !started_ || e.iteration > current_ || (e.iteration == current_ && e.epoch >= signals_);
  if (future) {
    out.push_back(send_error{e.worker, errc::protocol_violation,
                             "coded vector for iteration " + std::to_string(e.iteration) +
                                 " epoch " + std::to_string(e.epoch) + ", which was never asked"});
    return;
  }
  if (e.iteration < current_ || phase_ != phase::awaiting || e.epoch + 1 != signals_) {
    count_stale();
    return;
  }
  if (!std::binary_search(awaited_.begin(), awaited_.end(), e.worker)) {
    out.push_back(send_error{e.worker, errc::protocol_violation,
                             describe(e.worker) + " sent a coded vector but has nothing to send "
                                                  "at this state"});
    return;
  }
  auto& slot = replies_[static_cast<std::size_t>(e.worker)];
  if (slot.owner) {  // a repeated reply
    count_stale();
    return;
  }
  if (!e.view.owner) {
    // A plain vector: the machine keeps it as the owner of its own view.
    auto kept = std::make_shared<const std::vector<double>>(std::move(e.payload));
    e.view = coded_view{kept, coding::coded_column{kept->data(), nullptr}, kept->size()};
  }
  const bool one_view = (e.view.column.f64 == nullptr) != (e.view.column.f32 == nullptr);
  if (!one_view || static_cast<int>(e.view.size) != block_) {
    out.push_back(send_error{e.worker, errc::invalid_input,
                             "coded vector of length " + std::to_string(e.view.size) +
                                 ", expected " + std::to_string(block_)});
    // Without its reply the iteration cannot finish, and it will not send a better one.
    out.push_back(close_worker{e.worker});
    drop(e.worker, out);
    return;
  }
  slot = std::move(e.view);
  if (--missing_ == 0) complete(out);
}

void ps_machine::on_event(const deadline_fired& e, std::vector<action>& out) {
  if (config_.protocol.mode != signal_mode::approximate || !started_ || e.iteration != current_) return;
  if (phase_ != phase::computing && phase_ != phase::awaiting) return;
  // Remembered while awaiting too: after a lost sender the machine re-signals at once.
  deadline_passed_ = true;
  if (phase_ == phase::computing) maybe_signal(out);
}

void ps_machine::on_event(const model_ready& e, std::vector<action>& out) {
  if (phase_ != phase::waiting_model || e.iteration != next_) return;
  if (config_.run.iterations && e.iteration >= *config_.run.iterations) {
    phase_ = phase::finished;
    out.push_back(shutdown{joined_list(), "training finished"});
    return;
  }
  model_ready_ = true;
  try_start(out);
}

void ps_machine::try_start(std::vector<action>& out) {
  const int needed = started_ ? min_workers_ : first_workers_;
  if (phase_ != phase::waiting_model || !model_ready_ || joined_count_ < needed) return;
  model_ready_ = false;
  started_ = true;
  current_ = next_;
  next_ = current_ + 1;
  phase_ = phase::computing;
  tracker_.reset();
  // Workers that are not joined count 0 until they rejoin and report.
  deadline_passed_ = false;
  signals_ = 0;
  awaited_.clear();
  stats_ = iteration_stats{};
  std::fill(in_iteration_.begin(), in_iteration_.end(), false);
  shortfall_ = false;
  start_workers(joined_list(), false, out);
  if (config_.protocol.mode == signal_mode::approximate) {
    out.push_back(arm_deadline{current_, config_.protocol.deadline});
  }
  check_shortfall(out);
}

bool ps_machine::may_signal() const {
  if (config_.code->ready(tracker_)) return true;
  // Short of workers and told to go on: once the remaining ones have nothing more to compute.
  if (shortfall_ && config_.run.on_shortfall == shortfall_policy::approximate && remaining_done()) {
    return !config_.code->senders(tracker_.state()).empty();
  }
  // At the deadline anything goes, as long as somebody has something to send.
  return config_.protocol.mode == signal_mode::approximate && deadline_passed_ &&
         !config_.code->senders(tracker_.state()).empty();
}

void ps_machine::maybe_signal(std::vector<action>& out) {
  if (may_signal()) signal(out);
}

void ps_machine::signal(std::vector<action>& out) {
  const auto& code = *config_.code;
  signalled_ = tracker_.state();
  awaited_ = code.senders(signalled_);
  if (awaited_.empty()) return;  // cannot happen for a ready scheme; nothing to decode from
  phase_ = phase::awaiting;
  const std::uint32_t epoch = signals_++;
  for (auto& r : replies_)
    r = coded_view{};
  missing_ = static_cast<int>(awaited_.size());

  stats_.epochs = signals_;
  stats_.exact = code.exact(tracker_);
  stats_.by_deadline = !code.ready(tracker_);
  stats_.chunks_processed = tracker_.processed();
  stats_.copies = tracker_.copies();
  stats_.chunks_used = 0;
  for (int w : awaited_)
    stats_.chunks_used += code.used(w, signalled_);

  out.push_back(encode_and_transmit{current_, epoch, signalled_, in_iteration_list()});
}

void ps_machine::complete(std::vector<action>& out) {
  std::vector<coded_view> coded;
  coded.reserve(awaited_.size());
  for (int w : awaited_) {
    auto& reply = replies_[static_cast<std::size_t>(w)];
    coded.push_back(std::move(reply));
    reply = coded_view{};
  }
  phase_ = phase::waiting_model;
  ++completed_;
  out.push_back(decode{current_, signals_ - 1, signalled_, awaited_, std::move(coded), stats_});
}

Eigen::MatrixXd ps_machine::decode::coded_matrix() const {
  const auto rows = coded.empty() ? 0 : static_cast<Eigen::Index>(coded.front().size);
  Eigen::MatrixXd m(rows, static_cast<Eigen::Index>(coded.size()));
  for (std::size_t t = 0; t < coded.size(); ++t) {
    const auto& c = coded[t];
    auto col = m.col(static_cast<Eigen::Index>(t));
    if (c.column.f64 != nullptr) {
      col = Eigen::Map<const Eigen::VectorXd>(c.column.f64, rows);
    } else {
      col = Eigen::Map<const Eigen::VectorXf>(c.column.f32, rows).cast<double>();
    }
  }
  return m;
}

decoded_gradient decode_gradient(const coding::scheme& code, const ps_machine::decode& job,
                                 int dimension) {
  if (dimension < 1) throw core::input_error("dimension d must be at least 1");
  decoded_gradient out{Eigen::VectorXd(dimension), 0.0};
  out.expected_error = decode_gradient_into(code, job, out.gradient);
  return out;
}

double decode_gradient_into(const coding::scheme& code, const ps_machine::decode& job,
                            Eigen::Ref<Eigen::VectorXd> gradient) {
  const auto block = static_cast<std::size_t>(
      coding::block_layout{static_cast<int>(gradient.size()), code.ell()}.block());
  std::vector<coding::coded_column> columns;
  columns.reserve(job.coded.size());
  for (const auto& c : job.coded) {
    if (c.size != block) throw core::input_error("decode: a coded vector of the wrong length");
    columns.push_back(c.column);
  }
  coding::decode_into(code, job.state, job.from, columns, gradient);
  return coding::expected_error(code, job.state, job.from, static_cast<int>(gradient.size()));
}

}  // namespace pgc::nodes
