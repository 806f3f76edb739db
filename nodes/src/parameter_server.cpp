#include "pgc/nodes/parameter_server.hpp"

#include <cstdio>
#include <exception>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include "detail/ps_impl.hpp"
#include "pgc/core/error.hpp"

namespace pgc::nodes {

namespace asio = net::asio;

namespace {

ps_config machine_config(const ps_options& opt) {
  try {
    opt.protocol.validate();
  } catch (const core::input_error& ex) {
    throw core::input_error(std::string("parameter server: ") + ex.what());
  }
  if (opt.initial_model.size() != opt.protocol.dimension) {
    throw core::input_error("parameter server: the initial model has length " +
                            std::to_string(opt.initial_model.size()) + ", expected " +
                            std::to_string(opt.protocol.dimension));
  }
  return ps_config{make_scheme(opt.protocol.scheme), opt.protocol, opt.run};
}

// Unique per process and start: the dashboard resets its charts when it changes.
std::string new_run_id() {
  std::random_device rd;
  char id[32];
  std::snprintf(id, sizeof(id), "%08x%08x", rd(), rd());
  return id;
}

}  // namespace

parameter_server::impl::impl(asio::any_io_executor ex, ps_options opt,
                             asio::thread_pool::executor_type pool)
    : ex_(std::move(ex)),
      opt_(std::move(opt)),
      log_(opt_.log.child("ps")),
      pool_(std::move(pool)),
      machine_(machine_config(opt_)),
      admission_(machine_.config().code->workers(), net::wire::PROTOCOL_VERSION, opt_.secret,
                 opt_.fingerprint),
      model_(std::move(opt_.initial_model)),  // the only copy the server keeps
      acceptor_(ex_),
      deadline_(ex_),
      workers_(static_cast<std::size_t>(machine_.config().code->workers())),
      monitor_(new_run_id(), machine_.config(), std::chrono::steady_clock::now()),
      publish_timer_(ex_) {
  if (opt_.baseline) monitor_.set_baseline(opt_.baseline->first, opt_.baseline->second);
}

void parameter_server::impl::feed(ps_machine::event e, const std::shared_ptr<detail::ps_session>& from) {
  const auto now = std::chrono::steady_clock::now();
  monitor_.observe(e, machine_, now);
  auto actions = machine_.on(std::move(e));
  for (auto& a : actions) {
    monitor_.observe(a, machine_, now);
    execute(a, from);
  }
}

void parameter_server::impl::send_to(int worker, detail::message_ptr m) {
  const auto& s = workers_.at(static_cast<std::size_t>(worker));
  if (s && s->is_open()) s->send(std::move(m));
}

void parameter_server::impl::send_welcome(int worker) {
  const auto& s = workers_.at(static_cast<std::size_t>(worker));
  if (!s) return;
  std::optional<detail::shm_offer> shm;
  if (shm_.listener) shm = detail::shm_offer{shm_.listener->name(), s->shm_token};
  std::optional<net::mac> mac;
  // With a secret: proves to the worker that this PS holds it too.
  if (!opt_.secret.empty()) {
    mac = net::welcome_mac(opt_.secret, s->hello_nonce, s->challenge,
                           static_cast<std::uint32_t>(worker));
  }
  s->send(detail::make_welcome(opt_.protocol, *machine_.config().code, worker,
                               mac ? &*mac : nullptr, shm ? &*shm : nullptr));
}

void parameter_server::impl::execute(ps_machine::action& action,
                                     const std::shared_ptr<detail::ps_session>& from) {
  std::visit(
      [&](auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, ps_machine::send_welcome>) {
          send_welcome(a.worker);
        } else if constexpr (std::is_same_v<T, ps_machine::start_iteration>) {
          if (!a.resume) iteration_start_ = std::chrono::steady_clock::now();
          // The model (d doubles) is serialized once; every channel writes the same frame.
          const auto frame = std::make_shared<const net::outgoing_frame>(
              detail::make_start_iteration(a.iteration, model_, start_segments_.get()));
          for (int w : a.to) {
            const auto& s = workers_.at(static_cast<std::size_t>(w));
            if (s && s->is_open()) s->send(frame);
          }
        } else if constexpr (std::is_same_v<T, ps_machine::arm_deadline>) {
          // One timer: re-arming cancels the previous wait, whose late firing the machine would
          // ignore anyway.
          deadline_.expires_after(a.after);
          deadline_.async_wait(
              [self = shared_from_this(), it = a.iteration](const boost::system::error_code& ec) {
                if (!ec && self->running()) self->feed(ps_machine::deadline_fired{it});
              });
        } else if constexpr (std::is_same_v<T, ps_machine::encode_and_transmit>) {
          for (int w : a.to)
            send_to(w, detail::make_encode_and_transmit(a.iteration, a.epoch, a.state));
        } else if constexpr (std::is_same_v<T, ps_machine::decode>) {
          start_decode(std::move(a));
        } else if constexpr (std::is_same_v<T, ps_machine::send_error>) {
          log_.warn("error to worker " + std::to_string(a.worker) + ": " + a.text);
          send_to(a.worker, detail::make_error(a.code, a.text));
        } else if constexpr (std::is_same_v<T, ps_machine::close_worker>) {
          auto& s = workers_.at(static_cast<std::size_t>(a.worker));
          if (s) {
            log_.info("closing worker " + std::to_string(a.worker) + " '" + s->name + "'");
            s->stop();
            s = nullptr;
            admission_.left(a.worker);
          }
        } else if constexpr (std::is_same_v<T, ps_machine::reject>) {
          log_.warn("rejecting worker " + std::to_string(a.worker) + ": " + a.text);
          if (from) {
            from->refuse(a.code, a.text);
            if (from->worker >= 0 && workers_[static_cast<std::size_t>(from->worker)] == from) {
              workers_[static_cast<std::size_t>(from->worker)] = nullptr;
              admission_.left(from->worker);
            }
          }
        } else if constexpr (std::is_same_v<T, ps_machine::shutdown>) {
          stop(a.reason, a.failure ? std::make_exception_ptr(std::runtime_error(a.reason))
                                   : std::exception_ptr{});
        } else if constexpr (std::is_same_v<T, ps_machine::notice>) {
          log_.info(a.text);
        }
      },
      action);
}

void parameter_server::impl::start_decode(ps_machine::decode job) {
  if (!running()) return;
  // The heavy math and the optimizer hook run on the pool, so the io thread never waits. The
  // model goes with them (moved, not copied: nothing on the io thread reads it until the step is
  // done, since the machine starts no iteration before model_ready) and comes back afterwards.
  // The tracked executor keeps the io loop from running out of work while the pool decodes.
  auto tracked = asio::prefer(ex_, asio::execution::outstanding_work.tracked);
  asio::post(pool_, [self = shared_from_this(), tracked, job = std::move(job),
                     model = std::move(model_)]() mutable {
    std::exception_ptr error;
    double expected = 0.0;
    try {
      // Decodes run one at a time (the next iteration starts after this one's step), so the
      // gradient buffer is allocated once and decoded into in place.
      auto& gradient = self->gradient_;
      const int d = self->opt_.protocol.dimension;
      if (gradient.size() != d) gradient.resize(d);
      expected = decode_gradient_into(*self->machine_.config().code, job, gradient);
      // The replies are not needed any more: free them before the optimizer step.
      job.coded.clear();
      if (self->opt_.on_gradient) {
        self->opt_.on_gradient(job.iteration, gradient, expected, model);
      }
    } catch (...) {
      error = std::current_exception();
    }
    asio::post(tracked, [self = std::move(self), it = job.iteration, stats = std::move(job.stats),
                         model = std::move(model), error, expected]() mutable {
      self->model_ = std::move(model);
      if (!self->running()) return;
      if (error) {
        self->stop("parameter server failed", error);
        return;
      }
      const auto now = std::chrono::steady_clock::now();
      const auto wall = now - self->iteration_start_;
      self->monitor_.completed(it, stats, std::chrono::duration<double>(wall).count(), expected,
                               now);
      if (self->opt_.on_iteration) self->opt_.on_iteration(it, stats, wall);
      self->publish_status(true);
      self->feed(ps_machine::model_ready{it + 1});
    });
  });
}

void parameter_server::impl::stop(const std::string& reason, std::exception_ptr error) {
  if (state_ == ps_run_state::finished) return;
  const bool was_running = state_ == ps_run_state::running;
  state_ = ps_run_state::finished;
  if (was_running) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    if (shm_.listener) shm_.listener->close();
    deadline_.cancel();
    for (auto& s : workers_) {
      if (!s) continue;
      s->send(detail::make_shutdown(reason));
      s->stop();
    }
    for (auto& s : pending_)
      s->stop();
    publish_timer_.cancel();
    if (dashboard_.server) {
      // The last snapshot shows the finished run to pages still connected; then they see the
      // server go and reconnect (to the next run on the same port, if any).
      publish_status(true);
      dashboard_.server->stop();
    }
  }
  if (opt_.on_done) opt_.on_done(error);
}

parameter_server::parameter_server(asio::any_io_executor executor, ps_options options)
    : pool_(std::make_unique<ps_pool>(options.decode_threads)),
      impl_(std::make_shared<impl>(std::move(executor), std::move(options),
                                   pool_->pool.get_executor())) {}

parameter_server::~parameter_server() {
  // Coroutines may still hold the impl; stopping makes them end at their next wake-up, and the
  // pool is joined after our reference is gone.
  if (impl_ && impl_->running()) impl_->stop("parameter server destroyed");
  impl_.reset();
  pool_->pool.join();
}

std::uint16_t parameter_server::start() {
  if (impl_->state_ != ps_run_state::created) return impl_->port_;
  impl_->start_accepting();  // throws before the state changes when binding fails
  impl_->state_ = ps_run_state::running;
  impl_->start_services();
  return impl_->port_;
}

void parameter_server::stop() {
  impl_->stop("parameter server stopped");
}

std::uint16_t parameter_server::port() const noexcept {
  return impl_->port_;
}
std::uint64_t parameter_server::shared_memory_links() const noexcept {
  return impl_->shm_.links;
}
std::uint16_t parameter_server::dashboard_port() const noexcept {
  return impl_->dashboard_.server ? impl_->dashboard_.server->port() : 0;
}

void parameter_server::annotate(std::uint64_t iteration, std::string_view key, double value) {
  impl_->monitor_.annotate(iteration, key, value);
}

void parameter_server::note(std::string text) {
  impl_->monitor_.note(std::move(text), std::chrono::steady_clock::now());
}

std::uint64_t parameter_server::completed() const noexcept {
  return impl_->machine_.completed();
}
bool parameter_server::finished() const noexcept {
  return impl_->state_ == ps_run_state::finished;
}
const Eigen::VectorXd& parameter_server::model() const noexcept {
  return impl_->model_;
}

}  // namespace pgc::nodes
