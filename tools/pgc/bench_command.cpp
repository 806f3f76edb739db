// pgc bench: the costs of coding and of the data plane, as ratios against baselines measured in
// the same run (tools/bench).
#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "commands.hpp"
#include "pgc/bench/bench.hpp"
#include "pgc/core/error.hpp"

namespace pgc::tools {
namespace {

using core::input_error;

// Sizes are given as 1e6 as often as 1000000.
long long whole_count(double v, const std::string& flag) {
  if (!std::isfinite(v) || v < 1 || v > 1e12 || std::floor(v) != v) {
    throw input_error(flag + " must be a positive whole number, got " + std::to_string(v));
  }
  return static_cast<long long>(v);
}

struct bench_options {
  bench::bench_config config;
  bool quick = false;
  std::string json;
  double encode_d = 0;
  double decode_d = 0;
  double memory_d = 0;
  std::vector<double> gather_dims;
  bool no_mpi = false;
  // Flags given explicitly override the --quick sizes: how to copy each into the config.
  std::vector<std::pair<CLI::Option*, std::function<void(bench::bench_config&)>>> overrides;
};

int run(bench_options& o) {
  bench::bench_config config = o.config;
  config.encode_d = whole_count(o.encode_d, "--encode-d");
  config.decode_d = whole_count(o.decode_d, "--decode-d");
  config.memory_d = whole_count(o.memory_d, "--memory-d");
  config.gather_dims.clear();
  for (const double d : o.gather_dims)
    config.gather_dims.push_back(whole_count(d, "--gather-d"));
  config.mpi = !o.no_mpi;
  if (o.quick) {
    bench::bench_config quick = bench::bench_config::quick(config);
    for (auto& [option, copy] : o.overrides) {
      if (option->count() > 0) copy(quick);
    }
    config = quick;
  }
  config.validate();
  // Check the output file before minutes of measuring.
  std::ofstream json;
  if (!o.json.empty()) {
    json.open(o.json);
    if (!json) throw input_error("cannot write --json file '" + o.json + "'");
  }

  bench::report results(&std::cerr);
  bench::run(config, results);
  results.print(std::cout);
  if (json.is_open()) {
    auto out = results.to_json();
    out["quick"] = o.quick;
    json << boost::json::serialize(out) << '\n';
    json.close();
    if (!json) throw std::runtime_error("could not write " + o.json);
  }
  return 0;
}

}  // namespace

command add_bench_command(CLI::App& app) {
  auto opts = std::make_shared<bench_options>();
  auto& c = opts->config;
  opts->encode_d = static_cast<double>(c.encode_d);
  opts->decode_d = static_cast<double>(c.decode_d);
  opts->memory_d = static_cast<double>(c.memory_d);
  for (const long long d : c.gather_dims)
    opts->gather_dims.push_back(static_cast<double>(d));
  auto* sub = app.add_subcommand(
      "bench", "Measure coding and data-plane costs as ratios against baselines of the same run");
  sub->add_option("--json", opts->json, "Also write every measurement to this JSON file");
  sub->add_flag("--quick", opts->quick, "Small sizes: a smoke run of seconds");
  const auto overridable = [&](CLI::Option* option, std::function<void(bench::bench_config&)> f) {
    opts->overrides.emplace_back(option, std::move(f));
    return option;
  };
  const auto* config = &opts->config;
  const auto* raw = opts.get();
  overridable(sub->add_option("--only", c.sections,
                              "Sections to run: memory,coding,channel,gather")
                  ->delimiter(','),
              [config](auto& q) { q.sections = config->sections; });
  overridable(sub->add_option("--repeats", c.repeats, "Timed repetitions, the best counts")
                  ->capture_default_str(),
              [config](auto& q) { q.repeats = config->repeats; });
  overridable(sub->add_option("--min-seconds", c.min_seconds,
                              "Shortest timed run of a fast operation (repeated until then)")
                  ->capture_default_str(),
              [config](auto& q) { q.min_seconds = config->min_seconds; });
  overridable(sub->add_option("--ells", c.ells, "Coefficient solve: values of ell")
                  ->delimiter(',')
                  ->capture_default_str(),
              [config](auto& q) { q.ells = config->ells; });
  overridable(sub->add_option("--holders", c.holders, "Coefficient solve: holders per chunk")
                  ->delimiter(',')
                  ->capture_default_str(),
              [config](auto& q) { q.holders = config->holders; });
  overridable(sub->add_option("--encode-d", opts->encode_d, "Worker encode: gradient length d")
                  ->capture_default_str(),
              [raw](auto& q) { q.encode_d = whole_count(raw->encode_d, "--encode-d"); });
  overridable(sub->add_option("--encode-load", c.encode_load, "Worker encode: chunks combined")
                  ->capture_default_str(),
              [config](auto& q) { q.encode_load = config->encode_load; });
  overridable(sub->add_option("--decode-d", opts->decode_d, "PS decode: gradient length d")
                  ->capture_default_str(),
              [raw](auto& q) { q.decode_d = whole_count(raw->decode_d, "--decode-d"); });
  overridable(sub->add_option("--decode-workers", c.decode_workers, "PS decode: coded vectors")
                  ->capture_default_str(),
              [config](auto& q) { q.decode_workers = config->decode_workers; });
  overridable(sub->add_option("--channel-frames", c.channel_frames,
                              "Channel vs raw socket: 8 MiB frames per timed run")
                  ->capture_default_str(),
              [config](auto& q) { q.channel_frames = config->channel_frames; });
  overridable(sub->add_option("--channel-repeats", c.channel_repeats,
                              "Channel vs raw socket: timed repetitions, the best counts")
                  ->capture_default_str(),
              [config](auto& q) { q.channel_repeats = config->channel_repeats; });
  overridable(sub->add_option("--gather-workers", c.gather_workers,
                              "Gather: numbers of workers N (the first is the headline)")
                  ->delimiter(',')
                  ->capture_default_str(),
              [config](auto& q) { q.gather_workers = config->gather_workers; });
  overridable(sub->add_option("--gather-d", opts->gather_dims,
                              "Gather: vector lengths d (the last is the headline)")
                  ->delimiter(',')
                  ->capture_default_str(),
              [raw](auto& q) {
                q.gather_dims.clear();
                for (const double d : raw->gather_dims)
                  q.gather_dims.push_back(whole_count(d, "--gather-d"));
              });
  overridable(sub->add_option("--gather-iterations", c.gather_iterations,
                              "Gather: timed iterations (after one warm-up)")
                  ->capture_default_str(),
              [config](auto& q) { q.gather_iterations = config->gather_iterations; });
  overridable(sub->add_option("--memory-d", opts->memory_d,
                              "PS peak memory: gradient length d")
                  ->capture_default_str(),
              [raw](auto& q) { q.memory_d = whole_count(raw->memory_d, "--memory-d"); });
  overridable(sub->add_option("--memory-ells", c.memory_ells, "PS peak memory: values of ell")
                  ->delimiter(',')
                  ->capture_default_str(),
              [config](auto& q) { q.memory_ells = config->memory_ells; });
  sub->add_flag("--no-mpi", opts->no_mpi, "Skip the MPI comparison");
  sub->add_option("--mpi-exe", c.mpi_exe, "The MPI comparison program (default: built with pgc)");
  sub->add_option("--mpirun", c.mpirun, "The MPI launcher (default: found at build time)");
  return [opts] { return run(*opts); };
}

}  // namespace pgc::tools
