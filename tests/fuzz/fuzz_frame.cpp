// libFuzzer target: any bytes a peer can put on a PS <-> worker connection, through what the
// receiving end does with them: the segment table (frame_header, with the PS's default limits
// and with tight ones), the Cap'n Proto reader, envelope validation, and then the dispatch of
// a valid envelope with every reader of nodes/src/wire_convert.cpp (the worker's Welcome
// handling included: read_welcome and make_scheme).
// Contract checked: bad input ends in std::system_error (frame_too_large or bad_message) or a
// nonempty frame_problem(); after an empty one, no reader throws, except core::input_error for
// a Welcome whose scheme cannot be built (the worker answers it with Error).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "detail/wire_convert.hpp"
#include "pgc/core/error.hpp"
#include "pgc/net/auth.hpp"
#include "pgc/net/envelope.hpp"
#include "pgc/net/frame.hpp"
#include "pgc/net/frame_header.hpp"
#include "pgc/nodes/scheme_spec.hpp"

namespace {

using namespace pgc;
namespace wire = net::wire;

[[noreturn]] void violated(const char* what, int line) {
  std::fprintf(stderr, "frame contract violated (fuzz_frame.cpp:%d): %s\n", line, what);
  std::abort();
}
#define PGC_FUZZ_CHECK(cond)                \
  do {                                      \
    if (!(cond)) violated(#cond, __LINE__); \
  } while (false)

// The shared secret and nonces of the handshake (net/include/pgc/net/auth.hpp).
constexpr std::string_view k_secret = "a fuzzing secret of some length";
constexpr net::nonce k_nonce{};

std::span<const std::uint8_t> as_span(capnp::Data::Reader data) {
  return {data.begin(), data.size()};
}

// What the worker does with a Welcome (worker_connect.cpp): build the scheme it describes.
void read_welcome_as_worker(wire::Welcome::Reader w) {
  try {
    const auto info = nodes::detail::read_welcome(w);
    PGC_FUZZ_CHECK(info.worker == static_cast<int>(w.getWorkerId()));
    if (info.shared_memory) {
      // The offer the worker would connect to: a bounded abstract socket name.
      PGC_FUZZ_CHECK(!info.shared_memory->socket.empty());
      PGC_FUZZ_CHECK(info.shared_memory->socket.size() <= 100);
    }
    const auto code = nodes::make_scheme(info.spec);
    PGC_FUZZ_CHECK(code != nullptr);
    PGC_FUZZ_CHECK(code->workers() == static_cast<int>(w.getWorkers()));
    PGC_FUZZ_CHECK(code->ell() == static_cast<int>(w.getEll()));
  } catch (const core::input_error&) {
    // A configuration the worker cannot serve: it answers with Error and stops.
  }
}

// Every reader the PS (nodes/src/ps_session.cpp) and the worker use on a validated envelope.
void dispatch(wire::Envelope::Reader e) {
  switch (e.which()) {
    case wire::Envelope::HELLO: {
      // The PS with a shared secret (ps_session.cpp admit): check the worker's HMAC.
      const auto h = e.getHello();
      const std::string name = h.getWorkerName();
      PGC_FUZZ_CHECK(name.size() <= 4096);
      static_cast<void>(h.getProtocolVersion());
      const auto nonce = as_span(h.getNonce());
      const auto mac = as_span(h.getMac());
      PGC_FUZZ_CHECK(nonce.empty() || nonce.size() == net::nonce_bytes);
      if (nonce.size() == net::nonce_bytes && !mac.empty()) {
        const auto expected = net::hello_mac(k_secret, k_nonce, nonce, name);
        static_cast<void>(net::same_mac(mac, expected));
      }
      break;
    }
    case wire::Envelope::CHALLENGE: {
      // The worker with a shared secret answers with its HMAC over the PS's nonce.
      const auto nonce = as_span(e.getChallenge().getNonce());
      PGC_FUZZ_CHECK(nonce.size() == net::nonce_bytes);
      static_cast<void>(net::hello_mac(k_secret, nonce, k_nonce, "worker"));
      break;
    }
    case wire::Envelope::WELCOME: {
      const auto w = e.getWelcome();
      const auto mac = as_span(w.getMac());
      PGC_FUZZ_CHECK(mac.empty() || mac.size() == 32);
      static_cast<void>(
          net::same_mac(mac, net::welcome_mac(k_secret, k_nonce, k_nonce, w.getWorkerId())));
      read_welcome_as_worker(w);
      break;
    }
    case wire::Envelope::START_ITERATION: {
      const auto s = e.getStartIteration();
      const auto model = s.getModel();
      const auto values = nodes::detail::read_doubles(model);
      PGC_FUZZ_CHECK(values.size() == model.size());
      static_cast<void>(s.getIteration());
      break;
    }
    case wire::Envelope::PROGRESS: {
      const auto p = e.getProgress();
      static_cast<void>(p.getIteration() + p.getChunksDone());
      break;
    }
    case wire::Envelope::ENCODE_AND_TRANSMIT: {
      const auto m = e.getEncodeAndTransmit();
      const auto state = nodes::detail::read_state(m.getState());
      PGC_FUZZ_CHECK(!state.empty() && state.size() == m.getState().size());
      static_cast<void>(m.getIteration() + m.getEpoch());
      break;
    }
    case wire::Envelope::ENCODED: {
      const auto m = e.getEncoded();
      const auto payload = nodes::detail::read_doubles(m.getPayload());
      PGC_FUZZ_CHECK(payload.size() == m.getPayload().size());
      static_cast<void>(m.getIteration() + m.getEpoch());
      break;
    }
    case wire::Envelope::HEARTBEAT:
      static_cast<void>(e.getHeartbeat());
      break;
    case wire::Envelope::SHUTDOWN: {
      const std::string reason = e.getShutdown().getReason();
      PGC_FUZZ_CHECK(reason.size() <= 4096);
      break;
    }
    case wire::Envelope::ERROR: {
      const auto err = e.getError();
      const std::string text = err.getText();
      PGC_FUZZ_CHECK(text.size() <= 4096);
      static_cast<void>(err.getCode());
      break;
    }
    case wire::Envelope::SHARED: {
      // The PS's channel resolves it into a frame over the slot (shm_region::read checks the
      // slot and the size against the region it holds); here: what it reads first.
      const auto r = e.getShared();
      PGC_FUZZ_CHECK(r.getWords() > 0);
      static_cast<void>(r.getSlot());
      break;
    }
    default:
      PGC_FUZZ_CHECK(false);  // envelope_problem refuses kinds it does not know
  }
  PGC_FUZZ_CHECK(!net::kind_name(e.which()).empty());
}

// The channel's path (channel_read.cpp): prefix, then the rest of the table, then the body.
// It must reach the same verdict as frame::parse on the same bytes.
std::error_code header_verdict(std::span<const std::byte> bytes, const net::frame_limits& limits) {
  net::frame_header header(limits);
  if (bytes.size() < net::frame_header::prefix_bytes) return core::errc::bad_message;
  if (auto ec = header.parse_prefix(bytes.first<net::frame_header::prefix_bytes>())) return ec;
  bytes = bytes.subspan(net::frame_header::prefix_bytes);
  const auto rest = header.rest_buffer();
  if (bytes.size() < rest.size()) return core::errc::bad_message;
  std::copy_n(bytes.begin(), rest.size(), rest.begin());
  if (auto ec = header.parse_rest()) return ec;
  PGC_FUZZ_CHECK(header.frame_bytes() <= limits.max_frame_bytes);
  PGC_FUZZ_CHECK(header.segment_count() <= limits.max_segments);
  if (bytes.size() - rest.size() != header.body_words() * 8) return core::errc::bad_message;
  return {};
}

void receive(std::span<const std::byte> bytes, const net::frame_limits& limits) {
  const auto expected = header_verdict(bytes, limits);
  std::optional<net::frame> f;
  try {
    f.emplace(net::frame::parse(bytes, limits));
  } catch (const std::system_error& ex) {
    PGC_FUZZ_CHECK(ex.code() == core::errc::frame_too_large ||
                   ex.code() == core::errc::bad_message);
    PGC_FUZZ_CHECK(ex.code() == expected);
    return;
  }
  PGC_FUZZ_CHECK(!expected);
  PGC_FUZZ_CHECK(f->size_bytes() == bytes.size());
  if (!net::frame_problem(*f).empty()) return;
  // Validated: from here on a kj::Exception (or anything else) escaping is a finding.
  dispatch(f->envelope());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span(data, size));
  receive(bytes, net::frame_limits{});  // what the PS and the workers use by default
  net::frame_limits tight;              // size limits that small inputs reach too
  tight.max_frame_bytes = 256;
  tight.max_segments = 3;
  receive(bytes, tight);
  return 0;
}
