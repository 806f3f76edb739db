#pragma once

#include <cstdint>
#include <string>

#include <Eigen/Core>

namespace pgc::core {

// What the parameter server needs to carry on after a restart: the model after `iteration`
// completed steps, the optimizer's flat state and a fingerprint of the run (workload, scheme,
// sizes) so that a checkpoint is never resumed into a different run.
struct checkpoint {
  std::uint64_t iteration = 0;  // steps completed: the next iteration to run
  Eigen::VectorXd model;
  Eigen::VectorXd optimizer_state;
  std::string fingerprint;
};

// Writes to `path` atomically: a temporary file next to it, flushed and fsync'ed, then renamed
// over `path`, so a crash at any moment leaves the old checkpoint or the new one, never half of
// one. Throws input_error (naming the path) when it cannot.
void write_checkpoint(const std::string& path, const checkpoint& c);

// Throws input_error naming the path for a missing file, a file that is not a pgc checkpoint, a
// truncated or corrupted one (CRC-32 over the whole content) or an unsupported version.
checkpoint read_checkpoint(const std::string& path);

}  // namespace pgc::core
