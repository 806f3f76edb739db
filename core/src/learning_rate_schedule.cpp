#include "pgc/core/learning_rate_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "pgc/core/error.hpp"

namespace pgc::core {

void learning_rate_schedule::validate() const {
  if (!(rate > 0) || !std::isfinite(rate)) throw input_error("learning rate must be positive");
  switch (shape) {
    case kind::constant:
      break;
    case kind::step_decay:
      if (period < 1) throw input_error("step decay needs a period of at least one step");
      if (!(gamma > 0 && gamma <= 1)) throw input_error("step decay factor must be in (0, 1]");
      break;
    case kind::cosine:
      if (period < 1) throw input_error("cosine schedule needs a length of at least one step");
      if (!(final_rate >= 0 && final_rate <= rate)) {
        throw input_error("cosine final learning rate must be in [0, initial rate]");
      }
      break;
    case kind::inverse_time:
      if (!(gamma >= 0) || !std::isfinite(gamma)) {
        throw input_error("inverse-time decay rate must be non-negative");
      }
      break;
  }
}

double learning_rate_schedule::at(long step) const {
  step = std::max(step, 0L);
  const auto t = static_cast<double>(step);
  switch (shape) {
    case kind::constant:
      return rate;
    case kind::step_decay:
      return rate * std::pow(gamma, static_cast<double>(step / period));
    case kind::cosine: {
      const double progress =
          std::min(t, static_cast<double>(period)) / static_cast<double>(period);
      return final_rate + 0.5 * (rate - final_rate) * (1.0 + std::cos(std::numbers::pi * progress));
    }
    case kind::inverse_time:
      return rate / (1.0 + gamma * t);
  }
  return rate;
}

}  // namespace pgc::core
