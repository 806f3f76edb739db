#include "pgc/launch/process.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <sys/wait.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pgc/launch/detail/spawn.hpp"

namespace pgc::launch {

namespace asio = boost::asio;

process::process(asio::any_io_executor executor, process_spec spec, line_handler on_line,
                 process_limits limits, line_handler on_ready)
    : spec_(std::move(spec)),
      on_line_(std::move(on_line)),
      on_ready_(std::move(on_ready)),
      limits_(limits),
      out_(executor),
      err_(executor),
      ready_(executor),
      out_lines_(limits.max_line),
      err_lines_(limits.max_line),
      ready_lines_(limits.max_line),
      poll_timer_(executor) {
  const auto child = detail::spawn_child(spec_);
  pid_ = child.pid;
  out_.assign(child.stdout_fd);
  err_.assign(child.stderr_fd);
  if (child.ready_fd >= 0) {
    ready_.assign(child.ready_fd);
    ++open_pipes_;
  }
}

process::~process() {
  if (pid_ <= 0 || status_) return;
  ::kill(-pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

void process::signal(int sig) noexcept {
  if (pid_ > 0 && !status_) ::kill(-pid_, sig);
}

asio::awaitable<exit_status> process::run() {
  using namespace asio::experimental::awaitable_operators;
  if (!ready_.is_open()) {
    co_return co_await (pump_(out_, out_lines_, on_line_) && pump_(err_, err_lines_, on_line_) &&
                        reap_());
  }
  const line_handler ready = on_ready_ ? on_ready_ : [](std::string_view) {};
  co_return co_await (pump_(out_, out_lines_, on_line_) && pump_(err_, err_lines_, on_line_) &&
                      pump_(ready_, ready_lines_, ready) && reap_());
}

asio::awaitable<void> process::pump_(asio::posix::stream_descriptor& pipe, line_splitter& splitter,
                                     const line_handler& deliver) {
  std::array<char, 4096> buffer;
  for (;;) {
    const auto [ec, size] =
        co_await pipe.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (size > 0) splitter.feed(std::string_view(buffer.data(), size), deliver);
    if (ec) break;  // end of file, or cancelled by reap_ after the drain timeout
  }
  splitter.flush(deliver);
  boost::system::error_code ignored;
  pipe.close(ignored);
  --open_pipes_;
}

asio::awaitable<exit_status> process::reap_() {
  while (!status_) {
    int wait_status = 0;
    const pid_t reaped = ::waitpid(pid_, &wait_status, WNOHANG);
    if (reaped == pid_) {
      status_ = exit_status::from_wait_status(wait_status);
      break;
    }
    if (reaped < 0 && errno != EINTR) {
      // ECHILD: somebody else reaped it (a waitpid(-1) elsewhere); its status is lost.
      status_ = exit_status{exit_status::kind::exited, 255};
      break;
    }
    poll_timer_.expires_after(limits_.poll_interval);
    co_await poll_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  // Leftovers of its group would hold the pipes open and outlive us: end them now.
  ::kill(-pid_, SIGKILL);
  const auto drain_deadline = std::chrono::steady_clock::now() + limits_.drain_timeout;
  while (open_pipes_ > 0 && std::chrono::steady_clock::now() < drain_deadline) {
    poll_timer_.expires_after(limits_.poll_interval);
    co_await poll_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (open_pipes_ > 0) {
    boost::system::error_code ignored;
    out_.cancel(ignored);
    err_.cancel(ignored);
    if (ready_.is_open()) ready_.cancel(ignored);
  }
  co_return *status_;
}

}  // namespace pgc::launch
