// embed_ps: a service that already runs an io_context for work of its own (here a heartbeat
// line) and hosts a pgc parameter server on the same io_context and thread. Its on_gradient hook
// takes a gradient descent step, after checking the decoded gradient against the full gradient
// it computes itself from the same data as the workers (embed_worker).
//
//   embed_ps [WORKERS [PORT]]      then start WORKERS embed_worker processes
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include <Eigen/Core>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "pgc/nodes/parameter_server.hpp"

namespace {

// The data set of embed_worker: sample k has the features x_kj = sin(0.37 k + 1.1 j) and the
// target y_k = cos(0.21 k); the loss is 1/2 sum_k (x_k . w - y_k)^2.
constexpr int k_dim = 8;
constexpr long k_samples = 600;
double feature(long k, int j) {
  return std::sin(0.37 * k + 1.1 * j);
}
double target(long k) {
  return std::cos(0.21 * k);
}

constexpr std::uint64_t k_iterations = 10;
constexpr double k_learning_rate = 0.05;

// What the decoded gradient must be: the sum of every chunk gradient at w.
Eigen::VectorXd full_gradient(const Eigen::VectorXd& w) {
  Eigen::VectorXd g = Eigen::VectorXd::Zero(k_dim);
  Eigen::VectorXd x(k_dim);
  for (long k = 0; k < k_samples; ++k) {
    for (int j = 0; j < k_dim; ++j)
      x[j] = feature(k, j);
    g += (x.dot(w) - target(k)) * x;
  }
  return g;
}

// The service's own work: a line now and every 100 ms until the timer is cancelled.
boost::asio::awaitable<void> heartbeat(boost::asio::steady_timer& timer,
                                       const pgc::nodes::parameter_server& ps) {
  for (;;) {
    std::printf("embed_ps: heartbeat, %llu iterations done\n",
                static_cast<unsigned long long>(ps.completed()));
    timer.expires_after(std::chrono::milliseconds(100));
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int workers = argc > 1 ? std::atoi(argv[1]) : 3;
  const int port = argc > 2 ? std::atoi(argv[2]) : 0;
  if (workers < 2 || port < 0 || port > 65535) {
    std::fprintf(stderr, "usage: embed_ps [WORKERS (at least 2) [PORT]]\n");
    return 2;
  }

  boost::asio::io_context io;  // the service's own, already busy with its heartbeat
  boost::asio::steady_timer timer(io);

  pgc::nodes::ps_options options;
  options.listen = {"127.0.0.1", static_cast<std::uint16_t>(port)};
  options.protocol.scheme.kind = pgc::coding::scheme_kind::proposed;
  options.protocol.scheme.workers = workers;
  options.protocol.scheme.load = 2;  // every chunk on two workers: one straggler per chunk costs nothing
  options.protocol.scheme.ell = 1;
  options.protocol.dimension = k_dim;
  options.run.iterations = k_iterations;
  options.initial_model = Eigen::VectorXd::Zero(k_dim);
  // On the decode pool, one iteration at a time: check, then step on the mean loss.
  std::atomic<double> worst_error{0};
  options.on_gradient = [&](std::uint64_t, const Eigen::VectorXd& gradient, double,
                            Eigen::VectorXd& model) {
    const Eigen::VectorXd reference = full_gradient(model);
    const double error = (gradient - reference).norm() / reference.norm();
    worst_error = std::max(worst_error.load(), error);
    model -= k_learning_rate / k_samples * gradient;
  };
  options.on_iteration = [](std::uint64_t iteration, const pgc::nodes::iteration_stats& stats,
                            std::chrono::steady_clock::duration) {
    std::printf("embed_ps: iteration %llu decoded from %lld chunk gradients\n",
                static_cast<unsigned long long>(iteration), stats.chunks_used);
  };
  std::exception_ptr failure;
  bool done = false;
  options.on_done = [&](std::exception_ptr e) {  // on the io thread
    failure = e;
    done = true;
    timer.cancel();
  };

  pgc::nodes::parameter_server ps(io.get_executor(), std::move(options));
  std::printf("embed_ps: listening on 127.0.0.1:%u\n", static_cast<unsigned>(ps.start()));
  std::fflush(stdout);
  boost::asio::co_spawn(io, heartbeat(timer, ps), [](std::exception_ptr e) {
    try {
      if (e) std::rethrow_exception(e);
    } catch (const boost::system::system_error& error) {
      if (error.code() != boost::asio::error::operation_aborted) throw;  // not just cancelled
    }
  });
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) ps.stop();
  });

  // Until the server is done; then its Shutdown messages get a moment to reach the workers.
  while (!done && io.run_one() > 0) {
  }
  signals.cancel();
  io.run_for(std::chrono::seconds(2));

  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "embed_ps: %s\n", e.what());
    }
    return 1;
  }
  const bool verified = ps.completed() == k_iterations && worst_error <= 1e-9;
  std::printf("embed_ps: %llu iterations, max relative error %.2e against our own gradient, %s\n",
              static_cast<unsigned long long>(ps.completed()), worst_error.load(),
              verified ? "verified" : "VERIFICATION FAILED");
  return verified ? 0 : 1;
}
