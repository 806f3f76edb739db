#include "pgc/nodes/admission.hpp"

#include <string>
#include <variant>
#include <vector>

#include <doctest/doctest.h>

#include "pgc/core/error.hpp"
#include "pgc/net/auth.hpp"

using namespace pgc;
using namespace pgc::nodes;

namespace {

constexpr std::uint32_t version = 7;

admission::hello hello(std::string name, int preferred = -1) {
  admission::hello h;
  h.protocol_version = version;
  h.name = std::move(name);
  h.preferred_id = preferred;
  return h;
}

int accepted(const admission::verdict& v) {
  REQUIRE(std::holds_alternative<admission::accept>(v));
  return std::get<admission::accept>(v).worker;
}

admission::refuse refused(const admission::verdict& v) {
  REQUIRE(std::holds_alternative<admission::refuse>(v));
  return std::get<admission::refuse>(v);
}

core::workload_fingerprint synthetic(std::string seed) {
  return {{{"--workload", "synthetic"}, {"--dim", "64"}, {"--data-seed", std::move(seed)}}};
}

}  // namespace

TEST_CASE("new names take the first never-used slot, or the one they ask for when it is free") {
  admission a(3, version, "", {});
  CHECK(accepted(a.admit(hello("a"))) == 0);
  CHECK(accepted(a.admit(hello("b", 2))) == 2);
  CHECK(accepted(a.admit(hello("c", 2))) == 1);  // 2 is taken: the first free one
  CHECK(a.name(0) == "a");
  CHECK(a.name(1) == "c");
  CHECK(a.name(2) == "b");
  for (int w = 0; w < 3; ++w)
    CHECK(a.connected(w));
  // Out-of-range preferences are ignored, not trusted.
  admission b(2, version, "", {});
  CHECK(accepted(b.admit(hello("x", 99))) == 0);
  CHECK(accepted(b.admit(hello("y", -5))) == 1);
}

TEST_CASE("a name keeps its slot across reconnects and is refused while still connected") {
  admission a(2, version, "", {});
  CHECK(accepted(a.admit(hello("a"))) == 0);
  const auto dup = refused(a.admit(hello("a")));
  CHECK(dup.code == core::errc::duplicate_peer);
  CHECK(dup.retry);  // the old connection may still be on its way out
  CHECK(dup.text.find("'a' is already connected") != std::string::npos);
  a.left(0);
  CHECK_FALSE(a.connected(0));
  // Back under its name: its own slot even though slot 1 was never used.
  CHECK(accepted(a.admit(hello("a", 1))) == 0);
}

TEST_CASE("a lost worker's slot goes to a new name once no never-used slot is left") {
  admission a(3, version, "", {});
  for (const char* n : {"a", "b", "c"})
    (void)a.admit(hello(n));
  a.left(2);
  // A newcomer while c is gone: no never-used slot, so c's slot is taken over.
  const auto v = a.admit(hello("d"));
  REQUIRE(std::holds_alternative<admission::accept>(v));
  CHECK(std::get<admission::accept>(v).worker == 2);
  CHECK(std::get<admission::accept>(v).replaced == "c");
  CHECK(a.name(2) == "d");
  // c comes back: its slot is held by a connected worker now, and no slot is free.
  const auto back = refused(a.admit(hello("c")));
  CHECK(back.code == core::errc::no_free_slot);
  CHECK(back.retry);
  // Once some slot is free again, c gets that one.
  a.left(0);
  CHECK(accepted(a.admit(hello("c"))) == 0);
}

TEST_CASE("a newcomer prefers never-used slots to the slots of workers that left") {
  admission a(3, version, "", {});
  (void)a.admit(hello("a"));
  (void)a.admit(hello("b"));
  a.left(0);
  // Slot 2 was never used: the newcomer takes it, and a keeps slot 0 for its return.
  CHECK(accepted(a.admit(hello("c"))) == 2);
  CHECK(accepted(a.admit(hello("a"))) == 0);
  // With a preference among the slots of workers that left, that one.
  a.left(0);
  a.left(1);
  CHECK(accepted(a.admit(hello("d", 1))) == 1);
  CHECK(a.name(1) == "d");
  CHECK(a.name(0) == "a");
}

TEST_CASE("the protocol version and a name are checked first, and those refusals are final") {
  admission a(2, version, "", {});
  auto old = hello("a");
  old.protocol_version = version - 1;
  const auto v = refused(a.admit(old));
  CHECK(v.code == core::errc::protocol_violation);
  CHECK_FALSE(v.retry);
  CHECK(v.text.find("protocol version 6") != std::string::npos);
  const auto nameless = refused(a.admit(hello("")));
  CHECK(nameless.code == core::errc::invalid_input);
  CHECK_FALSE(nameless.retry);
  CHECK_FALSE(a.connected(0));  // refusals take no slot
}

TEST_CASE("with a secret only a hello with the right mac for this connection's challenge joins") {
  const std::string secret = "a shared secret for the test";
  admission a(2, version, secret, {});
  auto h = hello("a");
  h.challenge = net::random_nonce();
  const auto nonce = net::random_nonce();
  h.nonce.assign(nonce.begin(), nonce.end());
  // No mac at all.
  auto bare = refused(a.admit(h));
  CHECK(bare.code == core::errc::unauthenticated);
  CHECK_FALSE(bare.retry);
  CHECK(bare.text.find("did not authenticate") != std::string::npos);
  // A mac of another secret.
  const auto wrong = net::hello_mac("another secret", h.challenge, nonce, "a");
  h.mac.assign(wrong.begin(), wrong.end());
  auto bad = refused(a.admit(h));
  CHECK(bad.code == core::errc::unauthenticated);
  CHECK(bad.text.find("failed authentication") != std::string::npos);
  // The right mac, but for another connection's challenge (a replay).
  const auto replay = net::hello_mac(secret, net::random_nonce(), nonce, "a");
  h.mac.assign(replay.begin(), replay.end());
  CHECK(refused(a.admit(h)).code == core::errc::unauthenticated);
  // The right one.
  const auto right = net::hello_mac(secret, h.challenge, nonce, "a");
  h.mac.assign(right.begin(), right.end());
  CHECK(accepted(a.admit(h)) == 0);
  // A nonce of the wrong size is refused before any mac is computed.
  auto shortn = hello("b");
  shortn.nonce = {1, 2, 3};
  shortn.mac.assign(right.begin(), right.end());
  CHECK(refused(a.admit(shortn)).code == core::errc::unauthenticated);
}

TEST_CASE("a worker with another workload is refused naming the field, for good") {
  admission a(2, version, "", synthetic("1"));
  auto h = hello("a");
  h.workload = synthetic("2");
  const auto v = refused(a.admit(h));
  CHECK(v.code == core::errc::mismatched_peer);
  CHECK_FALSE(v.retry);
  CHECK(v.text.find("--data-seed") != std::string::npos);
  CHECK(v.text.find("'1' here, '2' at the peer") != std::string::npos);
  // A field only one side has is a difference too.
  auto extra = hello("a");
  extra.workload = synthetic("1");
  extra.workload.fields.emplace_back("--noise", "0.5");
  CHECK(refused(a.admit(extra)).text.find("--noise: (not set) here, '0.5' at the peer") !=
        std::string::npos);
  // The same workload joins; an embedder's worker that declares none is not compared.
  auto same = hello("a");
  same.workload = synthetic("1");
  CHECK(accepted(a.admit(same)) == 0);
  CHECK(accepted(a.admit(hello("b"))) == 1);
}

TEST_CASE("the checks run in order: version, name, secret, workload, then slots") {
  admission a(1, version, "s", synthetic("1"));
  auto h = hello("");
  h.protocol_version = 0;
  h.workload = synthetic("2");
  CHECK(refused(a.admit(h)).code == core::errc::protocol_violation);
  h.protocol_version = version;
  CHECK(refused(a.admit(h)).code == core::errc::invalid_input);
  h.name = "a";
  CHECK(refused(a.admit(h)).code == core::errc::unauthenticated);
  h.challenge = net::random_nonce();
  const auto nonce = net::random_nonce();
  h.nonce.assign(nonce.begin(), nonce.end());
  const auto mac = net::hello_mac("s", h.challenge, nonce, "a");
  h.mac.assign(mac.begin(), mac.end());
  CHECK(refused(a.admit(h)).code == core::errc::mismatched_peer);
  h.workload = synthetic("1");
  CHECK(accepted(a.admit(h)) == 0);
  auto other = h;
  other.name = "b";
  const auto mac_b = net::hello_mac("s", h.challenge, nonce, "b");
  other.mac.assign(mac_b.begin(), mac_b.end());
  CHECK(refused(a.admit(other)).code == core::errc::no_free_slot);
  CHECK(refused(a.admit(h)).code == core::errc::duplicate_peer);
}

TEST_CASE("every sequence of joins and departures keeps names unique and slots consistent") {
  // Exhaustive over short scripts: 3 slots, 4 names, each step a hello or a departure.
  const std::vector<std::string> names{"a", "b", "c", "d"};
  constexpr int steps = 5;
  constexpr int choices = 4 + 3;  // hello(name) or left(slot)
  int scripts = 1;
  for (int k = 0; k < steps; ++k)
    scripts *= choices;
  for (int script = 0; script < scripts; ++script) {
    admission a(3, version, "", {});
    int code = script;
    for (int k = 0; k < steps; ++k) {
      const int c = code % choices;
      code /= choices;
      if (c < 4) {
        const auto& n = names[static_cast<std::size_t>(c)];
        int held = -1;
        for (int w = 0; w < 3; ++w)
          if (a.name(w) == n) held = w;
        const bool held_connected = held >= 0 && a.connected(held);
        const bool free_slot = !a.connected(0) || !a.connected(1) || !a.connected(2);
        const auto v = a.admit(hello(n));
        if (held_connected) {
          CHECK(refused(v).code == core::errc::duplicate_peer);
        } else if (held >= 0) {
          REQUIRE(std::holds_alternative<admission::accept>(v));
          CHECK(std::get<admission::accept>(v).worker == held);  // its own slot back
        } else if (free_slot) {
          REQUIRE(std::holds_alternative<admission::accept>(v));
        } else {
          CHECK(refused(v).code == core::errc::no_free_slot);
        }
      } else {
        a.left(c - 4);
      }
      // Invariants: no name holds two slots; a connected slot has a name.
      for (int i = 0; i < 3; ++i) {
        if (a.connected(i)) CHECK_FALSE(a.name(i).empty());
        for (int j = i + 1; j < 3; ++j) {
          if (!a.name(i).empty()) CHECK(a.name(i) != a.name(j));
        }
      }
    }
  }
}
