#include "pgc/bench/report.hpp"

#include <algorithm>
#include <cstdio>
#include <iomanip>

#include <boost/json/value.hpp>

namespace pgc::bench {
namespace {

std::string format_value(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", v);
  return text;
}

}  // namespace

void report::add(measurement m) {
  if (progress_ != nullptr) {
    *progress_ << "pgc bench: " << m.key << " = "
               << (m.value ? format_value(*m.value) + " " + m.unit : "null (" + m.reason + ")")
               << '\n'
               << std::flush;
  }
  items_.push_back(std::move(m));
}

void report::add(std::string key, double value, std::string unit, std::string what) {
  add(measurement{std::move(key), value, std::move(unit), std::move(what), {}});
}

void report::add_missing(std::string key, std::string unit, std::string what, std::string reason) {
  add(measurement{std::move(key), std::nullopt, std::move(unit), std::move(what),
                  std::move(reason)});
}

const measurement* report::find(const std::string& key) const {
  const auto it =
      std::find_if(items_.begin(), items_.end(), [&](const auto& m) { return m.key == key; });
  return it == items_.end() ? nullptr : &*it;
}

boost::json::object report::to_json() const {
  boost::json::object out;
  boost::json::object units;
  boost::json::object reasons;
  for (const auto& m : items_) {
    if (m.value) {
      out[m.key] = *m.value;
    } else {
      out[m.key] = nullptr;
      reasons[m.key] = m.reason;
    }
    units[m.key] = m.unit;
  }
  out["units"] = std::move(units);
  out["reasons"] = std::move(reasons);
  return out;
}

void report::print(std::ostream& out) const {
  std::size_t width = 11;
  for (const auto& m : items_)
    width = std::max(width, m.key.size());
  out << std::left << std::setw(static_cast<int>(width)) << "measurement"
      << "  " << std::setw(9) << "value"
      << "  " << std::setw(5) << "unit"
      << "  what\n";
  for (const auto& m : items_) {
    out << std::setw(static_cast<int>(width)) << m.key << "  " << std::setw(9)
        << (m.value ? format_value(*m.value) : "null") << "  " << std::setw(5) << m.unit << "  "
        << m.what;
    if (!m.value) out << " -- " << m.reason;
    out << '\n';
  }
  out << std::right;
}

}  // namespace pgc::bench
