#include "assignment_options.hpp"

#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "options/option_helpers.hpp"
#include "pgc/core/error.hpp"

namespace pgc::tools {

using core::input_error;

void assignment_options::add_to(CLI::App& app) {
  app.add_option("--kind", kind, "Assignment: cyclic | frc | regular | file")
      ->check(CLI::IsMember({"cyclic", "frc", "regular", "file"}))
      ->capture_default_str();
  app.add_option("--workers", workers, "Number of workers N");
  app.add_option("--chunks", chunks, "Number of chunks m (default: N, or from the file)");
  app.add_option("--load", load, "Chunks per worker (delta)");
  app.add_option("--file", file, "Assignment file: one line per worker, chunk ids in order");
  app.add_option("--seed", seed, "Seed of random assignments, orders (and delays in pgc sim)")
      ->check(at_least(0))
      ->capture_default_str();
  add_enum_option(app, "--order", order, coding::order_kind_names(), "Chunk order");
}

coding::assignment assignment_options::build(int workers_override) const {
  const int n = workers_override != 0 ? workers_override : workers;
  if (kind == "file") {
    if (file.empty()) throw input_error("--kind file needs --file PATH");
    auto a = coding::parse_assignment(read_text_file(file, "assignment file"), chunks);
    if (n != 0 && n != a.workers()) {
      throw input_error("--workers " + std::to_string(n) + " but '" + file + "' has " +
                        std::to_string(a.workers()) + " workers");
    }
    return a;
  }
  if (!file.empty()) throw input_error("--file is only for --kind file");
  if (n < 1) throw input_error("--workers must be at least 1");
  if (load < 1) throw input_error("--load must be at least 1");
  if (kind == "cyclic") return coding::cyclic(n, load, chunks == 0 ? n : chunks);
  if (chunks != 0 && chunks != n) {
    throw input_error("--kind " + kind +
                      " has one chunk per worker: --chunks must equal --workers");
  }
  if (kind == "frc") return coding::fractional_repetition(n, load);
  if (kind == "regular") return coding::random_regular(n, load, seed);
  throw input_error("unknown --kind '" + kind + "' (cyclic, frc, regular, file)");
}

std::string read_text_file(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) throw input_error(std::string("cannot open ") + what + " '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace pgc::tools
