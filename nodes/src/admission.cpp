#include "pgc/nodes/admission.hpp"

#include <algorithm>
#include <utility>

namespace pgc::nodes {

admission::admission(int workers, std::uint32_t protocol_version, std::string secret,
                     core::workload_fingerprint fingerprint)
    : slots_(static_cast<std::size_t>(std::max(workers, 0))),
      version_(protocol_version),
      secret_(std::move(secret)),
      fingerprint_(std::move(fingerprint)) {}

bool admission::connected(int worker) const {
  return worker >= 0 && worker < workers() && slots_[static_cast<std::size_t>(worker)].connected;
}

const std::string& admission::name(int worker) const {
  static const std::string none;
  return worker >= 0 && worker < workers() ? slots_[static_cast<std::size_t>(worker)].name : none;
}

void admission::left(int worker) {
  if (worker >= 0 && worker < workers()) slots_[static_cast<std::size_t>(worker)].connected = false;
}

admission::accept admission::take(int worker, const std::string& name) {
  auto& s = slots_[static_cast<std::size_t>(worker)];
  accept a{worker, {}};
  if (!s.name.empty() && s.name != name) a.replaced = s.name;
  s.name = name;
  s.connected = true;
  return a;
}

admission::verdict admission::admit(const hello& h) {
  if (h.protocol_version != version_) {
    return refuse{core::errc::protocol_violation,
                  "protocol version " + std::to_string(h.protocol_version) +
                      " is not supported (this PS speaks " + std::to_string(version_) + ")",
                  false};
  }
  if (h.name.empty()) return refuse{core::errc::invalid_input, "empty worker name", false};
  const std::string quoted = "'" + h.name + "'";
  if (!secret_.empty()) {
    if (h.nonce.size() != net::nonce_bytes || h.mac.empty()) {
      return refuse{core::errc::unauthenticated,
                    quoted + " did not authenticate: this PS needs the shared secret "
                             "(--secret-file)",
                    false};
    }
    const auto expected = net::hello_mac(secret_, h.challenge, h.nonce, h.name);
    if (!net::same_mac(h.mac, expected)) {
      return refuse{core::errc::unauthenticated,
                    quoted + " failed authentication (a different secret)", false};
    }
  }
  if (auto why = fingerprint_.difference(h.workload)) {
    // The worker's data is not the PS's: every step it helped would be wrong.
    return refuse{core::errc::mismatched_peer,
                  quoted + " has another workload: " + *why + " (the PS's value first)", false};
  }
  const auto begin = slots_.begin();
  const auto end = slots_.end();
  if (const auto own = std::find_if(begin, end, [&](const slot& s) { return s.name == h.name; });
      own != end) {
    if (own->connected) {
      return refuse{core::errc::duplicate_peer, "worker " + quoted + " is already connected",
                    true};
    }
    return take(static_cast<int>(own - begin), h.name);
  }
  const auto preferred = [&](auto usable) {
    if (h.preferred_id >= 0 && h.preferred_id < workers() &&
        usable(slots_[static_cast<std::size_t>(h.preferred_id)])) {
      return begin + h.preferred_id;
    }
    return std::find_if(begin, end, usable);
  };
  auto it = preferred([](const slot& s) { return s.name.empty(); });
  if (it == end) it = preferred([](const slot& s) { return !s.connected; });
  if (it == end) {
    return refuse{core::errc::no_free_slot,
                  "no free worker slot for " + quoted + ": all " + std::to_string(workers()) +
                      " are held by connected workers",
                  true};
  }
  return take(static_cast<int>(it - begin), h.name);
}

}  // namespace pgc::nodes
