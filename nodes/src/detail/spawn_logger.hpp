#pragma once

// The completion handler of every co_spawn in the node shells (STYLE.md item 8): an exception
// that escapes a coroutine is logged, never rethrown into the io loop and never lost.

#include <exception>
#include <functional>
#include <iostream>
#include <string>

namespace pgc::nodes::detail {

inline void write_log(const std::function<void(const std::string&)>& sink,
                      const std::string& line) {
  if (sink) {
    sink(line);
  } else {
    std::cerr << line << '\n';
  }
}

struct spawn_logger {
  std::function<void(const std::string&)> sink;
  std::string what;

  void operator()(std::exception_ptr e) const {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      write_log(sink, what + " ended with an exception: " + ex.what());
    } catch (...) {
      write_log(sink, what + " ended with an unknown exception");
    }
  }
};

}  // namespace pgc::nodes::detail
