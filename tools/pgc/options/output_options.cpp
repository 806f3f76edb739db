#include "options/output_options.hpp"

#include <CLI/CLI.hpp>

#include "options/option_helpers.hpp"
#include "pgc/core/error.hpp"

namespace pgc::tools {

void output_options::add_to(CLI::App& app) {
  app.add_flag("--verify", verify,
               "The PS checks every decoded gradient against a single-process reference (exit 1 "
               "if an exact one is off by more than 1e-9 relative, 1e-5 with --wire-precision "
               "f32)");
  app.add_option("--summary", summary, "The PS writes a JSON summary to this file");
  app.add_option("--csv", csv,
                 "The PS writes one CSV line per iteration to this file (appended to with "
                 "--resume; pgc launch --compare: FILE.SCHEME.csv per scheme)");
  app.add_option("--checkpoint", checkpoint,
                 "The PS writes the model and optimizer state to this file every "
                 "--checkpoint-every iterations and at the end (atomically: temporary file, then "
                 "rename)");
  app.add_option("--checkpoint-every", checkpoint_every, "Iterations between checkpoints")
      ->check(at_least(1))
      ->capture_default_str();
  app.add_flag("--resume", resume,
               "The PS starts from the --checkpoint file (it must belong to the same run)");
}

std::vector<std::string> output_options::arguments() const {
  std::vector<std::string> a;
  if (verify) a.push_back("--verify");
  append_if_set(a, "--summary", summary);
  append_if_set(a, "--csv", csv);
  if (!checkpoint.empty()) {
    a.push_back("--checkpoint");
    a.push_back(checkpoint);
    a.push_back("--checkpoint-every");
    a.push_back(std::to_string(checkpoint_every));
    if (resume) a.push_back("--resume");
  } else if (resume) {
    a.push_back("--resume");  // refused by the PS's validate(), with the reason
  }
  return a;
}

void output_options::validate() const {
  if (resume && checkpoint.empty()) throw core::input_error("--resume needs --checkpoint FILE");
  if (checkpoint_every < 1) throw core::input_error("--checkpoint-every must be at least 1");
}

void output_options::check_paths() const {
  check_writable(summary, "--summary file");
  check_writable(csv, "--csv file");
  // "checkpoint 'PATH'" as core::write_checkpoint says it when a write fails later.
  check_writable(checkpoint, "checkpoint");
}

}  // namespace pgc::tools
