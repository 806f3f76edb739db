#include "pgc/nodes/worker.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <span>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include "detail/worker_impl.hpp"
#include "pgc/coding/scheme.hpp"
#include "pgc/core/error.hpp"
#include "pgc/net/outgoing_frame.hpp"

namespace pgc::nodes {

namespace asio = net::asio;

worker::impl::impl(asio::any_io_executor ex, worker_options opt,
                   std::shared_ptr<const core::gradient_source> source,
                   asio::thread_pool::executor_type pool)
    : ex_(std::move(ex)),
      opt_(std::move(opt)),
      log_(opt_.log.child(opt_.name)),
      source_(std::move(source)),
      pool_(std::move(pool)),
      backoff_(ex_),
      delay_timer_(ex_),
      delay_rng_(opt_.delay_seed),
      jitter_rng_(std::random_device{}()) {
  if (!source_) throw core::input_error("worker: no gradient source");
  if (opt_.name.empty()) throw core::input_error("worker: empty name");
  if (opt_.heartbeat.count() <= 0 || opt_.heartbeat_misses < 1) {
    throw core::input_error("worker: heartbeat interval and misses must be positive");
  }
  if (!(opt_.slowdown >= 1.0)) throw core::input_error("worker: slowdown must be at least 1");
  if (opt_.reconnect_timeout.count() <= 0) {
    throw core::input_error("worker: the reconnect timeout must be positive");
  }
  session_.heartbeat = opt_.heartbeat;
  session_.heartbeat_misses = opt_.heartbeat_misses;
}

void worker::impl::send(detail::message_ptr m) {
  if (conn_.channel && conn_.channel->is_open()) conn_.channel->send(std::move(m));
}

void worker::impl::feed(worker_machine::event e) {
  auto actions = machine_.on(std::move(e));
  for (auto& a : actions)
    execute(a);
}

void worker::impl::execute(worker_machine::action& action) {
  std::visit(
      [&](auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, worker_machine::compute_chunk>) {
          compute(a);
        } else if constexpr (std::is_same_v<T, worker_machine::keep_gradient>) {
          auto& cols = gradients_[a.iteration];
          const auto p = static_cast<std::size_t>(a.position);
          if (cols.size() <= p) cols.resize(p + 1);
          cols[p] = results_.at(a.ticket);
        } else if constexpr (std::is_same_v<T, worker_machine::send_progress>) {
          send(detail::make_progress(a.iteration, a.chunks_done));
        } else if constexpr (std::is_same_v<T, worker_machine::encode>) {
          encode(std::move(a));
        } else if constexpr (std::is_same_v<T, worker_machine::drop_gradients>) {
          gradients_.erase(a.iteration);
          models_.erase(a.iteration);
        } else if constexpr (std::is_same_v<T, worker_machine::send_error>) {
          log_.warn("error to the ps: " + a.text);
          send(detail::make_error(a.code, a.text));
        } else if constexpr (std::is_same_v<T, worker_machine::stop>) {
          // The PS's Shutdown: the run is over.
          if (running()) state_ = worker_run_state::stopping;
          backoff_.cancel();
          delay_timer_.cancel();
          if (conn_.channel) conn_.channel->stop();
        }
      },
      action);
}

void worker::impl::compute(const worker_machine::compute_chunk& job) {
  const auto model = models_.at(job.iteration);
  if (opt_.fail_at && !failed_once_ && opt_.fail_at->iteration == job.iteration &&
      opt_.fail_at->position == job.position) {
    // Injected crash: the connection drops without a word. The computation below still runs so
    // the machine sees its (now stale) result like after any real loss.
    failed_once_ = true;
    log_.warn("injected failure at iteration " + std::to_string(job.iteration) + " position " +
              std::to_string(job.position));
    if (!opt_.reconnect_after_failure && running()) state_ = worker_run_state::stopping;
    if (conn_.channel) conn_.channel->close();
  }
  // Drawn here, on the io thread, so the sequence does not depend on which pool thread runs.
  const double draw = opt_.delay.is_none() ? 0.0 : unit_uniform(delay_rng_);
  auto tracked = asio::prefer(ex_, asio::execution::outstanding_work.tracked);
  asio::post(pool_, [self = shared_from_this(), tracked, model, chunk = job.chunk,
                     ticket = job.ticket, draw]() mutable {
    std::exception_ptr error;
    auto g = std::make_shared<Eigen::VectorXd>(self->source_->dimension());
    std::chrono::nanoseconds extra{0};
    try {
      const auto t0 = std::chrono::steady_clock::now();
      self->source_->gradient(chunk, *model, *g);
      const auto spent = std::chrono::steady_clock::now() - t0;
      if (self->opt_.slowdown > 1.0) {
        std::this_thread::sleep_for(std::chrono::duration_cast<std::chrono::nanoseconds>(
            spent * (self->opt_.slowdown - 1.0)));
      }
      extra =
          self->opt_.delay.extra(draw, std::chrono::duration_cast<std::chrono::nanoseconds>(spent));
    } catch (...) {
      error = std::current_exception();
    }
    asio::post(tracked, [self = std::move(self), ticket, error, extra,
                         g = std::shared_ptr<const Eigen::VectorXd>(std::move(g))]() mutable {
      if (error) {
        self->fail(error);
        return;
      }
      if (extra.count() <= 0) {
        self->chunk_done(ticket, std::move(g));
        return;
      }
      // The random delay waits on a timer, not on the pool, so an EncodeAndTransmit that
      // arrives meanwhile is encoded at once. One chunk is in flight at a time: one timer.
      self->delay_timer_.expires_after(extra);
      self->delay_timer_.async_wait(
          [self, ticket, g = std::move(g)](const boost::system::error_code&) mutable {
            // Cancelled only by stop(): nothing waits for the chunk any more.
            if (self->running()) self->chunk_done(ticket, std::move(g));
          });
    });
  });
}

void worker::impl::chunk_done(std::uint64_t ticket, std::shared_ptr<const Eigen::VectorXd> g) {
  results_[ticket] = std::move(g);
  feed(worker_machine::chunk_computed{ticket});
  results_.erase(ticket);
}

void worker::impl::encode(worker_machine::encode job) {
  auto cols = gradients_[job.iteration];
  if (static_cast<int>(cols.size()) < job.chunks) {
    // The machine only asks for chunks it was told are kept: a bug, not bad input.
    fail(std::make_exception_ptr(std::logic_error("worker: encode of chunks not kept")));
    return;
  }
  cols.resize(static_cast<std::size_t>(job.chunks));
  // The coefficients, the coded vector and the whole message are built on the pool, the coded
  // vector straight into the message's list (rounded tile by tile for float32), and the io
  // thread only queues the finished frame: it stays free to read and write meanwhile.
  auto tracked = asio::prefer(ex_, asio::execution::outstanding_work.tracked);
  asio::post(pool_, [self = shared_from_this(), tracked, code = session_.code,
                     worker = session_.worker_id, gen = conn_.generation,
                     precision = session_.precision, segments = segments_, shm = conn_.shm,
                     d = session_.dimension, job = std::move(job), cols = std::move(cols)]() mutable {
    std::exception_ptr error;
    // Built in a shared slot, the message goes to the channel as it is (send() turns it into a
    // reference); otherwise the frame is ready here and the io thread only queues it.
    detail::message_ptr message;
    std::shared_ptr<const net::outgoing_frame> frame;
    try {
      const Eigen::MatrixXd c = code->encoding(worker, job.state);
      std::vector<const double*> columns;
      for (const auto& g : cols) {
        if (!g || g->size() != d) throw std::logic_error("worker: a kept gradient has no data");
        columns.push_back(g->data());
      }
      const int block = coding::block_layout{d, code->ell()}.block();
      message = detail::build_encoded(*segments, shm.get(), job.iteration, job.epoch, precision,
                                      block, [&](int offset, std::span<double> out) {
                                        coding::encode_into(c, columns, d, offset, out);
                                      });
      if (!shm) frame = std::make_shared<const net::outgoing_frame>(std::move(message));
    } catch (...) {
      error = std::current_exception();
    }
    // This job's references to the gradients end here (the io thread keeps its own until the
    // iteration ends).
    cols.clear();
    asio::post(tracked, [self = std::move(self), gen, message = std::move(message),
                         frame = std::move(frame), error]() mutable {
      if (error) {
        self->fail(error);
        return;
      }
      // The PS dropped the old connection's state: its coded vector would be stale there.
      auto& ch = self->conn_.channel;
      if (gen == self->conn_.generation && ch && ch->is_open()) {
        if (frame) {
          ch->send(std::move(frame));
        } else {
          ch->send(std::move(message));
        }
      }
    });
  });
}

void worker::impl::stop() {
  if (!running()) return;
  state_ = worker_run_state::stopping;
  backoff_.cancel();
  delay_timer_.cancel();
  if (conn_.channel) {
    send(detail::make_shutdown("worker stopping"));
    conn_.channel->stop();
  }
}

void worker::impl::give_up(const std::string& why) {
  if (state_ == worker_run_state::finished) return;
  log_.error(why);
  if (!failure_) failure_ = std::make_exception_ptr(core::input_error(why));
  state_ = worker_run_state::stopping;
  backoff_.cancel();
  delay_timer_.cancel();
  if (conn_.channel) conn_.channel->stop();
}

void worker::impl::fail(std::exception_ptr error) {
  if (state_ == worker_run_state::finished) return;
  state_ = worker_run_state::stopping;
  backoff_.cancel();
  delay_timer_.cancel();
  if (conn_.channel) conn_.channel->close();
  detail::spawn_logger{log_, "worker"}(error);
  finish(error);
}

void worker::impl::finish(std::exception_ptr error) {
  if (state_ == worker_run_state::finished) return;
  state_ = worker_run_state::finished;
  if (opt_.on_done) opt_.on_done(error);
}

worker::worker(asio::any_io_executor executor, worker_options options,
               std::shared_ptr<const core::gradient_source> source)
    : pool_(std::make_unique<worker_pool>(options.compute_threads)),
      impl_(std::make_shared<impl>(std::move(executor), std::move(options), std::move(source),
                                   pool_->pool.get_executor())) {}

worker::~worker() {
  if (impl_ && impl_->running()) impl_->stop();
  impl_.reset();
  pool_->pool.join();
}

void worker::start() {
  if (impl_->state_ != worker_run_state::created) return;
  impl_->state_ = worker_run_state::running;
  asio::co_spawn(impl_->ex_, impl::connect_loop(impl_), impl_->logged("connect loop"));
}

void worker::stop() {
  impl_->stop();
}
bool worker::finished() const noexcept {
  return impl_->state_ == worker_run_state::finished;
}
int worker::worker_id() const noexcept {
  return impl_->session_.worker_id;
}

}  // namespace pgc::nodes
