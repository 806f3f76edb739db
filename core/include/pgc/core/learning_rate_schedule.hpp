#pragma once

#include <string_view>

namespace pgc::core {

// Learning rate as a function of the step number t = 0, 1, 2, ... (steps already taken).
//   constant:     lr
//   step_decay:   lr * gamma^floor(t / period)
//   cosine:       final + 0.5 (lr - final) (1 + cos(pi min(t, period) / period))
//   inverse_time: lr / (1 + gamma t)
struct learning_rate_schedule {
  enum class kind { constant, step_decay, cosine, inverse_time };

  kind shape = kind::constant;
  double rate = 0.1;      // lr at t = 0
  double gamma = 0.1;     // decay factor (step_decay) or decay rate (inverse_time)
  long period = 100;      // steps per decay (step_decay) or length of the cosine
  double final_rate = 0;  // where the cosine ends

  // Throws input_error for a non-positive rate, period < 1 or a gamma that does not decay.
  void validate() const;
  double at(long step) const;
};

// The command-line form, with the initial rate given apart:
//   constant | step:PERIOD:GAMMA | cosine:PERIOD[:FINAL] | inverse:GAMMA
// Throws input_error naming the text for anything else (and for invalid values, see validate).
learning_rate_schedule parse_learning_rate_schedule(std::string_view text, double rate);

}  // namespace pgc::core
