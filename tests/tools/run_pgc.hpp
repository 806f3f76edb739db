#pragma once

// Runs the real pgc binary as a child process and captures what it prints.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace pgc::test {

struct process_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh path in the build tree's tests/ folder: PREFIX-NAME, removed if it exists.
inline std::string fresh_path(const std::string& prefix, const std::string& name) {
  const std::string path = std::string(PGC_BINARY_DIR) + "/tests/" + prefix + "-" + name;
  std::remove(path.c_str());
  return path;
}

// `args` is passed to /bin/sh after the binary path: quote accordingly.
inline process_result run_pgc(const std::string& args) {
  static int counter = 0;
  const std::string base = std::string(PGC_BINARY_DIR) + "/tests/run-" +
                           std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const std::string command =
      std::string(PGC_EXE) + " " + args + " </dev/null >" + base + ".out 2>" + base + ".err";
  const int status = std::system(command.c_str());
  process_result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return r;
}

}  // namespace pgc::test
