#pragma once

// One spelling per enum value, in one table per enum (STYLE.md: "enums parse through one name
// table"). The modules own their tables (coding::scheme_kind_names(), ...); parsers, printers and
// the command line's transformers are all built from them.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "pgc/core/error.hpp"

namespace pgc::core {

template <class E>
using name_table = std::span<const std::pair<std::string_view, E>>;

// The name of `value`, or "unknown" when the table lacks it (a bug, never input).
template <class E>
std::string_view name_of(name_table<E> table, E value) noexcept {
  for (const auto& [name, v] : table)
    if (v == value) return name;
  return "unknown";
}

// "a, b, c" (or with another separator): the valid spellings, for messages and help texts.
template <class E>
std::string names_list(name_table<E> table, std::string_view separator = ", ") {
  std::string out;
  for (const auto& [name, v] : table) {
    if (!out.empty()) out += separator;
    out += name;
  }
  return out;
}

// The value spelled `text`, if any.
template <class E>
std::optional<E> find_name(name_table<E> table, std::string_view text) noexcept {
  for (const auto& [name, v] : table)
    if (name == text) return v;
  return std::nullopt;
}

// The value spelled `text`; throws input_error naming `what` and the valid spellings.
template <class E>
E parse_name(name_table<E> table, std::string_view text, std::string_view what) {
  if (const auto v = find_name(table, text)) return *v;
  throw input_error("unknown " + std::string(what) + " '" + std::string(text) +
                    "', expected one of: " + names_list(table));
}

}  // namespace pgc::core
