#include "pgc/core/learning_rate_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

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

learning_rate_schedule parse_learning_rate_schedule(std::string_view text, double rate) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  while (true) {
    const auto colon = text.find(':', begin);
    parts.emplace_back(text.substr(begin, colon == std::string_view::npos ? colon : colon - begin));
    if (colon == std::string_view::npos) break;
    begin = colon + 1;
  }
  const std::string quoted = "learning-rate schedule '" + std::string(text) + "'";
  const auto number = [&](std::size_t i) {
    const std::string& s = parts[i];
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (s.empty() || used != s.size()) throw input_error(quoted + ": '" + s + "' is not a number");
    return v;
  };
  const auto count = [&](std::size_t i) {
    const double v = number(i);
    if (v != std::floor(v) || v < 1 || v > 1e12) {
      throw input_error(quoted + ": '" + parts[i] + "' is not a positive whole number of steps");
    }
    return static_cast<long>(v);
  };
  learning_rate_schedule s;
  s.rate = rate;
  const std::string& shape = parts[0];
  if (shape == "constant" && parts.size() == 1) {
    s.shape = learning_rate_schedule::kind::constant;
  } else if (shape == "step" && parts.size() == 3) {
    s.shape = learning_rate_schedule::kind::step_decay;
    s.period = count(1);
    s.gamma = number(2);
  } else if (shape == "cosine" && (parts.size() == 2 || parts.size() == 3)) {
    s.shape = learning_rate_schedule::kind::cosine;
    s.period = count(1);
    s.final_rate = parts.size() == 3 ? number(2) : 0.0;
  } else if (shape == "inverse" && parts.size() == 2) {
    s.shape = learning_rate_schedule::kind::inverse_time;
    s.gamma = number(1);
  } else {
    throw input_error(quoted +
                      ": expected constant, step:PERIOD:GAMMA, cosine:PERIOD[:FINAL] or "
                      "inverse:GAMMA");
  }
  try {
    s.validate();
  } catch (const input_error& e) {
    throw input_error(quoted + ": " + e.what());
  }
  return s;
}

}  // namespace pgc::core
