#include "options/optimizer_options.hpp"

#include <CLI/CLI.hpp>

#include "options/option_helpers.hpp"
#include "pgc/core/error.hpp"

namespace pgc::tools {

void optimizer_options::add_to(CLI::App& app) {
  app.add_option("--lr", lr, "Learning rate (on the mean loss)")
      ->check(greater_than(0))
      ->capture_default_str();
  app.add_option("--momentum", momentum, "Momentum, in [0, 1)")->capture_default_str();
  app.add_flag("--nesterov", nesterov, "Nesterov momentum");
  app.add_option("--lr-schedule", lr_schedule,
                 "constant | step:PERIOD:GAMMA | cosine:PERIOD[:FINAL] | inverse:GAMMA")
      ->capture_default_str();
}

std::vector<std::string> optimizer_options::arguments() const {
  std::vector<std::string> a{"--lr",          exact_text(lr), "--momentum", exact_text(momentum),
                             "--lr-schedule", lr_schedule};
  if (nesterov) a.push_back("--nesterov");
  return a;
}

core::optimizer_config optimizer_options::config() const {
  core::optimizer_config c;
  c.schedule = core::parse_learning_rate_schedule(lr_schedule, lr);
  if (!(momentum >= 0 && momentum < 1)) throw core::input_error("--momentum must lie in [0, 1)");
  c.momentum = momentum;
  c.nesterov = nesterov;
  return c;
}

}  // namespace pgc::tools
