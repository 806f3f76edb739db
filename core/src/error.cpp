#include "pgc/core/error.hpp"

namespace pgc::core {
namespace {

class category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "pgc"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_input:
        return "invalid input";
      case errc::frame_too_large:
        return "frame larger than the limit";
      case errc::bad_message:
        return "malformed message";
      case errc::stale_iteration:
        return "message for a stale iteration or epoch";
      case errc::unknown_peer:
        return "unknown peer";
      case errc::duplicate_peer:
        return "duplicate peer";
      case errc::unauthenticated:
        return "peer not authenticated";
      case errc::timeout:
        return "timed out";
      case errc::protocol_violation:
        return "message not allowed in this state";
      case errc::mismatched_peer:
        return "peer with another workload or configuration";
      case errc::no_free_slot:
        return "no free worker slot";
    }
    return "unknown pgc error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const category_impl instance;
  return instance;
}

}  // namespace pgc::core
