// Writes the seed corpus of the fuzz targets (tests/fuzz/corpus, checked in; `tools/fuzz
// --write-corpus` reruns this): every message kind as the nodes build it, a Welcome per scheme,
// a message spread over several segments, and event scripts of whole iterations for the
// ps_machine target. Usage: pgc_fuzz_corpus <corpus-dir>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "detail/wire_convert.hpp"
#include "pgc/net/auth.hpp"
#include "pgc/nodes/scheme_spec.hpp"
#include "ps_script.hpp"

namespace {

using namespace pgc;
namespace fs = std::filesystem;

void write(const fs::path& file, std::span<const std::uint8_t> bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

void write_message(const fs::path& file, capnp::MessageBuilder& m) {
  const auto words = capnp::messageToFlatArray(m);
  const auto bytes = words.asBytes();
  write(file, std::span(bytes.begin(), bytes.size()));
}

void frame_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  write_message(dir / "hello", *nodes::detail::make_hello("host-3"));
  write_message(dir / "hello_workload",
                *nodes::detail::make_hello("host-3", nullptr, 2,
                                           {{{"--workload", "synthetic"}, {"--data-seed", "1"}}}));
  // The handshake with a shared secret: Challenge, then an authenticated Hello.
  net::nonce ps_nonce{};
  ps_nonce.fill(7);
  write_message(dir / "challenge", *nodes::detail::make_challenge(ps_nonce));
  nodes::detail::hello_auth auth;
  auth.nonce.fill(9);
  auth.mac = net::hello_mac("a fuzzing secret of some length", ps_nonce, auth.nonce, "host-3");
  write_message(dir / "hello_authenticated", *nodes::detail::make_hello("host-3", &auth));
  const Eigen::VectorXd model = Eigen::VectorXd::LinSpaced(6, -1.0, 1.5);
  write_message(dir / "start_iteration", *nodes::detail::make_start_iteration(7, model));
  write_message(dir / "progress", *nodes::detail::make_progress(7, 2));
  write_message(dir / "encode_and_transmit",
                *nodes::detail::make_encode_and_transmit(7, 1, {2, 0, 1, 2}));
  write_message(dir / "encoded", *nodes::detail::make_encoded(7, 1, model.head(3)));
  write_message(dir / "heartbeat", *nodes::detail::make_heartbeat());
  write_message(dir / "shutdown", *nodes::detail::make_shutdown("training finished"));
  write_message(dir / "error",
                *nodes::detail::make_error(core::errc::stale_iteration, "iteration 3 is over"));
  // A worker sharing memory with the PS names a slot of its region instead of sending bytes.
  capnp::MallocMessageBuilder shared;
  auto reference = shared.initRoot<net::wire::Envelope>().initShared();
  reference.setSlot(1);
  reference.setWords(40);
  write_message(dir / "shared", shared);

  // A Welcome per scheme, as the PS builds them.
  const struct {
    const char* name;
    coding::scheme_kind kind;
    int workers, load, ell;
  } schemes[] = {{"welcome_proposed", coding::scheme_kind::proposed, 4, 2, 2},
                 {"welcome_original", coding::scheme_kind::original, 4, 3, 2},
                 {"welcome_frc", coding::scheme_kind::fractional_repetition, 4, 2, 1},
                 {"welcome_ignore", coding::scheme_kind::ignore_stragglers, 3, 2, 1},
                 {"welcome_uncoded", coding::scheme_kind::uncoded, 3, 1, 1}};
  for (const auto& s : schemes) {
    nodes::scheme_spec spec;
    spec.kind = s.kind;
    spec.workers = s.workers;
    spec.load = s.load;
    spec.ell = s.ell;
    spec.seed = 11;
    const auto code = nodes::make_scheme(spec);
    nodes::protocol_config p;
    p.scheme = spec;
    p.mode = nodes::signal_mode::approximate;
    p.dimension = 5;
    p.heartbeat = std::chrono::milliseconds(250);
    p.deadline = std::chrono::milliseconds(1000);
    write_message(dir / s.name, *nodes::detail::make_welcome(p, *code, 1));
    if (s.kind == coding::scheme_kind::proposed) {
      const auto mac = net::welcome_mac("a fuzzing secret of some length", auth.nonce, ps_nonce, 1);
      write_message(dir / (std::string(s.name) + "_authenticated"),
                    *nodes::detail::make_welcome(p, *code, 1, &mac));
      // The offer of the same-host data plane, as a PS with shared memory sends it.
      nodes::detail::shm_offer offer;
      offer.socket = "pgc-ps-00112233445566778899aabbccddeeff";
      offer.token.fill(5);
      write_message(dir / (std::string(s.name) + "_shared_memory"),
                    *nodes::detail::make_welcome(p, *code, 1, nullptr, &offer));
    }
  }

  // Several segments: tiny fixed-size segments force the builder to spill.
  capnp::MallocMessageBuilder spread(1, capnp::AllocationStrategy::FIXED_SIZE);
  auto e = spread.initRoot<net::wire::Envelope>().initEncoded();
  e.setIteration(3);
  auto payload = e.initPayload(5);
  for (unsigned k = 0; k < 5; ++k)
    payload.set(k, 0.5 * k);
  write_message(dir / "encoded_segments", spread);
}

// Whole iterations: every worker joins, reports its whole list and sends its coded vector;
// the next model follows each decode.
std::vector<std::uint8_t> happy_path(fuzz::script_header h, int workers, int load, int iterations) {
  using fuzz::epoch_sel;
  using fuzz::iteration_sel;
  fuzz::script_writer s(h);
  for (int w = 0; w < workers; ++w)
    s.joined(w);
  s.model_ready(iteration_sel::completed);
  for (int k = 0; k < iterations; ++k) {
    for (int done = 1; done <= load; ++done) {
      for (int w = 0; w < workers; ++w)
        s.progress(w, iteration_sel::current, done);
    }
    for (int w = 0; w < workers; ++w)
      s.encoded(w, iteration_sel::current, epoch_sel::current, 0, static_cast<std::uint8_t>(w));
    s.model_ready(iteration_sel::completed);
  }
  return s.bytes();
}

void ps_machine_seeds(const fs::path& dir) {
  using fuzz::epoch_sel;
  using fuzz::iteration_sel;
  fs::create_directories(dir);
  // Header bytes: kind, workers - 1, load - 1, ell - 1, flags, dimension - 1, min workers,
  // first workers, iterations, first iteration, seed (see config_from).
  const auto header = [](int kind, int workers, int load, int ell, int flags) {
    return fuzz::script_header{static_cast<std::uint8_t>(kind),
                               static_cast<std::uint8_t>(workers - 1),
                               static_cast<std::uint8_t>(load - 1),
                               static_cast<std::uint8_t>(ell - 1),
                               static_cast<std::uint8_t>(flags),
                               5,
                               0,
                               0,
                               3,
                               0,
                               7};
  };
  write(dir / "proposed_exact", happy_path(header(0, 4, 2, 2, 8), 4, 2, 3));
  write(dir / "original", happy_path(header(1, 4, 3, 2, 8), 4, 3, 2));
  write(dir / "frc", happy_path(header(2, 4, 2, 1, 8), 4, 2, 2));
  write(dir / "ignore", happy_path(header(3, 3, 2, 1, 8), 3, 2, 2));
  write(dir / "uncoded", happy_path(header(4, 3, 1, 1, 8), 3, 1, 2));

  // Approximate mode: the deadline fires with partial progress, then a sender is lost and the
  // machine re-signals or resumes; the lost worker rejoins.
  {
    fuzz::script_writer s(header(0, 4, 3, 1, 1));
    for (int w = 0; w < 4; ++w)
      s.joined(w);
    s.model_ready(iteration_sel::completed);
    for (int w = 0; w < 4; ++w)
      s.progress(w, iteration_sel::current, 1 + w % 2);
    s.deadline(iteration_sel::current);
    s.encoded(0, iteration_sel::current, epoch_sel::current, 0, 10);
    s.lost(1);
    s.joined(1);
    for (int w = 0; w < 4; ++w)
      s.encoded(w, iteration_sel::current, epoch_sel::current, 0, 20);
    s.model_ready(iteration_sel::completed);
    write(dir / "approximate_loss", s.bytes());
  }
  // Too few workers for an exact step, approximate fallback; a stale and a wrong-length reply.
  {
    fuzz::script_writer s(header(0, 4, 2, 1, 2 | 8));
    for (int w = 0; w < 4; ++w)
      s.joined(w);
    s.model_ready(iteration_sel::completed);
    s.lost(2);
    s.lost(3);
    for (int w = 0; w < 2; ++w)
      s.progress(w, iteration_sel::current, 2);
    s.encoded(0, iteration_sel::previous, epoch_sel::current, 0, 1);
    s.encoded(0, iteration_sel::current, epoch_sel::current, 1, 1);
    s.encoded(1, iteration_sel::current, epoch_sel::current, 0, 1);
    write(dir / "shortfall", s.bytes());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  frame_seeds(root / "frame");
  ps_machine_seeds(root / "ps_machine");
  return 0;
}
