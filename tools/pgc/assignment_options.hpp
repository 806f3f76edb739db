#pragma once

// The assignment flags of pgc assign and pgc sim: --kind --workers --chunks --load --file --seed
// --order, and how they become a coding::assignment.

#include <cstdint>
#include <string>

#include "pgc/coding/assignment.hpp"
#include "pgc/coding/ordering.hpp"

namespace CLI {
class App;
}

namespace pgc::tools {

struct assignment_options {
  std::string kind = "cyclic";  // cyclic | frc | regular | file
  int workers = 0;
  int chunks = 0;  // 0: N, or from the file
  int load = 0;
  std::string file;
  std::uint64_t seed = 1;
  coding::order_kind order = coding::order_kind::keep;

  void add_to(CLI::App& app);
  // The assignment for `workers_override` workers when non-zero (a trace's line count), else
  // --workers. Throws core::input_error naming the flag that is wrong.
  coding::assignment build(int workers_override = 0) const;
};

// The whole file; throws core::input_error "cannot open <what> '<path>'".
std::string read_text_file(const std::string& path, const char* what);

}  // namespace pgc::tools
