#include "cluster_options.hpp"

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include <CLI/CLI.hpp>

#include "pgc/coding/assignment.hpp"
#include "pgc/coding/ordering.hpp"
#include "pgc/core/error.hpp"
#include "pgc/core/fashion_mnist.hpp"
#include "pgc/core/least_squares.hpp"
#include "pgc/core/mlp.hpp"
#include "pgc/core/softmax_regression.hpp"

namespace pgc::tools {

net::endpoint dashboard_endpoint(const std::string& text) {
  const bool bare_port =
      !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  return net::parse_endpoint(bare_port ? "127.0.0.1:" + text : text);
}

std::string exact_text(double v) {
  // The shortest text that reads back as the same double: forwarded options and checkpoint
  // fingerprints must not round (std::to_string keeps six decimals: 1e-7 became 0.000000).
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

using core::input_error;

void workload_options::add_to(CLI::App& app) {
  app.add_option("--workload", workload,
                 "Gradient source: synthetic (least squares) | fashion-mnist (Debian's data set)")
      ->check(CLI::IsMember({"synthetic", "fashion-mnist"}))
      ->capture_default_str();
  app.add_option("--model", model, "fashion-mnist: softmax | mlp")
      ->check(CLI::IsMember({"softmax", "mlp"}))
      ->capture_default_str();
  app.add_option("--hidden", hidden, "fashion-mnist mlp: hidden units")->capture_default_str();
  app.add_option("--data-dir", data_dir, "fashion-mnist: directory of the IDX files")
      ->capture_default_str();
  app.add_option("--train-limit", train_limit, "fashion-mnist: first N training samples (0: all)");
  app.add_option("--test-limit", test_limit, "fashion-mnist: first N test samples (0: all)");
  app.add_option("--dim", dim, "Model dimension d (synthetic)")->capture_default_str();
  app.add_option("--samples", samples, "Training samples (synthetic)")->capture_default_str();
  app.add_option("--data-seed", data_seed, "Seed of the synthetic data")->capture_default_str();
  app.add_option("--noise", noise, "Noise level of the synthetic targets")->capture_default_str();
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

namespace {

// A cheap digest of a data file: its size and an FNV-1a hash of its bytes. Read once at start.
std::string file_digest(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "missing";
  std::uint64_t h = 1469598103934665603ULL;
  std::uint64_t size = 0;
  char buf[1 << 16];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    const auto n = static_cast<std::size_t>(in.gcount());
    for (std::size_t k = 0; k < n; ++k) {
      h ^= static_cast<unsigned char>(buf[k]);
      h *= 1099511628211ULL;
    }
    size += n;
  }
  char text[48];
  std::snprintf(text, sizeof(text), "%llu:%016llx", static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(h));
  return text;
}

}  // namespace

core::workload_fingerprint workload_options::fingerprint() const {
  core::workload_fingerprint f;
  f.fields.emplace_back("--workload", workload);
  if (workload == "fashion-mnist") {
    f.fields.emplace_back("--model", model);
    if (model == "mlp") f.fields.emplace_back("--hidden", std::to_string(hidden));
    f.fields.emplace_back("--data-seed", std::to_string(data_seed));
    f.fields.emplace_back("--train-limit", std::to_string(train_limit));
    // The training files, whatever directory they were read from.
    for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"}) {
      const std::filesystem::path dir(data_dir);
      const auto gz = dir / (std::string(name) + ".gz");
      f.fields.emplace_back(name, file_digest(std::filesystem::exists(gz) ? gz : dir / name));
    }
    return f;
  }
  f.fields.emplace_back("--dim", std::to_string(dim));
  f.fields.emplace_back("--samples", std::to_string(samples));
  f.fields.emplace_back("--data-seed", std::to_string(data_seed));
  f.fields.emplace_back("--noise", exact_text(noise));
  f.fields.emplace_back("--init", init);
  return f;
}

void protocol_options::add_to(CLI::App& app) {
  app.add_option("--workers", workers, "Number of workers N")->capture_default_str();
  app.add_option("--load", load, "Chunks per worker (delta)")->capture_default_str();
  app.add_option("--ell", ell, "Communication factor ell")->capture_default_str();
  app.add_option("--scheme", scheme, "proposed | original | frc | ignore | uncoded")
      ->check(CLI::IsMember({"proposed", "original", "frc", "ignore", "uncoded"}))
      ->capture_default_str();
  app.add_option("--mode", mode, "exact | approx")
      ->check(CLI::IsMember({"exact", "approx"}))
      ->capture_default_str();
  app.add_option("--deadline", deadline,
                 "Approximate mode: seconds after the start of an iteration");
  app.add_option("--iterations", iterations, "Training iterations")->capture_default_str();
  app.add_option("--kind", kind, "Assignment of the proposed scheme: cyclic | regular")
      ->check(CLI::IsMember({"cyclic", "regular"}))
      ->capture_default_str();
  app.add_option("--order", order, "Chunk order: keep | random | optimal | heuristic")
      ->check(CLI::IsMember({"keep", "random", "optimal", "heuristic"}))
      ->capture_default_str();
  app.add_option("--seed", seed, "Seed of the assignment, the order and R")->capture_default_str();
  app.add_option("--lr", lr, "Learning rate (on the mean loss)")->capture_default_str();
  app.add_option("--momentum", momentum, "Momentum")->capture_default_str();
  app.add_flag("--nesterov", nesterov, "Nesterov momentum");
  app.add_option("--lr-schedule", lr_schedule,
                 "constant | step:PERIOD:GAMMA | cosine:PERIOD[:FINAL] | inverse:GAMMA")
      ->capture_default_str();
  app.add_option("--heartbeat-ms", heartbeat_ms, "Heartbeat interval")->capture_default_str();
  app.add_option("--on-shortfall", on_shortfall,
                 "When the workers left cannot make an exact step: wait (for workers to join), "
                 "approx (decode approximately), stop (exit with an error)")
      ->check(CLI::IsMember({"wait", "approx", "stop"}))
      ->capture_default_str();
  app.add_option("--wire-precision", wire_precision,
                 "How workers send their coded vectors: f64 (exact) | f32 (half the bytes, "
                 "~1e-7 relative error; the PS decodes in double)")
      ->check(CLI::IsMember({"f64", "f32"}))
      ->capture_default_str();
  app.add_flag("--no-shared-memory", no_shared_memory,
               "Workers on the PS's host send their coded vectors over the socket like the "
               "others, instead of building them in memory shared with the PS");
}

std::vector<std::string> protocol_options::arguments() const {
  std::vector<std::string> a{"--workers",      std::to_string(workers),
                             "--load",         std::to_string(load),
                             "--ell",          std::to_string(ell),
                             "--scheme",       scheme,
                             "--mode",         mode,
                             "--iterations",   std::to_string(iterations),
                             "--kind",         kind,
                             "--order",        order,
                             "--seed",         std::to_string(seed),
                             "--lr",           exact_text(lr),
                             "--momentum",     exact_text(momentum),
                             "--lr-schedule",  lr_schedule,
                             "--heartbeat-ms", std::to_string(heartbeat_ms),
                             "--on-shortfall", on_shortfall};
  if (nesterov) a.push_back("--nesterov");
  if (no_shared_memory) a.push_back("--no-shared-memory");
  if (wire_precision != "f64") {
    a.push_back("--wire-precision");
    a.push_back(wire_precision);
  }
  if (deadline > 0) {
    a.push_back("--deadline");
    a.push_back(exact_text(deadline));
  }
  return a;
}

nodes::scheme_spec protocol_options::spec() const {
  if (workers < 1) throw input_error("--workers must be at least 1");
  if (load < 1 || load > workers) {
    throw input_error("--load must be between 1 and --workers (" + std::to_string(workers) + ")");
  }
  if (ell < 1 || ell > load) throw input_error("--ell must be between 1 and --load");
  if (mode == "approx" && deadline <= 0)
    throw input_error("--mode approx needs --deadline SECONDS > 0");
  if (heartbeat_ms < 10) throw input_error("--heartbeat-ms must be at least 10");
  nodes::scheme_spec s;
  s.kind = coding::parse_scheme_kind(scheme);
  s.workers = workers;
  s.load = load;
  s.ell = ell;
  s.seed = seed;
  if (s.kind == coding::scheme_kind::proposed) {
    const coding::assignment base = kind == "regular" ? coding::random_regular(workers, load, seed)
                                                      : coding::cyclic(workers, load);
    s.lists = coding::apply_order(base, coding::parse_order_kind(order), ell, seed).tasks.lists();
    s.chunks = workers;
  }
  return s;
}

nodes::wire_precision protocol_options::precision() const {
  if (wire_precision == "f32") return nodes::wire_precision::f32;
  if (wire_precision != "f64") {
    throw input_error("--wire-precision must be f64 or f32, not '" + wire_precision + "'");
  }
  return nodes::wire_precision::f64;
}

core::optimizer_config protocol_options::optimizer() const {
  core::optimizer_config c;
  c.schedule = core::parse_learning_rate_schedule(lr_schedule, lr);
  if (!(momentum >= 0 && momentum < 1)) throw input_error("--momentum must lie in [0, 1)");
  c.momentum = momentum;
  c.nesterov = nesterov;
  return c;
}

std::string protocol_options::fingerprint(const workload_options& w) const {
  std::string out;
  for (const auto& a : w.arguments())
    out += a + ' ';
  // Not the iterations (a resumed run may go on longer), nor timing options.
  for (const auto& a : std::vector<std::string>{
           "--workers", std::to_string(workers), "--load", std::to_string(load), "--ell",
           std::to_string(ell), "--scheme", scheme, "--mode", mode, "--kind", kind, "--order",
           order, "--seed", std::to_string(seed), "--lr", exact_text(lr), "--momentum",
           exact_text(momentum), "--lr-schedule", lr_schedule}) {
    out += a + ' ';
  }
  if (nesterov) out += "--nesterov";
  return out;
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
