#pragma once

// What the PS writes besides its output lines: the check against a reference, the summary, the
// CSV log and the checkpoints. pgc ps writes them; launch and rank forward the flags to their PS.

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace pgc::tools {

struct output_options {
  bool verify = false;
  std::string summary;
  std::string csv;
  std::string checkpoint;
  std::uint64_t checkpoint_every = 10;
  bool resume = false;

  void add_to(CLI::App& app);
  std::vector<std::string> arguments() const;
  // Throws core::input_error for --resume without --checkpoint.
  void validate() const;
  // Throws core::input_error naming the file when --summary, --csv or --checkpoint cannot be
  // written (checked by creating and removing a file next to each): before the first iteration,
  // not after minutes of work.
  void check_paths() const;
};

}  // namespace pgc::tools
