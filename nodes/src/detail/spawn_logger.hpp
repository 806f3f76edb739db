#pragma once

// The completion handler of every co_spawn in the node shells (STYLE.md item 8): an exception
// that escapes a coroutine is logged, never rethrown into the io loop and never lost.

#include <exception>
#include <string>

#include "pgc/core/logger.hpp"

namespace pgc::nodes::detail {

struct spawn_logger {
  core::logger log;
  std::string what;

  void operator()(std::exception_ptr e) const {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log.error(what + " ended with an exception: " + ex.what());
    } catch (...) {
      log.error(what + " ended with an unknown exception");
    }
  }
};

}  // namespace pgc::nodes::detail
