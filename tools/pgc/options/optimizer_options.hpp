#pragma once

// The optimizer flags of pgc ps, launch and rank: the step the PS applies to each decoded
// gradient.

#include <string>
#include <vector>

#include "pgc/core/optimizer.hpp"

namespace CLI {
class App;
}

namespace pgc::tools {

struct optimizer_options {
  double lr = 0.5;
  double momentum = 0.0;
  bool nesterov = false;
  std::string lr_schedule = "constant";  // see core::parse_learning_rate_schedule

  void add_to(CLI::App& app);
  std::vector<std::string> arguments() const;
  // Throws core::input_error for a bad schedule or momentum.
  void validate() const { (void)config(); }
  core::optimizer_config config() const;
};

}  // namespace pgc::tools
