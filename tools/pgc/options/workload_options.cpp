#include "options/workload_options.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include <CLI/CLI.hpp>

#include "options/option_helpers.hpp"
#include "pgc/core/error.hpp"
#include "pgc/core/fashion_mnist.hpp"
#include "pgc/core/least_squares.hpp"
#include "pgc/core/mlp.hpp"
#include "pgc/core/softmax_regression.hpp"

namespace pgc::tools {

using core::input_error;

namespace {

// "SIZE bytes, fnv1a HEX" of the file's bytes; empty when it cannot be read (make_workload then
// fails with the reason).
std::string file_digest(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a, 64 bits
  std::uint64_t size = 0;
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof(buffer));
    const auto got = static_cast<std::size_t>(in.gcount());
    for (std::size_t i = 0; i < got; ++i) {
      hash ^= static_cast<unsigned char>(buffer[i]);
      hash *= 0x100000001b3ULL;
    }
    size += got;
  }
  char text[64];
  std::snprintf(text, sizeof(text), "%llu bytes, fnv1a %016llx",
                static_cast<unsigned long long>(size), static_cast<unsigned long long>(hash));
  return text;
}

// The file core::fashion_mnist reads for `name`: the .gz Debian ships, or the unpacked one.
std::filesystem::path idx_file(const std::string& directory, const std::string& name) {
  std::error_code ec;
  const std::filesystem::path gz = std::filesystem::path(directory) / (name + ".gz");
  if (std::filesystem::is_regular_file(gz, ec)) return gz;
  return std::filesystem::path(directory) / name;
}

}  // namespace

void workload_options::add_to(CLI::App& app) {
  app.add_option("--workload", workload,
                 "Gradient source: synthetic (least squares) | fashion-mnist (Debian's data set)")
      ->check(CLI::IsMember({"synthetic", "fashion-mnist"}))
      ->capture_default_str();
  app.add_option("--model", model, "fashion-mnist: softmax | mlp")
      ->check(CLI::IsMember({"softmax", "mlp"}))
      ->capture_default_str();
  app.add_option("--hidden", hidden, "fashion-mnist mlp: hidden units")
      ->check(at_least(1))
      ->capture_default_str();
  app.add_option("--data-dir", data_dir, "fashion-mnist: directory of the IDX files")
      ->capture_default_str();
  app.add_option("--train-limit", train_limit, "fashion-mnist: first N training samples (0: all)")
      ->check(at_least(0));
  app.add_option("--test-limit", test_limit, "fashion-mnist: first N test samples (0: all)")
      ->check(at_least(0));
  app.add_option("--dim", dim, "Model dimension d (synthetic)")
      ->check(at_least(1))
      ->capture_default_str();
  app.add_option("--samples", samples, "Training samples (synthetic)")
      ->check(at_least(1))
      ->capture_default_str();
  app.add_option("--data-seed", data_seed, "Seed of the synthetic data")
      ->check(at_least(0))
      ->capture_default_str();
  app.add_option("--noise", noise, "Noise level of the synthetic targets")
      ->check(at_least(0))
      ->capture_default_str();
  app.add_option("--init", init,
                 "Initial model (synthetic): zeros | truth (the weights the targets were generated "
                 "from, where chunk gradients are independent noise)")
      ->check(CLI::IsMember({"zeros", "truth"}))
      ->capture_default_str();
}

std::vector<std::string> workload_options::arguments() const {
  if (workload == "fashion-mnist") {
    return {"--workload",    workload,
            "--model",       model,
            "--hidden",      std::to_string(hidden),
            "--data-dir",    data_dir,
            "--train-limit", std::to_string(train_limit),
            "--test-limit",  std::to_string(test_limit),
            "--data-seed",   std::to_string(data_seed)};
  }
  std::vector<std::string> a{"--workload",  workload,
                             "--dim",       std::to_string(dim),
                             "--samples",   std::to_string(samples),
                             "--data-seed", std::to_string(data_seed),
                             "--noise",     exact_text(noise)};
  if (init != "zeros") {
    a.push_back("--init");
    a.push_back(init);
  }
  return a;
}

core::workload_fingerprint workload_options::fingerprint() const {
  core::workload_fingerprint f;
  const auto add = [&f](std::string flag, std::string value) {
    f.fields.emplace_back(std::move(flag), std::move(value));
  };
  add("--workload", workload);
  if (workload == "fashion-mnist") {
    add("--model", model);
    if (model == "mlp") {
      add("--hidden", std::to_string(hidden));
      add("--data-seed", std::to_string(data_seed));  // the MLP's initial weights
    }
    add("--train-limit", std::to_string(train_limit));
    for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"}) {
      const auto path = idx_file(data_dir, name);
      add(std::string(name) + " (--data-dir)", file_digest(path));
    }
    return f;
  }
  add("--dim", std::to_string(dim));
  add("--samples", std::to_string(samples));
  add("--data-seed", std::to_string(data_seed));
  add("--noise", exact_text(noise));
  add("--init", init);
  return f;
}

workload make_workload(const workload_options& w, int chunks, bool with_test) {
  if (w.workload == "synthetic") {
    core::least_squares_config c;
    c.samples = w.samples;
    c.dimension = w.dim;
    c.chunks = chunks;
    c.seed = w.data_seed;
    c.noise = w.noise;
    c.start_at_truth = w.init == "truth";
    return {std::make_shared<core::least_squares>(c), nullptr, nullptr};
  }
  if (w.workload != "fashion-mnist") throw input_error("unknown --workload '" + w.workload + "'");
  if (w.train_limit < 0 || w.test_limit < 0)
    throw input_error("--train-limit and --test-limit must be >= 0");
  core::fashion_mnist_options fo;
  fo.directory = w.data_dir;
  if (w.train_limit > 0) fo.train_limit = w.train_limit;
  // Workers never score the model: they read a single test sample.
  fo.test_limit = with_test ? (w.test_limit > 0 ? std::optional<long>(w.test_limit) : std::nullopt)
                            : std::optional<long>(1);
  auto data = core::fashion_mnist::load(fo);
  auto train = std::make_shared<const core::dataset>(std::move(data.train));
  std::shared_ptr<const core::classifier> model;
  if (w.model == "mlp") {
    core::mlp_config mc;
    mc.chunks = chunks;
    mc.hidden = w.hidden;
    mc.seed = w.data_seed;
    model = std::make_shared<core::mlp>(train, mc);
  } else {
    core::softmax_regression_config sc;
    sc.chunks = chunks;
    model = std::make_shared<core::softmax_regression>(train, sc);
  }
  workload out{model, model, nullptr};
  if (with_test) out.test = std::make_shared<const core::dataset>(std::move(data.test));
  return out;
}

}  // namespace pgc::tools
