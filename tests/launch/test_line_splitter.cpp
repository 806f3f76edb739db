#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "pgc/core/error.hpp"
#include "pgc/launch/line_splitter.hpp"

namespace {

using pgc::launch::line_splitter;

struct collector {
  std::vector<std::string> lines;
  auto emit() {
    return [this](std::string_view line) { lines.emplace_back(line); };
  }
};

}  // namespace

TEST_CASE("lines split across reads come out whole") {
  line_splitter splitter;
  collector out;
  splitter.feed("hel", out.emit());
  CHECK(out.lines.empty());
  splitter.feed("lo\nwor", out.emit());
  splitter.feed("ld\r\n\nlast", out.emit());
  CHECK(out.lines == std::vector<std::string>{"hello", "world", ""});
  CHECK(splitter.has_partial_line());
  splitter.flush(out.emit());
  CHECK(out.lines.back() == "last");
  splitter.flush(out.emit());
  CHECK(out.lines.size() == 4);
}

TEST_CASE("a line longer than the limit is emitted in bounded pieces") {
  line_splitter splitter(8);
  collector out;
  splitter.feed(std::string(20, 'x') + "\nok\n", out.emit());
  REQUIRE(out.lines.size() == 4);
  CHECK(out.lines[0] == std::string(8, 'x'));
  CHECK(out.lines[1] == std::string(8, 'x'));
  CHECK(out.lines[2] == std::string(4, 'x'));
  CHECK(out.lines[3] == "ok");
}

TEST_CASE("a long line is not cut inside a UTF-8 character") {
  line_splitter splitter(8);
  collector out;
  // 6 ASCII bytes then a 3-byte character: the cut falls before the character.
  const std::string euro = "\xE2\x82\xAC";
  splitter.feed("abcdef" + euro + euro + "\n", out.emit());
  REQUIRE(out.lines.size() == 2);
  CHECK(out.lines[0] == "abcdef");
  CHECK(out.lines[1] == euro + euro);
}

TEST_CASE("a line limit below four bytes is rejected") {
  CHECK_THROWS_AS(line_splitter(3), pgc::core::input_error);
}
