#pragma once

// Options shared by pgc ps, pgc worker and pgc launch: the protocol and the workload. launch
// forwards them to its processes, so every node builds the same scheme and the same data.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pgc/core/classifier.hpp"
#include "pgc/core/dataset.hpp"
#include "pgc/core/gradient_source.hpp"
#include "pgc/core/optimizer.hpp"
#include "pgc/core/workload_fingerprint.hpp"
#include "pgc/net/endpoint.hpp"
#include "pgc/nodes/ps_machine.hpp"
#include "pgc/nodes/scheme_spec.hpp"

namespace CLI {
class App;
}

namespace pgc::tools {

// What a worker needs to build its gradient source: the same on every node.
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
  // What must match between the PS and its workers (sent in Hello): fields named by their flags,
  // the training files by a digest of their bytes.
  core::workload_fingerprint fingerprint() const;
};

// The protocol, as the PS runs it (and launch forwards it to its PS).
struct protocol_options {
  int workers = 8;
  int load = 3;
  int ell = 1;
  std::string scheme = "proposed";
  std::string mode = "exact";
  double deadline = 0;  // seconds, approximate mode
  std::uint64_t iterations = 20;
  std::string kind = "cyclic";  // proposed: cyclic | regular
  std::string order = "optimal";
  std::uint64_t seed = 1;  // assignment, order and R
  double lr = 0.5;
  double momentum = 0.0;
  bool nesterov = false;
  std::string lr_schedule = "constant";  // see core::parse_learning_rate_schedule
  int heartbeat_ms = 200;
  std::string on_shortfall = "wait";  // wait | approx | stop
  std::string wire_precision = "f64";  // f64 | f32: how workers send their coded vectors
  bool no_shared_memory = false;        // workers on the PS's host send bytes over the socket too

  void add_to(CLI::App& app);
  std::vector<std::string> arguments() const;
  // Throws core::input_error for a combination the scheme cannot run.
  nodes::scheme_spec spec() const;
  nodes::wire_precision precision() const;
  // Throws core::input_error for a bad schedule or momentum.
  core::optimizer_config optimizer() const;
  // What a checkpoint must match to be resumed: everything that changes the numbers.
  std::string fingerprint(const workload_options& w) const;
};

// What a node builds from workload_options: the gradient source (every node), and for a
// classifier the test set the PS scores it on (with_test only; null for synthetic data).
struct workload {
  std::shared_ptr<const core::gradient_source> source;
  std::shared_ptr<const core::classifier> classifier;
  std::shared_ptr<const core::dataset> test;
};

// --dashboard: HOST:PORT, or a bare PORT meaning 127.0.0.1:PORT (loopback unless asked).
net::endpoint dashboard_endpoint(const std::string& text);

// A double as the shortest text that parses back to it exactly (for forwarded arguments).
std::string exact_text(double v);

// `chunks` is m. Throws core::input_error for bad options or a missing data set.
workload make_workload(const workload_options& w, int chunks, bool with_test);

}  // namespace pgc::tools
