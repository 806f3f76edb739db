#include "pgc/nodes/delay_model.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

#include "pgc/core/error.hpp"

namespace pgc::nodes {

namespace {

constexpr std::string_view forms =
    "none, fixed:MS, exp:MEAN_MS, pareto:SCALE_MS:SHAPE or bimodal:P:F";
constexpr double cap_ms = 3600.0 * 1000.0;

[[noreturn]] void fail(std::string_view text, const std::string& why) {
  throw core::input_error("delay model '" + std::string(text) + "': " + why +
                          " (forms: " + std::string(forms) + ")");
}

std::vector<std::string_view> split(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t begin = 0;
  while (true) {
    const auto colon = text.find(':', begin);
    parts.push_back(text.substr(begin, colon == std::string_view::npos ? colon : colon - begin));
    if (colon == std::string_view::npos) return parts;
    begin = colon + 1;
  }
}

// A finite number filling the whole field, or nothing.
bool to_number(std::string_view field, double& out) {
  if (field.empty()) return false;
  const auto r = std::from_chars(field.data(), field.data() + field.size(), out);
  return r.ec == std::errc{} && r.ptr == field.data() + field.size() && std::isfinite(out);
}

// Shortest text that reads back as the same double.
std::string format(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

// Why these parameters do not make a model of this kind, or an empty string.
std::string problem(delay_model::kind k, double a, double b) {
  using kind = delay_model::kind;
  switch (k) {
    case kind::none:
      return {};
    case kind::fixed:
      if (!(a >= 0)) return "the delay must be a non-negative number of milliseconds";
      return {};
    case kind::exponential:
      if (!(a >= 0)) return "the mean must be a non-negative number of milliseconds";
      return {};
    case kind::pareto:
      if (!(a > 0)) return "the scale must be a positive number of milliseconds";
      if (!(b > 0)) return "the shape must be positive";
      return {};
    case kind::bimodal:
      if (!(a >= 0 && a <= 1)) return "the probability must lie in [0, 1]";
      if (!(b >= 1)) return "the factor must be at least 1";
      return {};
  }
  return "unknown kind";
}

}  // namespace

delay_model delay_model::make(kind k, double a, double b) {
  const delay_model m(k, a, b);
  if (!std::isfinite(a) || !std::isfinite(b)) fail(m.to_string(), "parameters must be finite");
  if (auto why = problem(k, a, b); !why.empty()) fail(m.to_string(), why);
  return m;
}

delay_model delay_model::fixed(double ms) {
  return make(kind::fixed, ms, 0);
}
delay_model delay_model::exponential(double mean_ms) {
  return make(kind::exponential, mean_ms, 0);
}
delay_model delay_model::pareto(double scale_ms, double shape) {
  return make(kind::pareto, scale_ms, shape);
}
delay_model delay_model::bimodal(double probability, double factor) {
  return make(kind::bimodal, probability, factor);
}

delay_model delay_model::parse(std::string_view text) {
  const auto parts = split(text);
  const auto& name = parts.front();
  kind k = kind::none;
  std::size_t arity = 0;
  if (name == "none") {
    k = kind::none;
  } else if (name == "fixed") {
    k = kind::fixed;
    arity = 1;
  } else if (name == "exp") {
    k = kind::exponential;
    arity = 1;
  } else if (name == "pareto") {
    k = kind::pareto;
    arity = 2;
  } else if (name == "bimodal") {
    k = kind::bimodal;
    arity = 2;
  } else {
    fail(text, "unknown kind '" + std::string(name) + "'");
  }
  if (parts.size() != arity + 1) {
    fail(text, "'" + std::string(name) + "' takes " + std::to_string(arity) + " parameter" +
                   (arity == 1 ? "" : "s") + " after ':'");
  }
  double v[2] = {0, 0};
  for (std::size_t i = 0; i < arity; ++i) {
    if (!to_number(parts[i + 1], v[i])) {
      fail(text, "'" + std::string(parts[i + 1]) + "' is not a finite number");
    }
  }
  if (auto why = problem(k, v[0], v[1]); !why.empty()) fail(text, why);
  return delay_model(k, v[0], v[1]);
}

std::string delay_model::to_string() const {
  switch (kind_) {
    case kind::none:
      return "none";
    case kind::fixed:
      return "fixed:" + format(a_);
    case kind::exponential:
      return "exp:" + format(a_);
    case kind::pareto:
      return "pareto:" + format(a_) + ":" + format(b_);
    case kind::bimodal:
      return "bimodal:" + format(a_) + ":" + format(b_);
  }
  return "none";
}

std::chrono::nanoseconds delay_model::extra(double u, std::chrono::nanoseconds compute) const {
  u = std::clamp(u, 0.0, std::nextafter(1.0, 0.0));
  const double compute_ms = std::chrono::duration<double, std::milli>(compute).count();
  double ms = 0;
  switch (kind_) {
    case kind::none:
      break;
    case kind::fixed:
      ms = a_;
      break;
    case kind::exponential:
      ms = -a_ * std::log1p(-u);
      break;
    case kind::pareto:
      ms = a_ * std::pow(1.0 - u, -1.0 / b_);
      break;
    case kind::bimodal:
      ms = u < a_ ? (b_ - 1.0) * std::max(compute_ms, 0.0) : 0.0;
      break;
  }
  ms = std::isfinite(ms) ? std::clamp(ms, 0.0, cap_ms) : cap_ms;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ms * 1e6));
}

double delay_model::mean_ms(double compute_ms) const {
  switch (kind_) {
    case kind::none:
      return 0;
    case kind::fixed:
    case kind::exponential:
      return a_;
    case kind::pareto:
      return b_ > 1 ? a_ * b_ / (b_ - 1) : std::numeric_limits<double>::infinity();
    case kind::bimodal:
      return a_ * (b_ - 1.0) * compute_ms;
  }
  return 0;
}

double unit_uniform(std::mt19937_64& rng) noexcept {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

}  // namespace pgc::nodes
