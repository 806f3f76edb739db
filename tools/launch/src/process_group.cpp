#include "pgc/launch/process_group.hpp"

#include <csignal>
#include <exception>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pgc/core/error.hpp"
#include "pgc/launch/prefix_writer.hpp"

namespace pgc::launch {

namespace asio = boost::asio;

process_group::process_group(asio::any_io_executor executor, group_options options)
    : executor_(std::move(executor)), options_(std::move(options)), wake_(executor_) {
  if (!options_.sink) {
    options_.sink = [writer = std::make_shared<prefix_writer>()](std::string_view name,
                                                                 std::string_view line) {
      writer->write(name, line);
    };
  }
}

// The process destructors SIGKILL and reap whatever is still running.
process_group::~process_group() = default;

void process_group::notify_() {
  dirty_ = true;
  wake_.cancel();
}

void process_group::start_(command cmd) {
  auto proc = std::make_unique<process>(
      executor_, process_spec{cmd.name, cmd.argv, cmd.env, cmd.ready_fd},
      [this, name = cmd.name](std::string_view line) { on_line_(name, line); }, options_.limits,
      [this, name = cmd.name](std::string_view line) { on_ready_line_(name, line); });
  const std::size_t index = entries_.size();
  entries_.push_back(entry{std::move(cmd), std::move(proc)});
  ++outstanding_;
  asio::co_spawn(executor_, entries_[index].proc->run(),
                 [this, index](std::exception_ptr failure, exit_status) {
                   --outstanding_;
                   entries_[index].finished = true;
                   if (failure) {
                     try {
                       std::rethrow_exception(failure);
                     } catch (const std::exception& e) {
                       note_(entries_[index].cmd.name + ": supervision failed: " + e.what());
                     }
                   }
                   finished_queue_.push_back(index);
                   notify_();
                 });
}

void process_group::start_all_(std::vector<command> commands) {
  for (auto& cmd : commands) {
    if (stopping_) return;
    const std::string name = cmd.name;
    try {
      start_(std::move(cmd));
    } catch (const std::exception& e) {
      begin_stop_(stop_reason::start_failed, name, e.what());
    }
  }
}

asio::awaitable<void> process_group::wait_signals_() {
  for (;;) {
    const auto [ec, sig] = co_await signals_->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // cancelled once every child has been reaped
    ++signal_count_;
    last_signal_ = sig;
    notify_();
  }
}

asio::awaitable<group_summary> process_group::run(std::vector<command> initial,
                                                  std::optional<readiness_gate> gate,
                                                  follow_up then) {
  std::set<std::string> names;
  validate_(initial, names);
  if (gate && names.count(gate->process) == 0) {
    throw core::input_error("launch: the readiness gate names no command: \"" + gate->process +
                            "\"");
  }
  gate_ = std::move(gate);
  then_ = std::move(then);
  if (gate_) {
    for (const auto& cmd : initial)
      if (cmd.name == gate_->process) gate_on_ready_fd_ = cmd.ready_fd >= 0;
  }

  if (options_.handle_signals) {
    signals_.emplace(executor_, SIGINT, SIGTERM);
    ++outstanding_;
    asio::co_spawn(executor_, wait_signals_(), [this](std::exception_ptr) {
      --outstanding_;
      notify_();
    });
  }
  if (gate_) gate_deadline_ = clock::now() + gate_->timeout;
  start_all_(std::move(initial));

  bool signals_cancelled = false;
  for (;;) {
    dirty_ = false;
    if (!stopping_) evaluate_();
    if (stopping_) {
      // A second Ctrl-C means "now".
      if (!killed_ && (clock::now() >= kill_deadline_ || signal_count_ > signals_at_stop_)) {
        if (clock::now() < kill_deadline_)
          note_("second signal: killing every process now");
        else if (!all_finished_())
          note_("grace period over: killing what is left");
        signal_running_(SIGKILL);
        killed_ = true;
      }
      if (all_finished_()) {
        if (signals_ && !signals_cancelled) {
          signals_->cancel();
          signals_cancelled = true;
        }
        if (outstanding_ == 0) break;
      }
    }
    auto deadline = clock::time_point::max();
    if (!stopping_ && gate_pending_()) deadline = gate_deadline_;
    if (stopping_ && !killed_) deadline = kill_deadline_;
    if (!dirty_) {
      wake_.expires_at(deadline);
      co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  signals_.reset();
  co_return summary_();
}

}  // namespace pgc::launch
