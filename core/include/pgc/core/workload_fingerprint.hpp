#pragma once

// What makes two nodes' data the same: the workload's kind, sizes, seeds, noise and the digests of
// its data files, as named fields. A worker sends its fingerprint in Hello and the PS refuses one
// that differs from its own, naming the field, instead of applying steps from other data.

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pgc::core {

struct workload_fingerprint {
  // (field, value) in a fixed order, e.g. {"workload", "synthetic"}, {"data-seed", "1"}. Field
  // names are the command-line spellings, so a refusal names the flag to fix.
  std::vector<std::pair<std::string, std::string>> fields;

  bool empty() const noexcept { return fields.empty(); }
  // The first field whose value differs (or that only one side has), as
  // "--data-seed: 2 here, 1 at the peer"; nullopt when both agree. An empty fingerprint (an
  // embedder that set none) agrees with everything.
  std::optional<std::string> difference(const workload_fingerprint& peer) const;
};

}  // namespace pgc::core
