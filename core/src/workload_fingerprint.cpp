#include "pgc/core/workload_fingerprint.hpp"

#include <algorithm>

namespace pgc::core {

std::optional<std::string> workload_fingerprint::difference(const workload_fingerprint& peer) const {
  if (empty() || peer.empty()) return std::nullopt;
  const auto value_at = [](const workload_fingerprint& f, const std::string& name) {
    const auto it = std::find_if(f.fields.begin(), f.fields.end(),
                                 [&](const auto& field) { return field.first == name; });
    return it == f.fields.end() ? std::optional<std::string>() : it->second;
  };
  const auto shown = [](const std::optional<std::string>& v) {
    return v ? "'" + *v + "'" : std::string("(not set)");
  };
  for (const auto* side : {this, &peer}) {
    for (const auto& [name, value] : side->fields) {
      const auto mine = value_at(*this, name);
      const auto theirs = value_at(peer, name);
      if (mine != theirs) {
        return name + ": " + shown(mine) + " here, " + shown(theirs) + " at the peer";
      }
    }
  }
  return std::nullopt;
}

}  // namespace pgc::core
