#include <string>
#include <unistd.h>

#include <doctest/doctest.h>

#include "pgc/launch/prefix_writer.hpp"

namespace {

std::string drain(int fd) {
  std::string text;
  char buffer[256];
  for (;;) {
    const auto got = ::read(fd, buffer, sizeof buffer);
    if (got <= 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
  }
  return text;
}

}  // namespace

TEST_CASE("the prefix pads names to a fixed width and colors only when asked") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  {
    pgc::launch::prefix_writer plain(fds[1], 3, pgc::launch::prefix_writer::color_mode::never);
    plain.write("ps", "listening");
    plain.write("w10", "hello");
    pgc::launch::prefix_writer colored(fds[1], 0, pgc::launch::prefix_writer::color_mode::always);
    colored.write("ps", "x");
  }
  ::close(fds[1]);
  const auto text = drain(fds[0]);
  ::close(fds[0]);
  CHECK(text.starts_with("[ps]  listening\n[w10] hello\n\x1b["));
  CHECK(text.find("[ps] \x1b[0mx\n") != std::string::npos);
}
