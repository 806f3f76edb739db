#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace pgc::nodes {

// A random extra delay per chunk, for straggler experiments (worker_options::delay): the worker
// sleeps this long after computing a chunk, on top of any fixed slowdown. Text forms:
//   none                    no extra delay
//   fixed:MS                MS milliseconds per chunk
//   exp:MEAN_MS             exponential with mean MEAN_MS
//   pareto:SCALE_MS:SHAPE   Pareto: at least SCALE_MS, tail ~ x^-SHAPE (mean finite for SHAPE > 1)
//   bimodal:P:F             with probability P the chunk takes F times its compute time
// A value is always valid: parse() and the factories refuse bad parameters.
class delay_model {
 public:
  enum class kind { none, fixed, exponential, pareto, bimodal };

  // No extra delay.
  delay_model() = default;

  // Throws core::input_error naming the problem for text that is not one of the forms above.
  static delay_model parse(std::string_view text);
  // The same checks as parse(), for callers that hold numbers.
  static delay_model fixed(double ms);
  static delay_model exponential(double mean_ms);
  static delay_model pareto(double scale_ms, double shape);
  static delay_model bimodal(double probability, double factor);

  kind type() const noexcept { return kind_; }
  bool is_none() const noexcept { return kind_ == kind::none; }
  // The canonical text; parse(to_string()) gives the same model.
  std::string to_string() const;

  // The extra delay of a chunk whose computation took `compute`, from one uniform draw u in
  // [0, 1): the inverse of the distribution function, so one seeded stream of draws gives the
  // same delays on every platform. Capped at one hour so a heavy tail cannot overflow a clock.
  std::chrono::nanoseconds extra(double u, std::chrono::nanoseconds compute) const;

  // The mean of extra() over u, in milliseconds, for a chunk computed in `compute_ms`;
  // infinity for a Pareto tail with SHAPE <= 1 (the cap aside).
  double mean_ms(double compute_ms) const;

 private:
  delay_model(kind k, double a, double b) : kind_(k), a_(a), b_(b) {}
  static delay_model make(kind k, double a, double b);

  kind kind_ = kind::none;
  double a_ = 0;  // fixed: ms; exponential: mean ms; pareto: scale ms; bimodal: probability
  double b_ = 0;  // pareto: shape; bimodal: factor
};

// A uniform draw in [0, 1) from the top 53 bits of the generator: unlike
// std::uniform_real_distribution, the same value for the same seed with every standard library.
double unit_uniform(std::mt19937_64& rng) noexcept;

}  // namespace pgc::nodes
