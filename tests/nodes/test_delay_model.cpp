#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "pgc/core/error.hpp"
#include "pgc/nodes/delay_model.hpp"

using pgc::nodes::delay_model;
using pgc::nodes::unit_uniform;
using namespace std::chrono_literals;

namespace {

double ms(std::chrono::nanoseconds d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

struct moments {
  double mean = 0;
  double sd = 0;
  std::vector<double> samples;
};

// `n` delays of a chunk computed in `compute` from a fixed seed.
moments draw(const delay_model& m, std::chrono::nanoseconds compute, int n = 200000) {
  std::mt19937_64 rng(12345);
  moments out;
  out.samples.reserve(static_cast<std::size_t>(n));
  double sum = 0;
  double sum2 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = ms(m.extra(unit_uniform(rng), compute));
    out.samples.push_back(x);
    sum += x;
    sum2 += x * x;
  }
  out.mean = sum / n;
  out.sd = std::sqrt(std::max(0.0, sum2 / n - out.mean * out.mean));
  return out;
}

// The sample mean lies within 5 standard errors of the model's mean: a false alarm is a
// 1-in-a-million event, and the seed is fixed anyway.
void check_mean(const delay_model& m, std::chrono::nanoseconds compute) {
  const auto s = draw(m, compute);
  const double expected = m.mean_ms(ms(compute));
  const double se = s.sd / std::sqrt(static_cast<double>(s.samples.size()));
  CAPTURE(m.to_string());
  CAPTURE(expected);
  CAPTURE(s.mean);
  CHECK(std::abs(s.mean - expected) <= 5 * se + 1e-9);
}

}  // namespace

TEST_CASE("delay models parse their text forms and print them back") {
  for (const char* text :
       {"none", "fixed:5", "fixed:0.25", "exp:10", "pareto:2:3", "bimodal:0.1:8", "bimodal:1:1"}) {
    CAPTURE(text);
    const auto m = delay_model::parse(text);
    CHECK(m.to_string() == text);
    CHECK(delay_model::parse(m.to_string()).to_string() == text);
  }
  CHECK(delay_model::parse("none").is_none());
  CHECK(delay_model{}.is_none());
  CHECK(delay_model::parse("exp:1e1").to_string() == "exp:10");
  CHECK(delay_model::parse("exp:3").type() == delay_model::kind::exponential);
  CHECK(delay_model::parse("pareto:1:2").type() == delay_model::kind::pareto);
}

TEST_CASE("bad delay model text is an input error that names the text and the forms") {
  struct bad_case {
    const char* text;
    const char* why;
  };
  const bad_case cases[] = {
      {"", "unknown kind"},
      {"gauss:1", "unknown kind 'gauss'"},
      {"exp", "takes 1 parameter"},
      {"exp:", "is not a finite number"},
      {"exp:1:2", "takes 1 parameter"},
      {"none:1", "takes 0 parameters"},
      {"fixed:abc", "'abc' is not a finite number"},
      {"fixed:5ms", "'5ms' is not a finite number"},
      {"fixed:-1", "non-negative"},
      {"exp:-0.5", "non-negative"},
      {"exp:inf", "not a finite number"},
      {"exp:nan", "not a finite number"},
      {"pareto:0:2", "scale must be a positive"},
      {"pareto:1:0", "shape must be positive"},
      {"pareto:1", "takes 2 parameters"},
      {"bimodal:1.5:2", "probability must lie in [0, 1]"},
      {"bimodal:-0.1:2", "probability must lie in [0, 1]"},
      {"bimodal:0.5:0.5", "factor must be at least 1"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    try {
      (void)delay_model::parse(c.text);
      FAIL("parsed");
    } catch (const pgc::core::input_error& e) {
      const std::string what = e.what();
      CAPTURE(what);
      CHECK(what.find(std::string("'") + c.text + "'") != std::string::npos);
      CHECK(what.find(c.why) != std::string::npos);
      CHECK(what.find("pareto:SCALE_MS:SHAPE") != std::string::npos);
    }
  }
  CHECK_THROWS_AS(delay_model::exponential(-1), pgc::core::input_error);
  CHECK_THROWS_AS(delay_model::fixed(std::nan("")), pgc::core::input_error);
  CHECK_THROWS_AS(delay_model::bimodal(0.5, 0.9), pgc::core::input_error);
  CHECK_THROWS_AS(delay_model::pareto(1, -1), pgc::core::input_error);
}

TEST_CASE("no delay and a fixed delay do not depend on the draw") {
  for (double u : {0.0, 0.3, 0.999999}) {
    CHECK(delay_model{}.extra(u, 7ms).count() == 0);
    CHECK(delay_model::fixed(2.5).extra(u, 7ms) == 2500us);
  }
}

TEST_CASE("sample means of random delay models match their means for a fixed seed") {
  check_mean(delay_model::exponential(10), 1ms);
  check_mean(delay_model::pareto(2, 3), 1ms);
  check_mean(delay_model::pareto(0.5, 2.5), 1ms);
  check_mean(delay_model::bimodal(0.25, 5), 4ms);
  check_mean(delay_model::bimodal(0.05, 20), 2ms);
  check_mean(delay_model::fixed(3), 1ms);
}

TEST_CASE("the random delay models have the shape of their distributions") {
  SUBCASE("exponential: median mean ln 2 and no negative delay") {
    auto s = draw(delay_model::exponential(10), 1ms);
    std::sort(s.samples.begin(), s.samples.end());
    CHECK(s.samples.front() >= 0.0);
    CHECK(s.samples[s.samples.size() / 2] == doctest::Approx(10 * std::log(2.0)).epsilon(0.02));
    CHECK(s.sd == doctest::Approx(10).epsilon(0.02));
  }
  SUBCASE("pareto: never below the scale and P(X > 2 scale) = 2^-shape") {
    const auto s = draw(delay_model::pareto(2, 3), 1ms);
    double above = 0;
    int below_scale = 0;
    for (double x : s.samples) {
      if (x < 2.0 - 1e-6) ++below_scale;
      if (x > 4.0) ++above;
    }
    CHECK(below_scale == 0);
    CHECK(above / static_cast<double>(s.samples.size()) == doctest::Approx(0.125).epsilon(0.03));
  }
  SUBCASE("bimodal: a fraction P of the chunks take F times their compute time") {
    const auto s = draw(delay_model::bimodal(0.25, 5), 4ms);
    double slow = 0;
    int other = 0;
    for (double x : s.samples) {
      const bool stretched = std::abs(x - 16.0) < 1e-6;  // (F - 1) x 4 ms on top of the 4 ms
      if (stretched) ++slow;
      if (!stretched && x != 0.0) ++other;
    }
    CHECK(other == 0);
    CHECK(slow / static_cast<double>(s.samples.size()) == doctest::Approx(0.25).epsilon(0.02));
  }
}

TEST_CASE("a heavy tail is capped at one hour and the mean of shape at most 1 is infinite") {
  const auto m = delay_model::pareto(1000, 0.01);
  CHECK(m.extra(0.999999, 1ms) == std::chrono::hours(1));
  CHECK(std::isinf(m.mean_ms(1)));
  CHECK(delay_model::exponential(5).extra(1.0, 1ms) <= std::chrono::hours(1));
}

TEST_CASE("the same seed gives the same draws and draws lie in the unit interval") {
  std::mt19937_64 a(99);
  std::mt19937_64 b(99);
  std::mt19937_64 c(100);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const double x = unit_uniform(a);
    CHECK(x >= 0.0);
    CHECK(x < 1.0);
    CHECK(x == unit_uniform(b));
    if (x != unit_uniform(c)) ++differ;
  }
  CHECK(differ == 1000);
}
