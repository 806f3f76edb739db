// embed_worker: a service that lends its CPU to a pgc cluster. It embeds a pgc::nodes::worker
// and gives it a gradient source of its own: least squares on data it generates itself.
//
//   embed_worker HOST:PORT CHUNKS [NAME]      (CHUNKS: the number of workers N of the PS)
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include <Eigen/Core>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "pgc/core/gradient_source.hpp"
#include "pgc/net/endpoint.hpp"
#include "pgc/nodes/worker.hpp"

namespace {

// The data set every node of the cluster agrees on (embed_ps has the same formulas): sample k
// has the features x_kj = sin(0.37 k + 1.1 j) and the target y_k = cos(0.21 k).
constexpr int k_dim = 8;
constexpr long k_samples = 600;
double feature(long k, int j) {
  return std::sin(0.37 * k + 1.1 * j);
}
double target(long k) {
  return std::cos(0.21 * k);
}

// Least squares, 1/2 sum_k (x_k . w - y_k)^2, cut into `chunks` runs of samples. A chunk's
// gradient is the sum (not the mean) over its samples of (x_k . w - y_k) x_k.
class toy_least_squares final : public pgc::core::gradient_source {
 public:
  explicit toy_least_squares(int chunks) : chunks_(chunks) {}

  int dimension() const override { return k_dim; }
  int chunks() const override { return chunks_; }
  long samples() const override { return k_samples; }
  long chunk_samples(int chunk) const override { return first(chunk + 1) - first(chunk); }

  // Called on the worker's compute pool, possibly concurrently: no state but the arguments.
  void gradient(int chunk, const Eigen::VectorXd& w,
                Eigen::Ref<Eigen::VectorXd> out) const override {
    check_gradient_arguments(chunk, w, out);
    out.setZero();
    for (long k = first(chunk); k < first(chunk + 1); ++k) {
      const Eigen::VectorXd x = features(k);
      out += (x.dot(w) - target(k)) * x;
    }
  }

  double loss(const Eigen::VectorXd& w) const override {
    check_parameters(w);
    double sum = 0;
    for (long k = 0; k < k_samples; ++k)
      sum += 0.5 * std::pow(features(k).dot(w) - target(k), 2);
    return sum;
  }

  Eigen::VectorXd initial_parameters() const override { return Eigen::VectorXd::Zero(k_dim); }

 private:
  static Eigen::VectorXd features(long k) {
    Eigen::VectorXd x(k_dim);
    for (int j = 0; j < k_dim; ++j)
      x[j] = feature(k, j);
    return x;
  }
  long first(int chunk) const { return chunk * k_samples / chunks_; }

  int chunks_;
};

// Before joining: the chunk gradients must add up to the gradient of loss() (central
// differences), or the PS would decode garbage.
bool gradients_match_loss(const pgc::core::gradient_source& source) {
  const Eigen::VectorXd w = Eigen::VectorXd::LinSpaced(source.dimension(), -0.5, 0.5);
  const Eigen::VectorXd g = pgc::core::full_gradient(source, w);
  Eigen::VectorXd numeric(source.dimension());
  for (int j = 0; j < source.dimension(); ++j) {
    Eigen::VectorXd step = Eigen::VectorXd::Zero(source.dimension());
    step[j] = 1e-5;
    numeric[j] = (source.loss(w + step) - source.loss(w - step)) / 2e-5;
  }
  return (g - numeric).norm() <= 1e-6 * g.norm();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || std::atoi(argv[2]) < 1) {
    std::fprintf(stderr, "usage: embed_worker HOST:PORT CHUNKS [NAME]\n");
    return 2;
  }
  const std::string name = argc > 3 ? argv[3] : "embedded-worker";
  const auto source = std::make_shared<toy_least_squares>(std::atoi(argv[2]));
  if (!gradients_match_loss(*source)) {
    std::fprintf(stderr, "embed_worker %s: the chunk gradients do not match the loss\n",
                 name.c_str());
    return 1;
  }

  boost::asio::io_context io;  // the service's own; the worker does all its I/O on it
  pgc::nodes::worker_options options;
  options.connect = pgc::net::parse_endpoint(argv[1]);
  options.name = name;  // the PS gives the same name the same id after a reconnect
  std::exception_ptr failure;
  // Null after the PS's Shutdown or stop(), else the error that ended the worker.
  options.on_done = [&](std::exception_ptr e) {
    failure = e;
    io.stop();
  };
  pgc::nodes::worker worker(io.get_executor(), std::move(options), source);
  worker.start();

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) worker.stop();
  });
  io.run();

  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "embed_worker %s: %s\n", name.c_str(), e.what());
    }
    return 1;
  }
  std::printf("embed_worker %s: done (worker id %d)\n", name.c_str(), worker.worker_id());
  return 0;
}
