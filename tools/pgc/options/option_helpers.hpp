#pragma once

// What every option group uses: enums parsed through their module's name table, numeric bounds
// checked while parsing (CLI11 answers with exit code 2 and the flag's name), doubles forwarded
// without rounding, and output paths checked before any work is done.

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>

#include "pgc/core/name_table.hpp"

namespace pgc::tools {

// A double as the shortest text that parses back to it exactly (forwarded arguments and
// checkpoint fingerprints must not round: std::to_string turned 1e-7 into 0.000000).
std::string exact_text(double v);

// Parses the option's text through `table` into `value` (the option holds the enum itself); an
// unknown spelling fails with the valid ones listed. The help text ends with the spellings and
// the default is shown by name.
template <class E>
CLI::Option* add_enum_option(CLI::App& app, std::string name, E& value, core::name_table<E> table,
                             std::string help) {
  static_assert(std::is_enum_v<E>);
  // A callback rather than add_option(name, value): CLI11 would print and parse the enum
  // through its integer (and trips over the modules' to_string(E) returning string_view).
  auto* option = app.add_option(
      std::move(name),
      [&value, table](const CLI::results_t& results) {
        const auto v = core::find_name(table, results.front());
        if (v) value = *v;
        return v.has_value();  // false not reached: the check below refused the text
      },
      help + ": " + core::names_list(table, " | "));
  option->check(CLI::Validator(
      [table](std::string& text) -> std::string {
        if (core::find_name(table, text)) return {};
        return "unknown value '" + text + "', expected one of: " + core::names_list(table);
      },
      "", "name table"));
  option->type_name("NAME");
  option->default_str(std::string(core::name_of(table, value)));
  return option;
}

// Validators on an option's text, before it is converted: "-1" for an unsigned flag is refused
// here instead of wrapping around to 2^64 - 1. Text that is not a number passes and fails in
// the conversion, which names the flag too.
CLI::Validator at_least(long double minimum);                       // value >= minimum
CLI::Validator in_range(long double minimum, long double maximum);  // minimum <= value <= max
CLI::Validator greater_than(long double bound);                     // value > bound

// Throws core::input_error "cannot write <what> '<path>': <reason>" unless a file can be
// created next to `path` (its directory exists and is writable) and `path` itself, if it
// exists, is a writable regular file. Empty paths pass. Creates and removes a temporary file.
void check_writable(const std::string& path, std::string_view what);

// `flag value` appended to `out` when `value` is not empty.
void append_if_set(std::vector<std::string>& out, std::string_view flag, const std::string& value);

}  // namespace pgc::tools
