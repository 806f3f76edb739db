// Exact mode reproduces full-batch gradient descent: the parameters a distributed run ends with
// (read from its final checkpoint) equal those of the same training in one process, also when
// the run was stopped and resumed from a checkpoint.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "pgc/core/checkpoint.hpp"
#include "pgc/core/fashion_mnist.hpp"
#include "pgc/core/least_squares.hpp"
#include "pgc/core/optimizer.hpp"
#include "pgc/core/softmax_regression.hpp"
#include "run_pgc.hpp"

using namespace pgc;
using pgc::test::run_pgc;

namespace {

// `iterations` full-batch steps in this process, as the PS takes them: the gradient summed over
// every chunk, the optimizer stepping on the mean loss.
Eigen::VectorXd train_in_one_process(const core::gradient_source& source,
                                     const core::optimizer_config& oc, int iterations) {
  core::optimizer opt(oc, source.dimension());
  Eigen::VectorXd w = source.initial_parameters();
  for (int i = 0; i < iterations; ++i)
    opt.step(w, core::full_gradient(source, w), 1.0 / static_cast<double>(source.samples()));
  return w;
}

double relative_difference(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  return (a - b).norm() / b.norm();
}

std::string temp_file(const std::string& name) {
  const std::string path = std::string(PGC_BINARY_DIR) + "/tests/" + name;
  std::remove(path.c_str());
  return path;
}

}  // namespace

TEST_CASE("distributed training with stragglers ends at the single process parameters") {
  // Synthetic least squares, momentum and a step schedule, a slow and a failing worker.
  const std::string ckpt = temp_file("params-synthetic.ckpt");
  const auto r = run_pgc(
      "launch --workload synthetic --dim 300 --samples 6000 --workers 6 --load 3 --ell 2 "
      "--iterations 15 --lr 0.4 --momentum 0.9 --lr-schedule step:5:0.5 --slow 1 --slowdown 3 "
      "--fail 1 --checkpoint " +
      ckpt);
  INFO(r.out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const core::checkpoint c = core::read_checkpoint(ckpt);
  CHECK(c.iteration == 15);

  core::least_squares_config lc;
  lc.samples = 6000;
  lc.dimension = 300;
  lc.chunks = 6;
  const core::least_squares source(lc);
  core::optimizer_config oc;
  oc.schedule = core::parse_learning_rate_schedule("step:5:0.5", 0.4);
  oc.momentum = 0.9;
  const Eigen::VectorXd reference = train_in_one_process(source, oc, 15);
  REQUIRE(c.model.size() == reference.size());
  CHECK(relative_difference(c.model, reference) < 1e-9);
  // The run moved far from where it started, so the comparison means something.
  CHECK(relative_difference(source.initial_parameters(), reference) > 1e-2);
}

TEST_CASE("a run stopped at a checkpoint and resumed ends where an uninterrupted run does") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: install the Debian package dataset-fashion-mnist (tools/setup does)");
    return;
  }
  const std::string ckpt = temp_file("params-fashion.ckpt");
  const std::string csv = temp_file("params-fashion.csv");
  const std::string common =
      "launch --workload fashion-mnist --train-limit 2000 --test-limit 500 --workers 4 --load 2 "
      "--lr 0.2 --momentum 0.9 --nesterov --slow 1 --slowdown 2 --checkpoint " +
      ckpt + " --checkpoint-every 4 --csv " + csv;
  // 10 iterations: checkpoints after 4, 8 and 10.
  auto r = run_pgc(common + " --iterations 10");
  INFO(r.out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(core::read_checkpoint(ckpt).iteration == 10);
  // Resume and go on to 18.
  r = run_pgc(common + " --iterations 18 --resume");
  INFO(r.out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("resuming from") != std::string::npos);
  CHECK(r.out.find("iteration 10:") != std::string::npos);
  CHECK(r.out.find("iteration 9:") == std::string::npos);
  const core::checkpoint c = core::read_checkpoint(ckpt);
  CHECK(c.iteration == 18);
  // The CSV log goes on where it stopped: a header and 18 lines.
  const std::string log = pgc::test::slurp(csv);
  CHECK(std::count(log.begin(), log.end(), '\n') == 19);

  core::fashion_mnist_options fo;
  fo.train_limit = 2000;
  fo.test_limit = 1;
  auto data = core::fashion_mnist::load(fo);
  core::softmax_regression_config sc;
  sc.chunks = 4;
  const core::softmax_regression source(
      std::make_shared<const core::dataset>(std::move(data.train)), sc);
  core::optimizer_config oc;
  oc.schedule.rate = 0.2;
  oc.momentum = 0.9;
  oc.nesterov = true;
  const Eigen::VectorXd reference = train_in_one_process(source, oc, 18);
  REQUIRE(c.model.size() == reference.size());
  CHECK(relative_difference(c.model, reference) < 1e-9);
}

TEST_CASE("resume refuses a checkpoint of another run and a missing one") {
  const std::string ckpt = temp_file("params-other.ckpt");
  auto r = run_pgc("ps --workload synthetic --dim 50 --resume --checkpoint " + ckpt);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(ckpt) != std::string::npos);
  r = run_pgc("ps --workload synthetic --dim 50 --resume");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--resume needs --checkpoint") != std::string::npos);

  r = run_pgc("launch --workload synthetic --dim 50 --workers 3 --load 2 --iterations 2 "
              "--checkpoint " + ckpt);
  REQUIRE(r.exit_code == 0);
  r = run_pgc("ps --workload synthetic --dim 60 --workers 3 --load 2 --iterations 4 --resume "
              "--checkpoint " + ckpt);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("belongs to another run") != std::string::npos);
  r = run_pgc("ps --workload synthetic --dim 50 --workers 3 --load 2 --iterations 4 "
              "--lr-schedule step:0:1 --checkpoint " + ckpt);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("learning-rate schedule") != std::string::npos);
}

TEST_CASE("a checkpoint that cannot be written stops the run with a message naming the file") {
  // Checkpoints are written on a thread of their own; a failure there still ends the PS with
  // exit code 2 and the reason, and launch stops the workers.
  const auto r = run_pgc("launch --workload synthetic --dim 20 --workers 3 --load 2 --iterations 6 "
                         "--checkpoint-every 1 --checkpoint /nonexistent/dir/params.ckpt");
  CHECK(r.exit_code != 0);
  const std::string all = r.out + r.err;
  CHECK(all.find("cannot write checkpoint '/nonexistent/dir/params.ckpt'") != std::string::npos);
  CHECK(all.find("ps ended (exit code 2)") != std::string::npos);
}
