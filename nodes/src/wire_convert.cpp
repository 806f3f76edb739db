#include "detail/wire_convert.hpp"

#include <limits>

#include <capnp/message.h>

#include "pgc/coding/proposed.hpp"

namespace pgc::nodes::detail {

namespace wire = net::wire;

namespace {

message_ptr new_message() {
  return std::make_unique<capnp::MallocMessageBuilder>();
}

wire::Envelope::Builder root(message_ptr& m) {
  return m->initRoot<wire::Envelope>();
}

}  // namespace

wire::Scheme to_wire(coding::scheme_kind kind) noexcept {
  using coding::scheme_kind;
  switch (kind) {
    case scheme_kind::proposed:
      return wire::Scheme::PROPOSED;
    case scheme_kind::original:
      return wire::Scheme::ORIGINAL;
    case scheme_kind::fractional_repetition:
      return wire::Scheme::FRACTIONAL_REPETITION;
    case scheme_kind::ignore_stragglers:
      return wire::Scheme::IGNORE_STRAGGLERS;
    case scheme_kind::uncoded:
      return wire::Scheme::UNCODED;
  }
  return wire::Scheme::PROPOSED;
}

coding::scheme_kind from_wire(wire::Scheme scheme) noexcept {
  using coding::scheme_kind;
  switch (scheme) {
    case wire::Scheme::PROPOSED:
      return scheme_kind::proposed;
    case wire::Scheme::ORIGINAL:
      return scheme_kind::original;
    case wire::Scheme::FRACTIONAL_REPETITION:
      return scheme_kind::fractional_repetition;
    case wire::Scheme::IGNORE_STRAGGLERS:
      return scheme_kind::ignore_stragglers;
    case wire::Scheme::UNCODED:
      return scheme_kind::uncoded;
  }
  // An enumerant from a newer peer: read_welcome's scheme construction rejects nothing here, so
  // fall back to the one every peer knows; the PS validates its own config.
  return scheme_kind::proposed;
}

wire::Mode to_wire(signal_mode mode) noexcept {
  return mode == signal_mode::approximate ? wire::Mode::APPROXIMATE : wire::Mode::EXACT;
}

signal_mode from_wire(wire::Mode mode) noexcept {
  return mode == wire::Mode::APPROXIMATE ? signal_mode::approximate : signal_mode::exact;
}

message_ptr make_hello(std::string_view name, const hello_auth* auth, int preferred_id) {
  auto m = new_message();
  auto h = root(m).initHello();
  h.setProtocolVersion(wire::PROTOCOL_VERSION);
  h.setPreferredId(preferred_id);
  h.setWorkerName(capnp::Text::Reader(name.data(), name.size()));
  if (auth) {
    h.setNonce(capnp::Data::Reader(auth->nonce.data(), auth->nonce.size()));
    h.setMac(capnp::Data::Reader(auth->mac.data(), auth->mac.size()));
  }
  return m;
}

message_ptr make_challenge(const net::nonce& nonce) {
  auto m = new_message();
  root(m).initChallenge().setNonce(capnp::Data::Reader(nonce.data(), nonce.size()));
  return m;
}

message_ptr make_welcome(const welcome_fields& f, int worker, const net::mac* mac) {
  const auto& code = *f.code;
  const auto& lists = code.tasks().lists();
  const int n = code.workers();
  auto m = new_message();
  auto w = root(m).initWelcome();
  w.setWorkerId(static_cast<std::uint32_t>(worker));
  w.setWorkers(static_cast<std::uint32_t>(n));
  w.setChunks(static_cast<std::uint32_t>(code.chunks()));
  w.setEll(static_cast<std::uint32_t>(code.ell()));
  w.setDimension(static_cast<std::uint64_t>(f.dimension));
  const auto& mine = lists[static_cast<std::size_t>(worker)];
  auto order = w.initChunkOrder(static_cast<unsigned>(mine.size()));
  for (unsigned p = 0; p < mine.size(); ++p)
    order.set(p, static_cast<std::uint32_t>(mine[p]));
  // Only the proposed scheme uses R; the others get the ell = 1 matrix of ones as a placeholder
  // of the right shape.
  const auto* proposed = dynamic_cast<const coding::proposed*>(&code);
  auto r = w.initR(static_cast<unsigned>(code.ell() * n));
  for (int k = 0; k < code.ell(); ++k) {
    for (int i = 0; i < n; ++i)
      r.set(static_cast<unsigned>(k * n + i), proposed ? proposed->r()(k, i) : 1.0);
  }
  w.setScheme(to_wire(f.spec.kind));
  w.setMode(to_wire(f.mode));
  w.setHeartbeatIntervalMs(f.heartbeat_ms);
  w.setDeadlineMs(f.deadline_ms);
  auto all = w.initAssignment(static_cast<unsigned>(lists.size()));
  for (unsigned i = 0; i < lists.size(); ++i) {
    auto l = all.init(i, static_cast<unsigned>(lists[i].size()));
    for (unsigned p = 0; p < lists[i].size(); ++p)
      l.set(p, static_cast<std::uint32_t>(lists[i][p]));
  }
  w.setLoad(static_cast<std::uint32_t>(f.spec.load));
  w.setSeed(f.spec.seed);
  if (mac) w.setMac(capnp::Data::Reader(mac->data(), mac->size()));
  return m;
}

message_ptr make_start_iteration(std::uint64_t iteration, const Eigen::VectorXd& model) {
  auto m = new_message();
  auto s = root(m).initStartIteration();
  s.setIteration(iteration);
  auto l = s.initModel(static_cast<unsigned>(model.size()));
  for (unsigned k = 0; k < l.size(); ++k)
    l.set(k, model(static_cast<Eigen::Index>(k)));
  return m;
}

message_ptr make_progress(std::uint64_t iteration, int chunks_done) {
  auto m = new_message();
  auto p = root(m).initProgress();
  p.setIteration(iteration);
  p.setChunksDone(static_cast<std::uint32_t>(chunks_done));
  return m;
}

message_ptr make_encode_and_transmit(std::uint64_t iteration, std::uint32_t epoch,
                                     const coding::state_vector& state) {
  auto m = new_message();
  auto e = root(m).initEncodeAndTransmit();
  e.setIteration(iteration);
  e.setEpoch(epoch);
  auto l = e.initState(static_cast<unsigned>(state.size()));
  for (unsigned k = 0; k < l.size(); ++k)
    l.set(k, static_cast<std::uint32_t>(state[k]));
  return m;
}

message_ptr make_encoded(std::uint64_t iteration, std::uint32_t epoch, const Eigen::VectorXd& y) {
  auto m = new_message();
  auto e = root(m).initEncoded();
  e.setIteration(iteration);
  e.setEpoch(epoch);
  auto l = e.initPayload(static_cast<unsigned>(y.size()));
  for (unsigned k = 0; k < l.size(); ++k)
    l.set(k, y(static_cast<Eigen::Index>(k)));
  return m;
}

message_ptr make_heartbeat() {
  auto m = new_message();
  root(m).initHeartbeat();
  return m;
}

message_ptr make_shutdown(std::string_view reason) {
  auto m = new_message();
  root(m).initShutdown().setReason(capnp::Text::Reader(reason.data(), reason.size()));
  return m;
}

message_ptr make_error(core::errc code, std::string_view text) {
  auto m = new_message();
  auto e = root(m).initError();
  e.setCode(static_cast<std::uint32_t>(code));
  e.setText(capnp::Text::Reader(text.data(), text.size()));
  return m;
}

welcome_info read_welcome(wire::Welcome::Reader w) {
  welcome_info info;
  info.worker = static_cast<int>(w.getWorkerId());
  info.dimension = static_cast<int>(w.getDimension());
  if (w.getDimension() > static_cast<std::uint64_t>(1) << 30) {
    throw core::input_error("welcome: dimension too large");
  }
  // The scheme takes ints; envelope_problem bounds N, m and ell by the frame, not load (found by
  // tests/fuzz: load = 2^31 became INT_MIN and overflowed in load - ell).
  constexpr auto int_max = static_cast<std::uint32_t>(std::numeric_limits<int>::max());
  if (w.getWorkers() > int_max || w.getChunks() > int_max || w.getEll() > int_max ||
      w.getLoad() > int_max) {
    throw core::input_error("welcome: a count does not fit in an int");
  }
  info.heartbeat_ms = w.getHeartbeatIntervalMs();
  auto& spec = info.spec;
  spec.kind = from_wire(w.getScheme());
  spec.workers = static_cast<int>(w.getWorkers());
  spec.load = static_cast<int>(w.getLoad());
  spec.ell = static_cast<int>(w.getEll());
  spec.seed = w.getSeed();
  if (spec.kind == coding::scheme_kind::proposed) {
    spec.chunks = static_cast<int>(w.getChunks());
    for (auto list : w.getAssignment()) {
      std::vector<int> l;
      l.reserve(list.size());
      for (auto c : list)
        l.push_back(static_cast<int>(c));
      spec.lists.push_back(std::move(l));
    }
    const auto r = w.getR();
    Eigen::MatrixXd mat(spec.ell, spec.workers);
    for (int k = 0; k < spec.ell; ++k) {
      for (int i = 0; i < spec.workers; ++i)
        mat(k, i) = r[static_cast<unsigned>(k * spec.workers + i)];
    }
    spec.r = std::move(mat);
  }
  return info;
}

std::vector<double> read_doubles(capnp::List<double>::Reader list) {
  std::vector<double> out;
  out.reserve(list.size());
  for (double x : list)
    out.push_back(x);
  return out;
}

coding::state_vector read_state(capnp::List<std::uint32_t>::Reader list) {
  coding::state_vector out;
  out.reserve(list.size());
  for (auto x : list)
    out.push_back(static_cast<int>(x));
  return out;
}

}  // namespace pgc::nodes::detail
