#include "pgc/net/envelope.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <capnp/any.h>
#include <kj/exception.h>

namespace pgc::net {
namespace {

using which = wire::Envelope::Which;

// Worker names and texts are for humans and logs; a peer has no reason to send megabytes.
constexpr std::size_t max_text_bytes = 4096;

std::string text_problem(const char* field, capnp::Text::Reader text) {
  if (text.size() > max_text_bytes) {
    return std::string(field) + " is longer than " + std::to_string(max_text_bytes) + " bytes";
  }
  return {};
}

std::string welcome_problem(wire::Welcome::Reader w) {
  const std::uint64_t n = w.getWorkers();
  const std::uint64_t m = w.getChunks();
  const std::uint64_t ell = w.getEll();
  if (n == 0 || m == 0 || ell == 0 || w.getDimension() == 0) {
    return "welcome: workers, chunks, ell and dimension must be positive";
  }
  if (ell > n) return "welcome: ell exceeds the number of workers";
  if (w.getWorkerId() >= n) return "welcome: worker id is not below the number of workers";
  const auto r = w.getR();
  // R is absent for schemes that do not need it, else ell x N.
  if (r.size() != 0 && r.size() != ell * n) {
    return "welcome: R has " + std::to_string(r.size()) +
           " entries; ell * N = " + std::to_string(ell * n);
  }
  for (const double x : r) {
    if (!std::isfinite(x)) return "welcome: R has a non-finite entry";
  }
  const auto chunk_list_problem = [&](capnp::List<std::uint32_t>::Reader list) -> std::string {
    // Sorting a copy finds duplicates without an m-sized table (m comes from the peer).
    std::vector<std::uint32_t> ids;
    ids.reserve(list.size());
    for (const std::uint32_t id : list)
      ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    if (!ids.empty() && ids.back() >= m) return "a chunk id is not below the number of chunks";
    if (std::adjacent_find(ids.begin(), ids.end()) != ids.end()) return "a chunk is listed twice";
    return {};
  };
  const auto lists = w.getAssignment();
  if (lists.size() != n) {
    return "welcome: the assignment has " + std::to_string(lists.size()) + " lists for " +
           std::to_string(n) + " workers";
  }
  std::uint64_t entries = 0;
  for (std::uint32_t i = 0; i < lists.size(); ++i) {
    if (auto why = chunk_list_problem(lists[i]); !why.empty()) {
      return "welcome: list of worker " + std::to_string(i) + ": " + why;
    }
    entries += lists[i].size();
  }
  // Every chunk is held by some worker, so m is at most the number of entries. Without this a
  // small frame with a huge m made the worker allocate m-sized tables before it found a chunk
  // that nobody holds (found by tests/fuzz).
  if (m > entries) {
    return "welcome: " + std::to_string(m) + " chunks but the assignment lists only " +
           std::to_string(entries) + " entries";
  }
  return {};
}

std::string problem(wire::Envelope::Reader e) {
  switch (e.which()) {
    case which::HELLO: {
      const auto h = e.getHello();
      // Authentication fields are absent, or a 32-byte nonce and a 32-byte HMAC-SHA256.
      if ((h.getNonce().size() != 0 && h.getNonce().size() != 32) ||
          (h.getMac().size() != 0 && h.getMac().size() != 32)) {
        return "hello: nonce and mac must be empty or 32 bytes";
      }
      if (auto why = text_problem("hello: worker name", h.getWorkerName()); !why.empty()) return why;
      // A workload fingerprint is a handful of flags: a long list is not one.
      if (h.getWorkload().size() > 64) return "hello: more than 64 workload fields";
      for (const auto field : h.getWorkload()) {
        if (auto why = text_problem("hello: workload field name", field.getName()); !why.empty())
          return why;
        if (auto why = text_problem("hello: workload field value", field.getValue()); !why.empty())
          return why;
      }
      return {};
    }
    case which::CHALLENGE:
      if (e.getChallenge().getNonce().size() != 32) return "challenge: the nonce must be 32 bytes";
      return {};
    case which::WELCOME:
      if (e.getWelcome().getMac().size() != 0 && e.getWelcome().getMac().size() != 32) {
        return "welcome: the mac must be empty or 32 bytes";
      }
      if (auto why = text_problem("welcome: scheme name", e.getWelcome().getSchemeName());
          !why.empty()) {
        return why;
      }
      if (e.getWelcome().hasSharedMemory()) {
        const auto offer = e.getWelcome().getSharedMemory();
        if (offer.getToken().size() != 16) return "welcome: the shared-memory token must be 16 bytes";
        if (auto why = text_problem("welcome: shared-memory socket", offer.getSocket()); !why.empty())
          return why;
        // The worker connects to it: a plain name, no NUL or path tricks (found by tests/fuzz: a
        // name of NUL bytes read as an empty one).
        const auto name = offer.getSocket();
        const bool plain = std::all_of(name.begin(), name.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
        });
        if (name.size() == 0 || name.size() > 100 || !plain) {
          return "welcome: the shared-memory socket name must be 1 to 100 letters, digits, '-', "
                 "'_' or '.'";
        }
      }
      return welcome_problem(e.getWelcome());
    case which::START_ITERATION:
      e.getStartIteration().getModel();
      return {};
    case which::PROGRESS:
      e.getProgress();
      return {};
    case which::ENCODE_AND_TRANSMIT:
      if (e.getEncodeAndTransmit().getState().size() == 0) {
        return "encode and transmit: empty state vector";
      }
      return {};
    case which::ENCODED:
      e.getEncoded().getPayload();
      e.getEncoded().getPayload32();
      return {};
    case which::HEARTBEAT:
      e.getHeartbeat();
      return {};
    case which::SHUTDOWN:
      return text_problem("shutdown: reason", e.getShutdown().getReason());
    case which::ERROR:
      return text_problem("error: text", e.getError().getText());
    case which::SHARED:
      if (e.getShared().getWords() == 0) return "shared frame: an empty message";
      return {};
  }
  // A newer peer's kind, or garbage in the tag.
  return "unknown message kind " + std::to_string(static_cast<unsigned>(e.which()));
}

}  // namespace

std::string envelope_problem(wire::Envelope::Reader envelope) {
  try {
    return problem(envelope);
  } catch (const kj::Exception& e) {
    // Pointers out of bounds, wrong element sizes, limits exceeded, text without its NUL.
    return "malformed message: " + std::string(e.getDescription().cStr());
  }
}

std::string frame_problem(const frame& f) {
  try {
    return envelope_problem(f.envelope());
  } catch (const kj::Exception& e) {
    return "malformed message: " + std::string(e.getDescription().cStr());
  }
}

std::string_view kind_name(wire::Envelope::Which kind) noexcept {
  switch (kind) {
    case which::HELLO:
      return "hello";
    case which::WELCOME:
      return "welcome";
    case which::START_ITERATION:
      return "start_iteration";
    case which::PROGRESS:
      return "progress";
    case which::ENCODE_AND_TRANSMIT:
      return "encode_and_transmit";
    case which::ENCODED:
      return "encoded";
    case which::HEARTBEAT:
      return "heartbeat";
    case which::SHUTDOWN:
      return "shutdown";
    case which::ERROR:
      return "error";
    case which::CHALLENGE:
      return "challenge";
    case which::SHARED:
      return "shared";
  }
  return "unknown";
}

}  // namespace pgc::net
