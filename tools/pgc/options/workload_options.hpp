#pragma once

// The workload flags of every node: what data and model the gradients come from. The same on
// the PS and on every worker; launch and rank forward them.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pgc/core/classifier.hpp"
#include "pgc/core/dataset.hpp"
#include "pgc/core/gradient_source.hpp"
#include "pgc/core/workload_fingerprint.hpp"

namespace CLI {
class App;
}

namespace pgc::tools {

struct workload_options {
  std::string workload = "synthetic";  // synthetic | fashion-mnist
  // synthetic
  int dim = 64;
  long samples = 4096;
  std::uint64_t data_seed = 1;
  double noise = 0.01;
  std::string init = "zeros";  // zeros | truth: the initial model (truth: the generating w*)
  // fashion-mnist
  std::string model = "softmax";  // softmax | mlp
  int hidden = 64;
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  long train_limit = 0;  // 0: all 60,000
  long test_limit = 0;   // 0: all 10,000

  void add_to(CLI::App& app);
  std::vector<std::string> arguments() const;
  // What makes two nodes' gradients the same, as (flag, value) fields: the kind, sizes, seeds,
  // noise, and for fashion-mnist the size and FNV-1a hash of each training IDX file (read here:
  // call once). Not the test set, which only the PS reads (to score the model).
  core::workload_fingerprint fingerprint() const;
};

// What a node builds from workload_options: the gradient source (every node), and for a
// classifier the test set the PS scores it on (with_test only; null for synthetic data).
struct workload {
  std::shared_ptr<const core::gradient_source> source;
  std::shared_ptr<const core::classifier> classifier;
  std::shared_ptr<const core::dataset> test;
};

// `chunks` is m. Throws core::input_error for bad options or a missing data set.
workload make_workload(const workload_options& w, int chunks, bool with_test);

}  // namespace pgc::tools
