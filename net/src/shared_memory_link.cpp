// Handing a region's descriptor from a worker to the PS: one Unix-socket connection per region,
// the worker sends the 16-byte token with the descriptor attached (SCM_RIGHTS), the PS answers
// one byte, 0 when it took the region.
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "pgc/core/error.hpp"
#include "pgc/net/auth.hpp"
#include "pgc/net/shared_memory.hpp"

namespace pgc::net {
namespace {

using local = asio::local::stream_protocol;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::uint8_t accepted = 0;
constexpr std::uint8_t refused = 1;
// A hand-over is a few system calls between processes of one host.
constexpr std::chrono::seconds handshake_timeout{5};

local::endpoint abstract_endpoint(const std::string& name) {
  std::string path(1, '\0');
  path += name;
  return local::endpoint(path);
}

// Closes the socket when the timer fires first; the pending operation then ends with an error.
// A handler that fired but has not run yet when the deadline goes finds `alive` cleared and
// leaves the socket (gone by then) alone. Single-threaded executors, like every pgc io thread.
struct deadline {
  deadline(local::socket& s, std::chrono::steady_clock::duration d) : timer(s.get_executor()) {
    timer.expires_after(d);
    timer.async_wait([&s, alive = alive](boost::system::error_code ec) {
      if (ec || !*alive) return;
      boost::system::error_code ignored;
      s.close(ignored);
    });
  }
  ~deadline() {
    *alive = false;
    timer.cancel();
  }
  deadline(const deadline&) = delete;
  deadline& operator=(const deadline&) = delete;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  asio::steady_timer timer;
};

// The one message of a hand-over: the token, with room for one descriptor beside it.
struct token_message {
  explicit token_message(shm_listener::token& token) : iov{token.data(), token.size()} {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
  token_message(const token_message&) = delete;
  token_message& operator=(const token_message&) = delete;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov;
  msghdr msg{};
};

// Receives the token and the descriptor; -1 (and `why`) when the peer sent something else.
int receive_fd(local::socket& s, shm_listener::token& token, std::string& why) {
  token_message m(token);
  msghdr& msg = m.msg;
  const ssize_t n = ::recvmsg(s.native_handle(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  int fd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int))) {
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    }
  }
  if (n == static_cast<ssize_t>(token.size()) && fd >= 0 && !(msg.msg_flags & MSG_CTRUNC)) {
    return fd;
  }
  if (fd >= 0) ::close(fd);
  why = n < 0 ? std::string("receiving: ") + std::strerror(errno)
              : "expected a 16-byte token with one descriptor";
  return -1;
}

}  // namespace

struct shm_listener::impl : std::enable_shared_from_this<impl> {
  impl(const asio::any_io_executor& ex, taker t, logger l, std::size_t max_bytes)
      : acceptor(ex), take(std::move(t)), log(std::move(l)), max_region_bytes(max_bytes) {}

  awaitable<void> accept_loop() {
    const auto self = shared_from_this();
    asio::steady_timer pause(acceptor.get_executor());
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        // Out of descriptors and the like: say so and retry shortly instead of spinning.
        log(std::string("shared memory: accepting: ") + ec.message());
        pause.expires_after(std::chrono::milliseconds(100));
        co_await pause.async_wait(use_tuple);
        continue;
      }
      asio::co_spawn(acceptor.get_executor(), serve(self, std::move(socket)), asio::detached);
    }
  }

  static awaitable<void> serve(std::shared_ptr<impl> self, local::socket socket) {
    deadline limit(socket, handshake_timeout);
    std::string why;
    try {
      why = co_await receive(*self, socket);
    } catch (const std::exception& ex) {
      why = ex.what();
    }
    if (!why.empty()) self->log("shared memory: refused a region: " + why);
    const std::uint8_t answer = why.empty() ? accepted : refused;
    co_await asio::async_write(socket, asio::buffer(&answer, 1), use_tuple);
  }

  // Empty when the region was taken, otherwise why not.
  static awaitable<std::string> receive(impl& self, local::socket& socket) {
    // Only our own user (or root) may share memory with us: such a process could read and write
    // our memory through ptrace anyway, so a region it changes under us crosses no boundary.
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      co_return std::string("no peer credentials: ") + std::strerror(errno);
    }
    if (cred.uid != ::geteuid() && cred.uid != 0) {
      co_return "process " + std::to_string(cred.pid) + " runs as user " +
          std::to_string(cred.uid) + ", not as this PS's";
    }
    auto [ec] = co_await socket.async_wait(local::socket::wait_read, use_tuple);
    if (ec) co_return "no token: " + ec.message();
    token t{};
    std::string why;
    const int fd = receive_fd(socket, t, why);
    if (fd < 0) co_return why;
    // open() owns the descriptor from here, also when it throws.
    auto region = shm_region::open(fd, self.max_region_bytes);
    co_return self.take(t, std::move(region));
  }

  local::acceptor acceptor;
  taker take;
  logger log;
  std::size_t max_region_bytes;
};

std::shared_ptr<shm_listener> shm_listener::start(const asio::any_io_executor& ex, taker take,
                                                  logger log, std::size_t max_region_bytes) {
  return std::make_shared<shm_listener>(ex, std::move(take), std::move(log), max_region_bytes,
                                        private_tag{});
}

shm_listener::shm_listener(const asio::any_io_executor& ex, taker take, logger log,
                           std::size_t max_region_bytes, private_tag)
    : impl_(std::make_shared<impl>(ex, std::move(take), std::move(log), max_region_bytes)) {
  // A random name: two PSs on one host never collide, and nobody guesses where to knock.
  const auto n = random_shm_token();
  static constexpr char hex[] = "0123456789abcdef";
  name_ = "pgc-ps-";
  for (const auto b : n) {
    name_ += hex[b >> 4];
    name_ += hex[b & 15];
  }
  const auto ep = abstract_endpoint(name_);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  asio::co_spawn(ex, impl_->accept_loop(), asio::detached);
}

shm_listener::~shm_listener() {
  close();
}

void shm_listener::close() {
  // On the executor: the accept loop runs there.
  asio::post(impl_->acceptor.get_executor(), [i = impl_] {
    boost::system::error_code ignored;
    i->acceptor.close(ignored);
  });
}

awaitable<void> hand_over_region(std::string name, shm_listener::token token,
                                 std::shared_ptr<shm_region> region,
                                 std::chrono::milliseconds timeout) {
  const auto ex = co_await asio::this_coro::executor;
  local::socket socket(ex);
  deadline limit(socket, timeout);
  auto [cec] = co_await socket.async_connect(abstract_endpoint(name), use_tuple);
  if (cec) throw std::system_error(cec, "shared memory: connecting to the PS's socket");
  token_message m(token);
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  const int fd = region->fd();
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  // 16 bytes on a fresh local socket: the send buffer has room, the call does not block.
  if (::sendmsg(socket.native_handle(), &m.msg, MSG_NOSIGNAL) !=
      static_cast<ssize_t>(token.size())) {
    throw std::system_error(errno, std::generic_category(), "shared memory: sending the region");
  }
  std::uint8_t answer = refused;
  auto [rec, n] = co_await asio::async_read(socket, asio::buffer(&answer, 1), use_tuple);
  if (rec) throw std::system_error(rec, "shared memory: waiting for the PS's answer");
  if (answer != accepted) {
    throw std::system_error(make_error_code(core::errc::protocol_violation),
                            "shared memory: the PS refused the region (see its log)");
  }
}

shm_listener::token random_shm_token() {
  const auto n = random_nonce();
  shm_listener::token t{};
  std::memcpy(t.data(), n.data(), t.size());
  return t;
}

}  // namespace pgc::net
