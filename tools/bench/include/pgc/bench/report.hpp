#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace pgc::bench {

// One number of the benchmark: a ratio against a baseline of the same run, or an absolute
// cost. A measurement that could not be taken has no value and says why.
struct measurement {
  std::string key;  // JSON key, e.g. "channel_vs_raw"
  std::optional<double> value;
  std::string unit;    // "ratio", "us", "ns", "s", "GB/s"
  std::string what;    // one line for the table
  std::string reason;  // why there is no value
};

// The results of one `pgc bench` run, in the order they were measured.
class report {
 public:
  // Every added measurement is also echoed as one line to `progress`, if given.
  explicit report(std::ostream* progress = nullptr) : progress_(progress) {}

  void add(measurement m);
  void add(std::string key, double value, std::string unit, std::string what);
  void add_missing(std::string key, std::string unit, std::string what, std::string reason);
  const std::vector<measurement>& items() const noexcept { return items_; }
  const measurement* find(const std::string& key) const;

  // {"KEY": number or null, ..., "units": {...}, "reasons": {KEY: why null}}.
  boost::json::object to_json() const;
  // A table, one line per measurement.
  void print(std::ostream& out) const;

 private:
  std::ostream* progress_;
  std::vector<measurement> items_;
};

}  // namespace pgc::bench
