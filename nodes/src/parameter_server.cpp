#include "pgc/nodes/parameter_server.hpp"

#include <cstdio>
#include <exception>
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

ps_config machine_config(const ps_options& opt, std::shared_ptr<const coding::scheme> code) {
  if (opt.dimension <= 0) throw core::input_error("parameter server: dimension must be positive");
  if (opt.initial_model.size() != opt.dimension) {
    throw core::input_error("parameter server: the initial model has length " +
                            std::to_string(opt.initial_model.size()) + ", expected " +
                            std::to_string(opt.dimension));
  }
  if (opt.heartbeat.count() <= 0 || opt.heartbeat_misses < 1) {
    throw core::input_error("parameter server: heartbeat interval and misses must be positive");
  }
  return ps_config{std::move(code),
                   opt.mode,
                   opt.deadline,
                   opt.dimension,
                   opt.iterations,
                   opt.min_workers,
                   opt.first_iteration_workers,
                   opt.first_iteration,
                   opt.on_shortfall};
}

run_info describe_run(const ps_options& opt, const coding::scheme& code) {
  run_info info;
  // Unique per process and start: the dashboard resets its charts when it changes.
  std::random_device rd;
  char id[32];
  std::snprintf(id, sizeof(id), "%08x%08x", rd(), rd());
  info.run_id = id;
  info.scheme = std::string(coding::to_string(opt.spec.kind));
  info.mode = opt.mode == signal_mode::exact ? "exact" : "approx";
  info.workers = code.workers();
  info.chunks = code.chunks();
  info.ell = code.ell();
  info.dimension = opt.dimension;
  info.iterations = opt.iterations;
  return info;
}

std::vector<int> list_lengths(const coding::scheme& code) {
  std::vector<int> out;
  for (int w = 0; w < code.workers(); ++w)
    out.push_back(code.tasks().load(w));
  return out;
}

}  // namespace

parameter_server::impl::impl(asio::any_io_executor ex, ps_options opt,
                             asio::thread_pool::executor_type pool)
    : ex_(std::move(ex)),
      opt_(std::move(opt)),
      pool_(std::move(pool)),
      code_(make_scheme(opt_.spec)),
      machine_(machine_config(opt_, code_)),
      model_(std::move(opt_.initial_model)),  // the only copy the server keeps
      acceptor_(ex_),
      deadline_(ex_),
      heartbeat_timer_(ex_),
      workers_(static_cast<std::size_t>(code_->workers())),
      names_(static_cast<std::size_t>(code_->workers())),
      monitor_(describe_run(opt_, *code_), list_lengths(*code_), std::chrono::steady_clock::now()),
      publish_timer_(ex_) {
  if (opt_.baseline) monitor_.set_baseline(opt_.baseline->first, opt_.baseline->second);
  welcome_.spec = opt_.spec;
  welcome_.code = code_.get();
  welcome_.mode = opt_.mode;
  welcome_.dimension = opt_.dimension;
  welcome_.heartbeat_ms = static_cast<std::uint32_t>(opt_.heartbeat.count());
  welcome_.deadline_ms = static_cast<std::uint32_t>(opt_.deadline.count());
  welcome_.precision = opt_.precision;
}

void parameter_server::impl::log(const std::string& line) const {
  detail::write_log(opt_.log, "ps: " + line);
}

void parameter_server::impl::feed(ps_machine::event e, const std::shared_ptr<ps_session>& from) {
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
  if (s && s->channel->is_open()) s->channel->send(std::move(m));
}

void parameter_server::impl::execute(ps_machine::action& action,
                                     const std::shared_ptr<ps_session>& from) {
  std::visit(
      [&](auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, ps_machine::send_welcome>) {
          if (opt_.secret.empty()) {
            const auto& s = workers_.at(static_cast<std::size_t>(a.worker));
            send_to(a.worker, detail::make_welcome(welcome_, a.worker, nullptr,
                                                   s ? &s->shm_token : nullptr));
          } else if (const auto& s = workers_.at(static_cast<std::size_t>(a.worker))) {
            // Proves to the worker that this PS holds the secret too.
            const auto mac = net::welcome_mac(opt_.secret, s->hello_nonce, s->challenge,
                                              static_cast<std::uint32_t>(a.worker));
            send_to(a.worker, detail::make_welcome(welcome_, a.worker, &mac, &s->shm_token));
          }
        } else if constexpr (std::is_same_v<T, ps_machine::start_iteration>) {
          if (!a.resume) iteration_start_ = std::chrono::steady_clock::now();
          // The model (d doubles) is serialized once; every channel writes the same frame.
          const auto frame = std::make_shared<const net::outgoing_frame>(
              detail::make_start_iteration(a.iteration, model_, start_segments_.get()));
          for (int w : a.to) {
            const auto& s = workers_.at(static_cast<std::size_t>(w));
            if (s && s->channel->is_open()) s->channel->send(frame);
          }
        } else if constexpr (std::is_same_v<T, ps_machine::arm_deadline>) {
          // One timer: re-arming cancels the previous wait, whose late firing the machine would
          // ignore anyway.
          deadline_.expires_after(a.after);
          deadline_.async_wait(
              [self = shared_from_this(), it = a.iteration](const boost::system::error_code& ec) {
                if (!ec && !self->stopped_) self->feed(ps_machine::deadline_fired{it});
              });
        } else if constexpr (std::is_same_v<T, ps_machine::encode_and_transmit>) {
          for (int w : a.to)
            send_to(w, detail::make_encode_and_transmit(a.iteration, a.epoch, a.state));
        } else if constexpr (std::is_same_v<T, ps_machine::decode>) {
          start_decode(std::move(a));
        } else if constexpr (std::is_same_v<T, ps_machine::send_error>) {
          log("error to worker " + std::to_string(a.worker) + ": " + a.text);
          send_to(a.worker, detail::make_error(a.code, a.text));
        } else if constexpr (std::is_same_v<T, ps_machine::close_worker>) {
          auto& s = workers_.at(static_cast<std::size_t>(a.worker));
          if (s) {
            s->channel->stop();
            s = nullptr;
          }
        } else if constexpr (std::is_same_v<T, ps_machine::reject>) {
          log("rejecting worker " + std::to_string(a.worker) + ": " + a.text);
          if (from) {
            from->channel->send(detail::make_error(a.code, a.text));
            from->channel->stop();
            if (from->worker >= 0 && workers_[static_cast<std::size_t>(from->worker)] == from) {
              workers_[static_cast<std::size_t>(from->worker)] = nullptr;
            }
          }
        } else if constexpr (std::is_same_v<T, ps_machine::shutdown>) {
          stop(a.reason, a.failure ? std::make_exception_ptr(std::runtime_error(a.reason))
                                   : std::exception_ptr{});
        } else if constexpr (std::is_same_v<T, ps_machine::notice>) {
          log(a.text);
        }
      },
      action);
}

void parameter_server::impl::start_decode(ps_machine::decode job) {
  if (stopped_) return;
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
      if (gradient.size() != self->opt_.dimension) gradient.resize(self->opt_.dimension);
      expected = decode_gradient_into(*self->code_, job, gradient);
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
      if (self->stopped_) return;
      if (error) {
        self->finish(error);
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
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  if (shm_listener_) shm_listener_->close();
  deadline_.cancel();
  heartbeat_timer_.cancel();
  for (auto& s : workers_) {
    if (!s) continue;
    s->channel->send(detail::make_shutdown(reason));
    s->channel->stop();
  }
  for (auto& s : pending_)
    s->channel->stop();
  publish_timer_.cancel();
  if (dashboard_) {
    // The last snapshot shows the finished run to pages still connected; then they see the
    // server go and reconnect (to the next run on the same port, if any).
    publish_status(true);
    dashboard_->stop();
  }
  finish(error);
}

void parameter_server::impl::finish(std::exception_ptr error) {
  if (error && !stopped_) stop("parameter server failed");
  if (done_) return;
  done_ = true;
  if (opt_.on_done) opt_.on_done(error);
}

parameter_server::parameter_server(asio::any_io_executor executor, ps_options options)
    : pool_(std::make_unique<ps_pool>(options.decode_threads)),
      impl_(std::make_shared<impl>(std::move(executor), std::move(options),
                                   pool_->pool.get_executor())) {}

parameter_server::~parameter_server() {
  // Coroutines may still hold the impl; stopping makes them end at their next wake-up, and the
  // pool is joined after our reference is gone.
  if (impl_ && impl_->started_) impl_->stop("parameter server destroyed");
  impl_.reset();
  pool_->pool.join();
}

std::uint16_t parameter_server::start() {
  if (impl_->started_) return impl_->port_;
  impl_->started_ = true;
  impl_->start_accepting();
  return impl_->port_;
}

void parameter_server::stop() {
  impl_->stop("parameter server stopped");
}

std::uint16_t parameter_server::port() const noexcept {
  return impl_->port_;
}
std::uint64_t parameter_server::shared_memory_links() const noexcept {
  return impl_->shm_links_;
}
std::uint16_t parameter_server::dashboard_port() const noexcept {
  return impl_->dashboard_ ? impl_->dashboard_->port() : 0;
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
  return impl_->done_;
}
const Eigen::VectorXd& parameter_server::model() const noexcept {
  return impl_->model_;
}

}  // namespace pgc::nodes
