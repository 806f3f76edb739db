#include "pgc/bench/coding_bench.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "pgc/bench/timing.hpp"
#include "pgc/coding/assignment.hpp"
#include "pgc/coding/progress_tracker.hpp"
#include "pgc/coding/proposed.hpp"
#include "pgc/coding/scheme.hpp"

namespace pgc::bench {
namespace {

// Results land here so the compiler cannot drop the work that produced them.
volatile double sink = 0;

coding::state_vector full_state(const coding::assignment& a) {
  coding::state_vector s(static_cast<std::size_t>(a.workers()));
  for (int w = 0; w < a.workers(); ++w)
    s[static_cast<std::size_t>(w)] = a.load(w);
  return s;
}

std::string d_text(long long d) {
  return std::to_string(d);
}

// Worker 0 of a cyclic code with `holders` copies of every chunk solves one holders x ell
// least-squares system per chunk of its list: time its whole encoding() and divide.
void coef_solve(const bench_config& config, report& out) {
  for (const int ell : config.ells) {
    for (const int h : config.holders) {
      if (ell > h) continue;  // ell copies of every chunk are the premise of the code
      const std::string key = "coef_solve_us_ell" + std::to_string(ell) + "_h" + std::to_string(h);
      const std::string what =
          "coefficient solve per chunk: pinv of R[:, S_j], ell = " + std::to_string(ell) + ", " +
          std::to_string(h) + " holders";
      const int workers = std::max(64, h);
      const coding::proposed code(coding::cyclic(workers, h), ell, 1);
      const auto s = full_state(code.tasks());
      const double t = best_seconds([&] { sink = sink + code.encoding(0, s)(0, 0); },
                                    config.repeats, config.min_seconds);
      out.add(key, t / h * 1e6, "us", what);
    }
  }
}

void encode_vs_axpy(const bench_config& config, report& out, int ell) {
  const int load = std::max(config.encode_load, ell);
  const int d = static_cast<int>(config.encode_d);
  const coding::proposed code(coding::cyclic(16, load), ell, 1);
  const auto s = full_state(code.tasks());
  const Eigen::MatrixXd gradients = Eigen::MatrixXd::Random(d, load);
  const Eigen::MatrixXd c = code.encoding(0, s);
  const coding::block_layout layout{d, ell};
  const auto encode = [&] { sink = sink + coding::encode(code, 0, s, gradients)(0); };
  // The same multiply-adds over the same data with known coefficients, as plain loops.
  const auto axpy = [&] {
    std::vector<double> y(static_cast<std::size_t>(layout.block()));
    for (int p = 0; p < load; ++p) {
      for (int u = 0; u < ell; ++u) {
        const double a = c(p, u);
        const double* x = gradients.col(p).data() + static_cast<std::ptrdiff_t>(u) * layout.block();
        const int len = layout.length(u);
        for (int i = 0; i < len; ++i)
          y[static_cast<std::size_t>(i)] += a * x[i];
      }
    }
    sink = sink + y[0];
  };
  const auto [t_encode, t_axpy] = best_pair(encode, axpy, config.repeats, config.min_seconds);
  const std::string suffix = ell == 1 ? "" : "_ell" + std::to_string(ell);
  const std::string shape = "d = " + d_text(config.encode_d) + ", " + std::to_string(load) +
                            " chunks, ell = " + std::to_string(ell);
  out.add("encode_vs_axpy" + suffix, t_axpy / t_encode, "ratio",
          "worker encode vs plain axpy over the same data (higher is better), " + shape);
  out.add("encode_ms" + suffix, t_encode * 1e3, "ms", "worker encode, " + shape);
}

void decode_vs_axpy(const bench_config& config, report& out) {
  const int ell = 4;
  const int n = std::max(config.decode_workers, ell);
  const int d = static_cast<int>(config.decode_d);
  const coding::proposed code(coding::cyclic(n, ell), ell, 1);
  const auto s = full_state(code.tasks());
  const auto from = code.senders(s);
  const coding::block_layout layout{d, ell};
  const Eigen::MatrixXd coded = Eigen::MatrixXd::Random(layout.block(), n);
  // Both write into an output allocated once, as the PS does (it decodes into a reused buffer).
  Eigen::VectorXd decoded(d);
  const auto decode = [&] {
    coding::decode_into(code, s, from, coded, decoded);
    sink = sink + decoded(0);
  };
  std::vector<double> g(static_cast<std::size_t>(d));
  const auto axpy = [&] {
    std::fill(g.begin(), g.end(), 0.0);
    for (int t = 0; t < n; ++t) {
      const double* y = coded.col(t).data();
      for (int k = 0; k < ell; ++k) {
        const double a = code.r()(k, from[static_cast<std::size_t>(t)]);
        double* out_block = g.data() + static_cast<std::ptrdiff_t>(k) * layout.block();
        const int len = layout.length(k);
        for (int i = 0; i < len; ++i)
          out_block[i] += a * y[i];
      }
    }
    sink = sink + g[0];
  };
  const auto [t_decode, t_axpy] = best_pair(decode, axpy, config.repeats, config.min_seconds);
  const std::string shape = "d = " + d_text(config.decode_d) + ", " + std::to_string(n) +
                            " coded vectors, ell = " + std::to_string(ell);
  out.add("decode_vs_axpy", t_axpy / t_decode, "ratio",
          "PS decode into a preallocated gradient vs plain axpy loops into one (higher is "
          "better), " +
              shape);
  out.add("decode_ms", t_decode * 1e3, "ms", "PS decode, " + shape);
}

// The float32 wire: every worker's coded vector rounded to float, decoded in double, against
// the sum of the chunk gradients (what --verify compares with). Random Gaussian gradients; the
// proposed scheme with ell = 4 mixes them with the coefficients of pinv(R[:, S_j]).
void f32_decode_error(const bench_config& config, report& out) {
  const int ell = 4;
  const int n = std::max(config.decode_workers, ell);
  const int d = static_cast<int>(std::min<long long>(config.decode_d, 200'000));
  const coding::proposed code(coding::cyclic(n, ell), ell, 1);
  const auto s = full_state(code.tasks());
  const auto from = code.senders(s);
  const Eigen::MatrixXd chunk_gradients = Eigen::MatrixXd::Random(d, code.chunks());
  const coding::block_layout layout{d, ell};
  Eigen::MatrixXd coded(layout.block(), static_cast<Eigen::Index>(from.size()));
  for (std::size_t t = 0; t < from.size(); ++t) {
    const auto list = code.tasks().list(from[t]);
    Eigen::MatrixXd mine(d, static_cast<Eigen::Index>(list.size()));
    for (std::size_t p = 0; p < list.size(); ++p)
      mine.col(static_cast<Eigen::Index>(p)) = chunk_gradients.col(list[p]);
    // Rounded to float and back, as the wire does.
    coded.col(static_cast<Eigen::Index>(t)) =
        coding::encode(code, from[t], s, mine).cast<float>().cast<double>();
  }
  const Eigen::VectorXd reference = chunk_gradients.rowwise().sum();
  const Eigen::VectorXd got = coding::decode(code, s, from, coded, d);
  const std::string shape = "d = " + std::to_string(d) + ", " + std::to_string(n) +
                            " workers, cyclic load " + std::to_string(ell) + ", ell = " +
                            std::to_string(ell);
  out.add("f32_decode_rel_error", (got - reference).norm() / reference.norm(), "ratio",
          "float32 wire: |decode - exact gradient| / |exact gradient| (2^-24 = 6e-8 is one "
          "rounding), " +
              shape);
}

void tracker_updates(const bench_config& config, report& out) {
  const int workers = 64;
  const int load = 8;
  const coding::assignment tasks = coding::cyclic(workers, load);
  coding::progress_tracker tracker(tasks, 4);
  const auto iteration = [&] {
    tracker.reset();
    for (int done = 1; done <= load; ++done) {
      for (int w = 0; w < workers; ++w)
        tracker.report(w, done);
    }
    sink = sink + tracker.chunks_below_ell();
  };
  const double t = best_seconds(iteration, config.repeats, config.min_seconds);
  out.add("tracker_update_ns", t / (workers * load) * 1e9, "ns",
          "progress tracker: one Progress report (64 workers, load 8, ell = 4, reset included)");
}

}  // namespace

void run_coding_bench(const bench_config& config, report& out) {
  coef_solve(config, out);
  encode_vs_axpy(config, out, 1);
  encode_vs_axpy(config, out, 4);
  decode_vs_axpy(config, out);
  f32_decode_error(config, out);
  tracker_updates(config, out);
}

}  // namespace pgc::bench
