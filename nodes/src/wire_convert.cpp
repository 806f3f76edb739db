#include "detail/wire_convert.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <span>
#include <type_traits>

#include <capnp/any.h>
#include <capnp/message.h>


namespace pgc::nodes::detail {

namespace wire = net::wire;

namespace {

message_ptr new_message() {
  return std::make_unique<capnp::MallocMessageBuilder>();
}

wire::Envelope::Builder root(message_ptr& m) {
  return m->initRoot<wire::Envelope>();
}

// Cap'n Proto stores primitive lists little-endian and word-aligned: on a little-endian host the
// list body is a plain array, written and read in place.
static_assert(std::endian::native == std::endian::little, "in-place lists need little endian");

template <class T>
T* list_data(typename capnp::List<T>::Builder list) {
  const auto bytes = capnp::AnyList::Reader(list.asReader()).getRawBytes();
  return reinterpret_cast<T*>(const_cast<kj::byte*>(bytes.begin()));
}

// A list from the wire may legally be encoded with a wider element (a struct list, say): read
// in place only when its elements are plain T, else element by element. T is widened to U.
template <class T, class U = T>
void read_list(typename capnp::List<T>::Reader list, std::type_identity_t<std::span<U>> out) {
  if (out.empty()) return;  // an empty list has no bytes: reading its null pointer is UB
  const capnp::AnyList::Reader any(list);
  constexpr auto plain =
      sizeof(T) == 8 ? capnp::ElementSize::EIGHT_BYTES : capnp::ElementSize::FOUR_BYTES;
  const auto bytes = any.getRawBytes();
  if (any.getElementSize() == plain && bytes.size() >= out.size() * sizeof(T)) {
    const auto* in = reinterpret_cast<const T*>(bytes.begin());  // word-aligned in the frame
    std::copy(in, in + out.size(), out.begin());
    return;
  }
  for (unsigned k = 0; k < out.size(); ++k)
    out[k] = list[k];
}

}  // namespace

// The wire's Scheme enum lists the first kinds in scheme_kind's order; later kinds travel by
// name only (Welcome.schemeName).
static_assert(static_cast<int>(wire::Scheme::UNCODED) ==
              static_cast<int>(coding::scheme_kind::uncoded));

wire::Scheme to_wire(coding::scheme_kind kind) noexcept {
  const auto v = static_cast<int>(kind);
  return v <= static_cast<int>(wire::Scheme::UNCODED) ? static_cast<wire::Scheme>(v)
                                                       : wire::Scheme::PROPOSED;
}

wire::Mode to_wire(signal_mode mode) noexcept {
  return mode == signal_mode::approximate ? wire::Mode::APPROXIMATE : wire::Mode::EXACT;
}

signal_mode from_wire(wire::Mode mode) noexcept {
  return mode == wire::Mode::APPROXIMATE ? signal_mode::approximate : signal_mode::exact;
}

wire::Precision to_wire(wire_precision precision) noexcept {
  return precision == wire_precision::f32 ? wire::Precision::FLOAT32 : wire::Precision::FLOAT64;
}

wire_precision from_wire(wire::Precision precision) noexcept {
  // An enumerant from a newer peer: float64, which every PS accepts.
  return precision == wire::Precision::FLOAT32 ? wire_precision::f32 : wire_precision::f64;
}

void round_to_float(std::span<const double> in, std::span<float> out) noexcept {
  for (std::size_t k = 0; k < in.size(); ++k)
    out[k] = static_cast<float>(in[k]);
}

message_ptr make_hello(std::string_view name, const hello_auth* auth, int preferred_id,
                       const core::workload_fingerprint& workload) {
  auto m = new_message();
  auto h = root(m).initHello();
  h.setProtocolVersion(wire::PROTOCOL_VERSION);
  h.setPreferredId(preferred_id);
  h.setWorkerName(capnp::Text::Reader(name.data(), name.size()));
  if (auth) {
    h.setNonce(capnp::Data::Reader(auth->nonce.data(), auth->nonce.size()));
    h.setMac(capnp::Data::Reader(auth->mac.data(), auth->mac.size()));
  }
  if (!workload.empty()) {
    auto fields = h.initWorkload(static_cast<unsigned>(workload.fields.size()));
    for (unsigned k = 0; k < workload.fields.size(); ++k) {
      fields[k].setName(workload.fields[k].first);
      fields[k].setValue(workload.fields[k].second);
    }
  }
  return m;
}

admission::hello read_hello(wire::Hello::Reader h, const net::nonce& challenge) {
  admission::hello out;
  out.protocol_version = h.getProtocolVersion();
  out.name = h.getWorkerName();
  out.preferred_id = h.getPreferredId();
  for (const auto field : h.getWorkload())
    out.workload.fields.emplace_back(field.getName(), field.getValue());
  out.challenge = challenge;
  out.nonce.assign(h.getNonce().begin(), h.getNonce().end());
  out.mac.assign(h.getMac().begin(), h.getMac().end());
  return out;
}

message_ptr make_challenge(const net::nonce& nonce) {
  auto m = new_message();
  root(m).initChallenge().setNonce(capnp::Data::Reader(nonce.data(), nonce.size()));
  return m;
}

message_ptr make_welcome(const protocol_config& protocol, const coding::scheme& code, int worker,
                         const net::mac* mac, const shm_offer* shm) {
  const auto& lists = code.tasks().lists();
  const int n = code.workers();
  auto m = new_message();
  auto w = root(m).initWelcome();
  w.setWorkerId(static_cast<std::uint32_t>(worker));
  w.setWorkers(static_cast<std::uint32_t>(n));
  w.setChunks(static_cast<std::uint32_t>(code.chunks()));
  w.setEll(static_cast<std::uint32_t>(code.ell()));
  w.setDimension(static_cast<std::uint64_t>(protocol.dimension));
  // Only schemes that need more than (kind, N, load, ell, seed, lists) send R (the proposed one).
  if (const auto* r = code.wire_matrix()) {
    auto list = w.initR(static_cast<unsigned>(r->size()));
    for (int k = 0; k < r->rows(); ++k) {
      for (int i = 0; i < r->cols(); ++i)
        list.set(static_cast<unsigned>(k * r->cols() + i), (*r)(k, i));
    }
  }
  w.setScheme(to_wire(protocol.scheme.kind));
  w.setSchemeName(std::string(coding::to_string(protocol.scheme.kind)));
  w.setMode(to_wire(protocol.mode));
  w.setHeartbeatIntervalMs(static_cast<std::uint32_t>(protocol.heartbeat.count()));
  w.setHeartbeatMisses(static_cast<std::uint32_t>(protocol.heartbeat_misses));
  w.setDeadlineMs(static_cast<std::uint32_t>(protocol.deadline.count()));
  auto all = w.initAssignment(static_cast<unsigned>(lists.size()));
  for (unsigned i = 0; i < lists.size(); ++i) {
    auto l = all.init(i, static_cast<unsigned>(lists[i].size()));
    for (unsigned p = 0; p < lists[i].size(); ++p)
      l.set(p, static_cast<std::uint32_t>(lists[i][p]));
  }
  w.setLoad(static_cast<std::uint32_t>(protocol.scheme.load));
  w.setSeed(protocol.scheme.seed);
  if (mac) w.setMac(capnp::Data::Reader(mac->data(), mac->size()));
  w.setWirePrecision(to_wire(protocol.precision));
  if (shm) {
    auto offer = w.initSharedMemory();
    offer.setSocket(shm->socket);
    offer.setToken(capnp::Data::Reader(shm->token.data(), shm->token.size()));
  }
  return m;
}

message_ptr make_start_iteration(std::uint64_t iteration, const Eigen::VectorXd& model,
                                 net::segment_pool* pool) {
  const auto n = static_cast<std::size_t>(model.size());
  auto m = pool != nullptr ? pool->builder(net::list_message_words(n, sizeof(double)))
                           : new_message();
  auto s = root(m).initStartIteration();
  s.setIteration(iteration);
  std::copy_n(model.data(), n, list_data<double>(s.initModel(static_cast<unsigned>(n))));
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

message_ptr make_encoded(std::uint64_t iteration, std::uint32_t epoch, const Eigen::VectorXd& y,
                         wire_precision precision) {
  auto m = new_message();
  auto e = root(m).initEncoded();
  e.setIteration(iteration);
  e.setEpoch(epoch);
  const auto n = static_cast<std::size_t>(y.size());
  if (precision == wire_precision::f32) {
    round_to_float(std::span<const double>(y.data(), n),
                   std::span<float>(list_data<float>(e.initPayload32(static_cast<unsigned>(n))), n));
  } else {
    auto l = e.initPayload(static_cast<unsigned>(n));
    std::copy_n(y.data(), n, list_data<double>(l));
  }
  return m;
}

message_ptr build_encoded(net::segment_pool& pool, net::shm_region* shared, std::uint64_t iteration,
                          std::uint32_t epoch, wire_precision precision, int block,
                          const coded_filler& fill) {
  const auto n = static_cast<std::size_t>(block);
  const bool f32 = precision == wire_precision::f32;
  const auto words = net::list_message_words(n, f32 ? sizeof(float) : sizeof(double));
  auto m = shared != nullptr ? shared->builder(words) : nullptr;
  if (!m) m = pool.builder(words);
  auto e = root(m).initEncoded();
  e.setIteration(iteration);
  e.setEpoch(epoch);
  if (!f32) {
    fill(0, std::span<double>(list_data<double>(e.initPayload(static_cast<unsigned>(n))), n));
    return m;
  }
  float* out = list_data<float>(e.initPayload32(static_cast<unsigned>(n)));
  // Encoded in double a cache-sized tile at a time and rounded once: no d-sized scratch.
  constexpr std::size_t tile = 2048;
  double scratch[tile];
  for (std::size_t at = 0; at < n; at += tile) {
    const std::size_t len = std::min(tile, n - at);
    fill(static_cast<int>(at), std::span<double>(scratch, len));
    round_to_float(std::span<const double>(scratch, len), std::span<float>(out + at, len));
  }
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
  info.heartbeat = std::chrono::milliseconds(w.getHeartbeatIntervalMs());
  info.heartbeat_misses = static_cast<int>(std::min<std::uint32_t>(w.getHeartbeatMisses(), 1000));
  info.precision = from_wire(w.getWirePrecision());
  if (w.hasSharedMemory()) {
    // envelope_problem checked the token's size and the socket name's length and characters.
    const auto offer = w.getSharedMemory();
    shm_offer o;
    o.socket = offer.getSocket();
    std::copy(offer.getToken().begin(), offer.getToken().end(), o.token.begin());
    info.shared_memory = std::move(o);
  }
  auto& spec = info.spec;
  // By name when the PS sent one (an unknown name is an input error), else the enum of older PSs.
  if (w.hasSchemeName()) {
    spec.kind = coding::parse_scheme_kind(std::string_view(w.getSchemeName().cStr()));
  } else {
    spec.kind = static_cast<coding::scheme_kind>(static_cast<int>(w.getScheme()));
    if (static_cast<int>(w.getScheme()) > static_cast<int>(wire::Scheme::UNCODED)) {
      throw core::input_error("welcome: a scheme this worker does not know");
    }
  }
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
    if (r.size() == 0) throw core::input_error("welcome: the proposed scheme needs R");
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
  std::vector<double> out(list.size());
  read_list<double>(list, out);
  return out;
}

std::vector<double> read_payload(wire::Encoded::Reader encoded) {
  const auto narrow = encoded.getPayload32();
  if (narrow.size() == 0) return read_doubles(encoded.getPayload());
  std::vector<double> out(narrow.size());
  read_list<float, double>(narrow, out);
  return out;
}

ps_machine::coded_view payload_view(wire::Encoded::Reader encoded,
                                    std::shared_ptr<const void> owner) {
  if (owner) {
    const auto narrow = encoded.getPayload32();
    const bool f32 = narrow.size() > 0;
    const capnp::AnyList::Reader any =
        f32 ? capnp::AnyList::Reader(narrow) : capnp::AnyList::Reader(encoded.getPayload());
    const std::size_t n = any.size();
    const auto bytes = any.getRawBytes();
    const auto plain = f32 ? capnp::ElementSize::FOUR_BYTES : capnp::ElementSize::EIGHT_BYTES;
    if (n > 0 && any.getElementSize() == plain &&
        bytes.size() >= n * (f32 ? sizeof(float) : sizeof(double))) {
      // Lists start on a word boundary of the word-aligned frame body.
      coding::coded_column column;
      if (f32) {
        column.f32 = reinterpret_cast<const float*>(bytes.begin());
      } else {
        column.f64 = reinterpret_cast<const double*>(bytes.begin());
      }
      return {std::move(owner), column, n};
    }
  }
  auto kept = std::make_shared<const std::vector<double>>(read_payload(encoded));
  return {kept, coding::coded_column{kept->empty() ? nullptr : kept->data(), nullptr},
          kept->size()};
}

coding::state_vector read_state(capnp::List<std::uint32_t>::Reader list) {
  coding::state_vector out;
  out.reserve(list.size());
  for (auto x : list)
    out.push_back(static_cast<int>(x));
  return out;
}

}  // namespace pgc::nodes::detail
