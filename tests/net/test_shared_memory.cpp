// The same-host data plane: regions of shared memory, the channel's SharedFrames and the
// hand-over of a region's descriptor over an abstract Unix socket.
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <capnp/any.h>
#include <capnp/message.h>
#include <doctest/doctest.h>

#include "loopback.hpp"
#include "pgc/core/error.hpp"
#include "pgc/net/channel.hpp"
#include "pgc/net/frame.hpp"
#include "pgc/net/shared_memory.hpp"

namespace {

namespace asio = pgc::net::asio;
namespace wire = pgc::net::wire;
using pgc::core::errc;
using pgc::net::awaitable;
using pgc::net::channel;
using pgc::net::frame;
using pgc::net::frame_limits;
using pgc::net::shm_listener;
using pgc::net::shm_region;
using pgc::net::test::connect_loopback;
using pgc::net::test::run_bounded;
using channel_ptr = std::shared_ptr<channel>;
using region_ptr = std::shared_ptr<shm_region>;
using local = asio::local::stream_protocol;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The region's layout (net/src/shared_memory.cpp): a header page starting with the magic, the
// slot count and the slot size, then the slots.
constexpr std::size_t header_bytes = 4096;
constexpr std::uint64_t region_magic = 0x3130'6d68'7363'6770;  // "pgcshm01"
constexpr int resize_seals = F_SEAL_SHRINK | F_SEAL_GROW;

// Payload bits: random, with the values a float conversion would change or merge.
std::vector<std::uint64_t> payload_bits(std::size_t n, std::uint64_t seed) {
  std::vector<std::uint64_t> bits(n);
  std::mt19937_64 rng(seed);
  for (auto& b : bits)
    b = rng();
  bits[0] = 0x7ff8000000000001ULL;  // quiet NaN with a payload
  bits[1] = 0x8000000000000000ULL;  // negative zero
  bits[2] = 0x7ff0000000000001ULL;  // signalling NaN
  bits[3] = 0xfff8000000000000ULL;  // negative quiet NaN
  bits[4] = 0x0000000000000001ULL;  // smallest subnormal
  bits[n - 1] = 0x0000000000000000ULL;
  return bits;
}

void fill_encoded(capnp::MessageBuilder& m, const std::vector<std::uint64_t>& bits,
                  std::uint64_t iteration, std::uint32_t epoch) {
  auto e = m.initRoot<wire::Envelope>().initEncoded();
  e.setIteration(iteration);
  e.setEpoch(epoch);
  auto payload = e.initPayload(static_cast<unsigned>(bits.size()));
  for (unsigned i = 0; i < bits.size(); ++i)
    payload.set(i, std::bit_cast<double>(bits[i]));
}

// The payload compared bit for bit, in place as the PS decoder reads it.
// One get() of the list: a frame's traversal limit allows a few reads of its payload
// (frame_limits::traversal_factor), and the channel's check already made one.
bool same_payload(wire::Encoded::Reader e, const std::vector<std::uint64_t>& bits) {
  const auto raw = capnp::AnyList::Reader(e.getPayload()).getRawBytes();
  return raw.size() == bits.size() * sizeof(double) &&
         std::memcmp(raw.begin(), bits.data(), raw.size()) == 0;
}

std::unique_ptr<capnp::MallocMessageBuilder> progress(std::uint64_t iteration, std::uint32_t done) {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  auto p = message->initRoot<wire::Envelope>().initProgress();
  p.setIteration(iteration);
  p.setChunksDone(done);
  return message;
}

// A SharedFrame as a misbehaving worker could send it, whatever its region holds.
std::unique_ptr<capnp::MallocMessageBuilder> shared_reference(std::uint32_t slot,
                                                              std::uint32_t words) {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  auto s = message->initRoot<wire::Envelope>().initShared();
  s.setSlot(slot);
  s.setWords(words);
  return message;
}

// The other end of a region: what the PS maps from the descriptor the worker passed.
region_ptr open_peer(const shm_region& region) {
  const int copy = ::dup(region.fd());
  REQUIRE(copy >= 0);
  return shm_region::open(copy, region.size_bytes());
}

std::size_t open_fds() {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++n;
  }
  return n;
}

// A sealed memfd of `bytes` bytes that starts like a region's header, made by hand so that every
// part of it can be wrong.
int handmade_region(std::size_t bytes, std::uint64_t magic, std::uint32_t slots,
                    std::uint32_t slot_words, int seals = resize_seals | F_SEAL_SEAL) {
  const int fd = ::memfd_create("pgc-test-region", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, static_cast<off_t>(bytes)) == 0);
  if (bytes >= 16) {
    std::array<std::byte, 16> header{};
    std::memcpy(header.data(), &magic, 8);
    std::memcpy(header.data() + 8, &slots, 4);
    std::memcpy(header.data() + 12, &slot_words, 4);
    REQUIRE(::pwrite(fd, header.data(), header.size(), 0) == 16);
  }
  if (seals != 0) REQUIRE(::fcntl(fd, F_ADD_SEALS, seals) == 0);
  return fd;
}

// What a call threw, if it threw a std::system_error.
template <class F>
std::optional<std::system_error> failure_of(F&& f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e;
  }
  return std::nullopt;
}

// open() must refuse `fd` (which it owns) with a message containing `why`.
void check_refused(int fd, std::size_t max_bytes, const std::string& why) {
  const auto failure = failure_of([&] { (void)shm_region::open(fd, max_bytes); });
  REQUIRE_MESSAGE(failure.has_value(), "open() accepted a region that should fail with: " << why);
  CHECK_MESSAGE(std::string(failure->what()).find(why) != std::string::npos,
                "expected \"" << why << "\" in \"" << failure->what() << "\"");
}

// How a read() ended: nullopt when it returned a frame.
awaitable<std::optional<std::system_error>> read_failure(channel_ptr ch) {
  try {
    (void)co_await ch->read();
  } catch (const std::system_error& e) {
    co_return e;
  }
  co_return std::nullopt;
}

// How a hand-over ended: nullopt when the PS took the region.
awaitable<std::optional<std::system_error>> hand_over_failure(std::string name,
                                                              shm_listener::token token,
                                                              region_ptr region,
                                                              std::chrono::milliseconds timeout) {
  try {
    co_await pgc::net::hand_over_region(std::move(name), token, std::move(region), timeout);
  } catch (const std::system_error& e) {
    co_return e;
  }
  co_return std::nullopt;
}

bool mentions(const std::optional<std::system_error>& e, const std::string& text) {
  return e.has_value() && std::string(e->what()).find(text) != std::string::npos;
}

// Waits a millisecond at a time, for at most `bound`, until done() holds.
awaitable<bool> eventually(std::function<bool()> done, std::chrono::milliseconds bound = 2s) {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  const auto until = clock_type::now() + bound;
  while (!done()) {
    if (clock_type::now() >= until) co_return false;
    pause.expires_after(1ms);
    co_await pause.async_wait(asio::use_awaitable);
  }
  co_return true;
}

// The hand-overs a listener saw.
struct taken_regions {
  std::vector<shm_listener::token> tokens;
  std::vector<region_ptr> regions;
  std::vector<std::string> log;
  std::string answer;  // what the taker answers: empty takes the region

  shm_listener::taker taker() {
    return [this](const shm_listener::token& t, region_ptr r) {
      tokens.push_back(t);
      regions.push_back(std::move(r));
      return answer;
    };
  }
  shm_listener::logger logger() {
    return [this](const std::string& line) { log.push_back(line); };
  }
  bool logged(const std::string& text) const {
    for (const auto& line : log)
      if (line.find(text) != std::string::npos) return true;
    return false;
  }
};

std::string unused_socket_name() {
  const auto t = pgc::net::random_shm_token();
  std::string name = "pgc-test-nobody-";
  for (const auto b : t)
    name += std::to_string(b);
  return name;
}

}  // namespace

TEST_CASE("a region opened from its descriptor maps the same memory and reads bit for bit") {
  constexpr unsigned n = 100000;
  const auto bits = payload_bits(n, 11);
  const auto region = shm_region::create(3, n + 64);
  CHECK(region->slots() == 3);
  CHECK(region->slot_words() == n + 64);
  CHECK(region->size_bytes() == header_bytes + 3 * (n + 64) * sizeof(capnp::word));
  auto peer = open_peer(*region);
  CHECK(peer->fd() != region->fd());
  CHECK(peer->slots() == region->slots());
  CHECK(peer->slot_words() == region->slot_words());
  CHECK(peer->size_bytes() == region->size_bytes());
  CHECK(region->busy() == 0);
  CHECK(peer->busy() == 0);

  auto message = region->builder(n + 40);
  REQUIRE(message != nullptr);
  CHECK(region->busy() == 1);
  CHECK(peer->busy() == 1);  // the state words are shared too
  fill_encoded(*message, bits, 42, 3);
  const auto segments = message->getSegmentsForOutput();
  REQUIRE(segments.size() == 1);
  // Where the worker's mapping holds the first entry.
  auto* const worker_payload = const_cast<kj::byte*>(
      capnp::AnyList::Reader(
          message->getRoot<wire::Envelope>().asReader().getEncoded().getPayload())
          .getRawBytes()
          .begin());
  const auto ref = region->hand_over(*message);
  REQUIRE(ref.has_value());
  CHECK(ref->slot < 3);
  CHECK(ref->words == segments[0].size());
  CHECK(region->busy() == 1);
  message.reset();  // handed over: the builder no longer frees the slot
  CHECK(region->busy() == 1);
  {
    const frame f = peer->read(*ref, frame_limits{});
    CHECK(f.size_bytes() == 8 + std::size_t{ref->words} * sizeof(capnp::word));
    REQUIRE(f.envelope().isEncoded());
    const auto e = f.envelope().getEncoded();
    CHECK(e.getIteration() == 42);
    CHECK(e.getEpoch() == 3);
    CHECK(same_payload(e, bits));
    // Not a copy: a word the worker changes now is what the PS reads (the trust note of
    // shared_memory.hpp), through another mapping of the same pages.
    const auto raw = capnp::AnyList::Reader(e.getPayload()).getRawBytes();
    CHECK(static_cast<const void*>(raw.begin()) != static_cast<const void*>(worker_payload));
    const std::uint64_t changed = 0x7ff4000000000abcULL;
    std::memcpy(worker_payload, &changed, sizeof changed);
    std::uint64_t seen = 0;
    std::memcpy(&seen, raw.begin(), sizeof seen);
    CHECK(seen == changed);
    CHECK(peer->busy() == 1);
  }
  CHECK(region->busy() == 0);
  CHECK(peer->busy() == 0);

  // A frame keeps the region mapped after the PS drops its pointer, and still frees its slot.
  const auto more = payload_bits(n, 12);
  message = region->builder(n + 64);
  REQUIRE(message != nullptr);
  fill_encoded(*message, more, 43, 0);
  const auto ref2 = region->hand_over(*message);
  REQUIRE(ref2.has_value());
  message.reset();
  std::optional<frame> held(peer->read(*ref2, frame_limits{}));
  peer.reset();
  CHECK(held->envelope().getEncoded().getIteration() == 43);
  CHECK(same_payload(held->envelope().getEncoded(), more));
  CHECK(region->busy() == 1);
  held.reset();
  CHECK(region->busy() == 0);
}

TEST_CASE("a region hands out each slot once and zeroes what the last message dirtied") {
  CHECK_THROWS_AS((void)shm_region::create(0, 512), std::invalid_argument);
  CHECK_THROWS_AS((void)shm_region::create(1, 0), std::invalid_argument);
  CHECK_THROWS_AS((void)shm_region::create(1021, 8), std::invalid_argument);  // past the header
  CHECK(shm_region::create(1020, 1)->slots() == 1020);
  const auto region = shm_region::create(2, 512);
  CHECK(region->builder(513) == nullptr);  // more than a slot
  CHECK(region->busy() == 0);
  auto a = region->builder(512);
  auto b = region->builder(1);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(region->busy() == 2);
  CHECK(region->builder(1) == nullptr);  // every slot taken
  b.reset();                             // never handed over: its slot is free again
  CHECK(region->busy() == 1);
  auto c = region->builder(8);
  REQUIRE(c != nullptr);
  CHECK(region->busy() == 2);
  c.reset();
  a.reset();
  CHECK(region->busy() == 0);

  // Messages that are not all in one of its slots are not the region's to hand over.
  capnp::MallocMessageBuilder heap;
  heap.initRoot<wire::Envelope>().initHeartbeat();
  CHECK_FALSE(region->hand_over(heap).has_value());
  const auto other = shm_region::create(1, 512);
  auto foreign = other->builder(16);
  REQUIRE(foreign != nullptr);
  foreign->initRoot<wire::Envelope>().initHeartbeat();
  CHECK_FALSE(region->hand_over(*foreign).has_value());
  CHECK(other->busy() == 1);
  foreign.reset();
  CHECK(other->busy() == 0);
  auto empty = region->builder(16);  // no root yet: nothing in the slot
  REQUIRE(empty != nullptr);
  CHECK_FALSE(region->hand_over(*empty).has_value());
  empty.reset();
  CHECK(region->busy() == 0);
  // A message that outgrew its slot spans heap segments: sent by value, the slot goes back.
  auto grown = region->builder(8);
  REQUIRE(grown != nullptr);
  fill_encoded(*grown, payload_bits(600, 3), 1, 1);
  CHECK(grown->getSegmentsForOutput().size() > 1);
  CHECK_FALSE(region->hand_over(*grown).has_value());
  CHECK(region->busy() == 1);
  grown.reset();
  CHECK(region->busy() == 0);

  // One slot: every message lands where the one before it was. A slot that is not zeroed again
  // shows through the fields the next message leaves at their default.
  const auto single = shm_region::create(1, 2048);
  const auto peer = open_peer(*single);
  const auto send_and_read = [&](capnp::MessageBuilder& m,
                                 const std::function<void(wire::Envelope::Reader)>& check) {
    const auto ref = single->hand_over(m);
    REQUIRE(ref.has_value());
    CHECK(ref->slot == 0);
    {
      const frame f = peer->read(*ref, frame_limits{});
      check(f.envelope());
    }
    CHECK(single->busy() == 0);
  };
  {
    auto big = single->builder(2048);
    REQUIRE(big != nullptr);
    auto e = big->initRoot<wire::Envelope>().initEncoded();
    e.setIteration(7);
    e.setEpoch(9);
    auto payload = e.initPayload(2000);
    for (unsigned i = 0; i < 2000; ++i)
      payload.set(i, std::bit_cast<double>(~std::uint64_t{i}));
    send_and_read(*big, [](wire::Envelope::Reader r) {
      CHECK(r.getEncoded().getPayload().size() == 2000);
      CHECK(r.getEncoded().getEpoch() == 9);
    });
  }
  {
    // Only payload32 set: iteration, epoch and payload must read as never written.
    auto small = single->builder(64);
    REQUIRE(small != nullptr);
    auto e = small->initRoot<wire::Envelope>().initEncoded();
    auto narrow = e.initPayload32(3);
    for (unsigned i = 0; i < 3; ++i)
      narrow.set(i, 0.5f + static_cast<float>(i));
    send_and_read(*small, [](wire::Envelope::Reader r) {
      REQUIRE(r.isEncoded());
      const auto got = r.getEncoded();
      CHECK(got.getIteration() == 0);
      CHECK(got.getEpoch() == 0);
      CHECK_FALSE(got.hasPayload());
      CHECK(got.getPayload().size() == 0);
      REQUIRE(got.getPayload32().size() == 3);
      CHECK(got.getPayload32()[2] == 2.5f);
    });
  }
  {
    auto text = single->builder(512);
    REQUIRE(text != nullptr);
    text->initRoot<wire::Envelope>().initShutdown().setReason(std::string(3000, 'x'));
    send_and_read(*text, [](wire::Envelope::Reader r) {
      REQUIRE(r.isShutdown());
      CHECK(r.getShutdown().getReason().size() == 3000);
    });
  }
  {
    // Error.code lies where Shutdown.reason's pointer was; only the text is set.
    auto error = single->builder(16);
    REQUIRE(error != nullptr);
    error->initRoot<wire::Envelope>().initError().setText("short");
    send_and_read(*error, [](wire::Envelope::Reader r) {
      REQUIRE(r.isError());
      CHECK(r.getError().getCode() == 0);
      CHECK(r.getError().getText() == "short");
    });
  }
  {
    // A builder dropped without a hand-over dirtied the slot too.
    auto dropped = single->builder(2048);
    REQUIRE(dropped != nullptr);
    auto list = dropped->initRoot<wire::Envelope>().initEncodeAndTransmit();
    list.setIteration(99);
    list.setEpoch(5);
    auto state = list.initState(1000);
    for (unsigned i = 0; i < 1000; ++i)
      state.set(i, 0xdeadbeef);
  }
  CHECK(single->busy() == 0);
  {
    auto after = single->builder(64);
    REQUIRE(after != nullptr);
    after->initRoot<wire::Envelope>().initEncodeAndTransmit().initState(2).set(1, 4);
    send_and_read(*after, [](wire::Envelope::Reader r) {
      REQUIRE(r.isEncodeAndTransmit());
      const auto got = r.getEncodeAndTransmit();
      CHECK(got.getIteration() == 0);
      CHECK(got.getEpoch() == 0);
      REQUIRE(got.getState().size() == 2);
      CHECK(got.getState()[0] == 0);
      CHECK(got.getState()[1] == 4);
    });
  }
}

TEST_CASE("open refuses descriptors that are not a sealed region of the right size") {
  constexpr std::size_t max_bytes = 1 << 20;
  const std::size_t fds_before = open_fds();

  {
    // Sealable but not sealed: the worker could shrink it under the PS's mapping.
    const int fd = handmade_region(8192, region_magic, 1, 512, 0);
    check_refused(fd, max_bytes, "not sealed against resizing");
  }
  check_refused(handmade_region(8192, region_magic, 1, 512, F_SEAL_SHRINK), max_bytes,
                "not sealed against resizing");
  {
    // Not even sealable: memfd_create without MFD_ALLOW_SEALING.
    const int fd = ::memfd_create("pgc-test-unsealable", MFD_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, 8192) == 0);
    check_refused(fd, max_bytes, "not sealed against resizing");
  }
  {
    int ends[2] = {-1, -1};
    REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
    check_refused(ends[0], max_bytes, "not a sealable memfd");
    ::close(ends[1]);
  }
  {
    char path[] = "/tmp/pgc-test-region-XXXXXX";
    const int fd = ::mkostemp(path, O_CLOEXEC);
    REQUIRE(fd >= 0);
    ::unlink(path);
    REQUIRE(::ftruncate(fd, 8192) == 0);
    // A regular file: either not sealable at all (most file systems) or, on tmpfs, sealed
    // against nothing but further seals.
    const auto failure = failure_of([&] { (void)shm_region::open(fd, max_bytes); });
    REQUIRE(failure.has_value());
    CHECK(std::string(failure->what()).find("seal") != std::string::npos);
  }
  check_refused(-1, max_bytes, "not a sealable memfd");

  {
    // Bigger than the PS allows; exactly the limit is fine.
    const auto region = shm_region::create(1, 1024);
    CHECK(region->size_bytes() == header_bytes + 8192);
    const int copy = ::dup(region->fd());
    REQUIRE(copy >= 0);
    check_refused(copy, region->size_bytes() - 1,
                  "at most " + std::to_string(region->size_bytes() - 1));
    const auto exact = open_peer(*region);
    CHECK(exact->slot_words() == 1024);
  }
  check_refused(handmade_region(header_bytes, region_magic, 1, 1), max_bytes,
                "a region of 4096 bytes");
  check_refused(handmade_region(0, 0, 0, 0), max_bytes, "a region of 0 bytes");
  check_refused(handmade_region(8192, region_magic ^ 1, 1, 512), max_bytes, "not a pgc region");
  check_refused(handmade_region(8192, 0, 1, 512), max_bytes, "not a pgc region");
  // 4096 bytes of slots hold 512 words, not 513 or 2 x 512 or 2^32 - 1 x 2^32 - 1.
  check_refused(handmade_region(8192, region_magic, 1, 513), max_bytes,
                "a header that does not fit the region");
  check_refused(handmade_region(8192, region_magic, 2, 512), max_bytes,
                "a header that does not fit the region");
  check_refused(handmade_region(8192, region_magic, 0xffffffff, 0xffffffff), max_bytes,
                "a header that does not fit the region");
  check_refused(handmade_region(8192, region_magic, 0, 512), max_bytes,
                "a header that does not fit the region");
  check_refused(handmade_region(8192, region_magic, 1, 0), max_bytes,
                "a header that does not fit the region");
  {
    // Sealed against writes: the PS could not free its slots. mmap fails, open() says so.
    const int fd = handmade_region(8192, region_magic, 1, 512, resize_seals | F_SEAL_WRITE);
    const auto failure = failure_of([&] { (void)shm_region::open(fd, max_bytes); });
    REQUIRE(failure.has_value());
    CHECK(std::string(failure->what()).find("mmap") != std::string::npos);
  }
  {
    // A region created by the API, its magic then overwritten through a mapping of our own.
    const auto region = shm_region::create(1, 512);
    void* view = ::mmap(nullptr, header_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, region->fd(), 0);
    REQUIRE(view != MAP_FAILED);
    static_cast<unsigned char*>(view)[7] ^= 0xff;
    ::munmap(view, header_bytes);
    const int copy = ::dup(region->fd());
    REQUIRE(copy >= 0);
    check_refused(copy, max_bytes, "not a pgc region");
  }
  // A correct hand-made region passes the same checks.
  {
    const auto good = shm_region::open(handmade_region(8192, region_magic, 2, 256), max_bytes);
    CHECK(good->slots() == 2);
    CHECK(good->slot_words() == 256);
    CHECK(good->busy() == 0);
  }
  // Every descriptor open() was given is closed, refused or not.
  CHECK(open_fds() == fds_before);
}

TEST_CASE("read refuses slots outside the region and slots that were not handed over") {
  const auto region = shm_region::create(2, 64);
  const auto peer = open_peer(*region);
  const frame_limits limits;
  const auto refused = [&](shm_region::reference ref, const frame_limits& l,
                           const std::string& why) {
    const auto failure = failure_of([&] { (void)peer->read(ref, l); });
    REQUIRE_MESSAGE(failure.has_value(),
                    "read() accepted slot " << ref.slot << ", " << ref.words << " words");
    CHECK(failure->code() == errc::bad_message);
    CHECK_MESSAGE(std::string(failure->what()).find(why) != std::string::npos,
                  "expected \"" << why << "\" in \"" << failure->what() << "\"");
  };
  refused({2, 10}, limits, "slot 2 of a region of 2");
  refused({0xffffffff, 10}, limits, "of a region of 2");
  refused({0, 10}, limits, "slot 0 was not handed over");  // free
  auto building = region->builder(64);
  REQUIRE(building != nullptr);
  building->initRoot<wire::Envelope>().initProgress().setChunksDone(3);
  refused({0, 10}, limits, "slot 0 was not handed over");  // still being built
  const auto ref = region->hand_over(*building);
  REQUIRE(ref.has_value());
  REQUIRE(ref->slot == 0);
  refused({0, 0}, limits, "a message of 0 words");
  refused({0, 65}, limits, "a message of 65 words in slots of 64");
  refused({0, 0xffffffff}, limits, "in slots of 64");
  refused({1, ref->words}, limits, "slot 1 was not handed over");
  // The frame, segment table included, must fit the PS's limit.
  frame_limits tight;
  tight.max_frame_bytes = 8 + std::size_t{ref->words} * sizeof(capnp::word) - 1;
  refused(*ref, tight, "a message of");
  // Refusals leave the slot to its reader.
  CHECK(region->busy() == 1);
  tight.max_frame_bytes += 1;
  {
    const frame f = peer->read(*ref, tight);
    CHECK(f.envelope().getProgress().getChunksDone() == 3);
    // A second reference to the slot (a replayed SharedFrame) is refused while the first frame
    // reads it: dropping either one would otherwise free the slot under the other.
    refused(*ref, limits, "slot 0 was not handed over");
    CHECK(region->busy() == 1);
    CHECK(f.envelope().getProgress().getChunksDone() == 3);
  }
  CHECK(region->busy() == 0);
  refused(*ref, limits, "slot 0 was not handed over");  // read once, freed
}

TEST_CASE("a channel sends a message built in shared memory as a reference to its slot") {
  constexpr unsigned n = 100000;
  const auto bits = payload_bits(n, 5);
  const auto region = shm_region::create(1, n + 64);
  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  auto worker = channel::start(std::move(client));
  auto ps = channel::start(std::move(server));
  CHECK_FALSE(worker->shares_memory());
  CHECK_FALSE(ps->shares_memory());
  worker->use_shared_memory(region);
  ps->accept_shared_memory(open_peer(*region));
  CHECK(worker->shares_memory());
  CHECK(ps->shares_memory());
  run_bounded(io,
              [](channel_ptr worker, channel_ptr ps, region_ptr region,
                 const std::vector<std::uint64_t>& bits) -> awaitable<void> {
                auto message = region->builder(n + 64);
                REQUIRE(message != nullptr);
                fill_encoded(*message, bits, 1, 0);
                const std::size_t words = message->getSegmentsForOutput()[0].size();
                REQUIRE(worker->send(std::move(message)));
                // Queued: a SharedFrame of a few words, not the 800 KB.
                CHECK(worker->queued_bytes() > 0);
                CHECK(worker->queued_bytes() < 128);
                std::optional<frame> first(co_await ps->read());
                REQUIRE(first->envelope().isEncoded());
                CHECK(first->size_bytes() == 8 + words * sizeof(capnp::word));
                CHECK(first->envelope().getEncoded().getIteration() == 1);
                CHECK(same_payload(first->envelope().getEncoded(), bits));
                CHECK(region->busy() == 1);

                // The PS still holds the only slot: the worker builds on the heap instead, and
                // that message goes by value.
                CHECK(region->builder(n + 64) == nullptr);
                auto fallback = std::make_unique<capnp::MallocMessageBuilder>();
                fill_encoded(*fallback, bits, 2, 0);
                REQUIRE(worker->send(std::move(fallback)));
                CHECK(worker->queued_bytes() > n * sizeof(double));
                {
                  const frame second = co_await ps->read();
                  CHECK(second.envelope().getEncoded().getIteration() == 2);
                  CHECK(second.size_bytes() > n * sizeof(double));
                  CHECK(same_payload(second.envelope().getEncoded(), bits));
                }
                CHECK(region->busy() == 1);  // the heap message did not touch the slot
                CHECK(first->envelope().getEncoded().getIteration() == 1);

                // Dropping the frame frees the slot at once.
                first.reset();
                CHECK(region->busy() == 0);
                const std::vector<std::uint64_t> shorter(bits.begin(), bits.begin() + n / 2);
                message = region->builder(n / 2 + 64);
                REQUIRE(message != nullptr);
                fill_encoded(*message, shorter, 3, 1);
                REQUIRE(worker->send(std::move(message)));
                {
                  const frame third = co_await ps->read();
                  CHECK(third.envelope().getEncoded().getIteration() == 3);
                  CHECK(third.envelope().getEncoded().getEpoch() == 1);
                  CHECK(third.size_bytes() < 8 + words * sizeof(capnp::word));
                  CHECK(same_payload(third.envelope().getEncoded(), shorter));
                  CHECK(region->busy() == 1);
                }
                CHECK(region->busy() == 0);

                // A builder of another region is not this channel's to reference: it goes by
                // value and its slot comes back once the writer is done with it.
                const auto other = shm_region::create(1, n + 64);
                auto foreign = other->builder(n + 64);
                REQUIRE(foreign != nullptr);
                fill_encoded(*foreign, bits, 4, 0);
                REQUIRE(worker->send(std::move(foreign)));
                CHECK(worker->queued_bytes() > n * sizeof(double));
                {
                  const frame fourth = co_await ps->read();
                  CHECK(fourth.envelope().getEncoded().getIteration() == 4);
                  CHECK(same_payload(fourth.envelope().getEncoded(), bits));
                }
                CHECK(co_await eventually([&] { return other->busy() == 0; }));
                CHECK(region->busy() == 0);

                // Small messages built elsewhere still arrive as they are.
                REQUIRE(worker->send(progress(5, 6)));
                const frame fifth = co_await ps->read();
                CHECK(fifth.envelope().getProgress().getChunksDone() == 6);
                worker->close();
                ps->close();
              }(worker, ps, region, bits));
}

TEST_CASE("a shared frame the receiver cannot resolve fails only its own read") {
  const auto region = shm_region::create(2, 1024);
  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  auto worker = channel::start(std::move(client));
  auto ps = channel::start(std::move(server));
  run_bounded(io, [](channel_ptr worker, channel_ptr ps, region_ptr region) -> awaitable<void> {
    // No region accepted: a SharedFrame names nothing.
    REQUIRE(worker->send(shared_reference(0, 10)));
    REQUIRE(worker->send(progress(1, 1)));
    auto failure = co_await read_failure(ps);
    REQUIRE(failure.has_value());
    CHECK(failure->code() == errc::bad_message);
    CHECK(mentions(failure, "handed over no region"));
    CHECK(ps->is_open());
    {
      const frame f = co_await ps->read();
      CHECK(f.envelope().getProgress().getChunksDone() == 1);
    }

    // With a region: forged references to free slots, slots past the end and empty messages.
    ps->accept_shared_memory(open_peer(*region));
    REQUIRE(worker->send(shared_reference(0, 10)));
    REQUIRE(worker->send(shared_reference(1, 10)));
    REQUIRE(worker->send(shared_reference(2, 10)));
    REQUIRE(worker->send(shared_reference(0, 0)));
    REQUIRE(worker->send(shared_reference(0, 1025)));
    REQUIRE(worker->send(progress(1, 2)));
    for (const char* why : {"slot 0 was not handed over", "slot 1 was not handed over",
                            "slot 2 of a region of 2", "an empty message", "in slots of 1024"}) {
      failure = co_await read_failure(ps);
      CHECK(failure.has_value());
      CHECK((failure && failure->code() == errc::bad_message));
      CHECK_MESSAGE(mentions(failure, why), "expected: " << why);
    }
    {
      const frame f = co_await ps->read();
      CHECK(f.envelope().getProgress().getChunksDone() == 2);
    }
    CHECK(region->busy() == 0);

    // Messages in the slot that fail the envelope check, or are references themselves: the read
    // fails, the slot is freed.
    worker->use_shared_memory(region);
    auto nested = region->builder(16);
    REQUIRE(nested != nullptr);
    auto s = nested->initRoot<wire::Envelope>().initShared();
    s.setSlot(1);
    s.setWords(4);
    REQUIRE(worker->send(std::move(nested)));
    auto too_long = region->builder(1024);
    REQUIRE(too_long != nullptr);
    too_long->initRoot<wire::Envelope>().initShutdown().setReason(std::string(5000, 'y'));
    REQUIRE(worker->send(std::move(too_long)));
    CHECK(region->busy() == 2);
    failure = co_await read_failure(ps);
    CHECK((failure && failure->code() == errc::bad_message));
    CHECK(mentions(failure, "a shared-memory frame that names another"));
    failure = co_await read_failure(ps);
    CHECK((failure && failure->code() == errc::bad_message));
    CHECK(mentions(failure, "in shared memory: shutdown: reason is longer"));
    CHECK(region->busy() == 0);

    // A worker that scribbles over its message after sending it: garbage pointers, no crash.
    auto scribbled = region->builder(64);
    REQUIRE(scribbled != nullptr);
    scribbled->initRoot<wire::Envelope>().initProgress().setChunksDone(9);
    auto* root = const_cast<capnp::word*>(scribbled->getSegmentsForOutput()[0].begin());
    REQUIRE(worker->send(std::move(scribbled)));
    std::memset(static_cast<void*>(root), 0x7f, sizeof(capnp::word));
    failure = co_await read_failure(ps);
    CHECK((failure && failure->code() == errc::bad_message));
    CHECK(mentions(failure, "in shared memory: malformed message"));
    CHECK(region->busy() == 0);

    // Through all of it the channel stayed usable.
    REQUIRE(worker->send(progress(1, 3)));
    {
      const frame f = co_await ps->read();
      CHECK(f.envelope().getProgress().getChunksDone() == 3);
    }
    CHECK(ps->is_open());
    CHECK(worker->is_open());
    worker->close();
    ps->close();
  }(worker, ps, region));
}

TEST_CASE("a listener takes a region handed over with its token and refuses anything else") {
  asio::io_context io;
  taken_regions seen;
  auto listener = shm_listener::start(io.get_executor(), seen.taker(), seen.logger(), 1 << 20);
  CHECK(listener->name().rfind("pgc-ps-", 0) == 0);
  CHECK(listener->name().size() == 7 + 32);
  run_bounded(
      io, [](std::shared_ptr<shm_listener> listener, taken_regions& seen) -> awaitable<void> {
        const auto ex = co_await asio::this_coro::executor;
        const auto region = shm_region::create(2, 4096);
        const auto token = pgc::net::random_shm_token();
        co_await pgc::net::hand_over_region(listener->name(), token, region, 2s);
        REQUIRE(seen.tokens.size() == 1);
        CHECK(seen.tokens[0] == token);
        REQUIRE(seen.regions.size() == 1);
        const auto taken = seen.regions[0];
        CHECK(taken->fd() != region->fd());
        CHECK(taken->slots() == 2);
        CHECK(taken->slot_words() == 4096);
        CHECK(taken->size_bytes() == region->size_bytes());
        CHECK(seen.log.empty());

        // What the PS took works as the receiving end of a channel.
        auto [client, server] = connect_loopback(static_cast<asio::io_context&>(ex.context()));
        auto worker = channel::start(std::move(client));
        auto ps = channel::start(std::move(server));
        worker->use_shared_memory(region);
        ps->accept_shared_memory(taken);
        const auto bits = payload_bits(4000, 21);
        auto message = region->builder(4096);
        REQUIRE(message != nullptr);
        fill_encoded(*message, bits, 8, 2);
        REQUIRE(worker->send(std::move(message)));
        CHECK(worker->queued_bytes() < 128);
        {
          const frame f = co_await ps->read();
          CHECK(f.envelope().getEncoded().getIteration() == 8);
          CHECK(same_payload(f.envelope().getEncoded(), bits));
          CHECK(region->busy() == 1);
        }
        CHECK(region->busy() == 0);
        worker->close();
        ps->close();

        // The PS says no: the worker hears it.
        seen.answer = "no room for another region";
        auto failure = co_await hand_over_failure(listener->name(), token, region, 2s);
        REQUIRE(failure.has_value());
        CHECK(failure->code() == errc::protocol_violation);
        CHECK(seen.tokens.size() == 2);  // asked, and it said no
        CHECK(seen.logged("refused a region: no room for another region"));
        seen.answer.clear();
        seen.regions.resize(1);

        // A peer that sends a token without a descriptor, or a descriptor that is no region: the
        // taker is not asked, the descriptor is closed.
        const std::size_t fds_before = open_fds();
        {
          local::socket raw(ex);
          co_await raw.async_connect(local::endpoint(std::string(1, '\0') + listener->name()),
                                     asio::use_awaitable);
          const std::array<std::uint8_t, 16> bare{};
          co_await asio::async_write(raw, asio::buffer(bare), asio::use_awaitable);
          std::uint8_t answer = 0xff;
          co_await asio::async_read(raw, asio::buffer(&answer, 1), asio::use_awaitable);
          CHECK(answer == 1);
          CHECK(seen.tokens.size() == 2);
          CHECK(seen.logged("expected a 16-byte token with one descriptor"));
        }
        {
          local::socket raw(ex);
          co_await raw.async_connect(local::endpoint(std::string(1, '\0') + listener->name()),
                                     asio::use_awaitable);
          int ends[2] = {-1, -1};
          REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
          std::array<std::uint8_t, 16> bytes{};
          alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
          iovec iov{bytes.data(), bytes.size()};
          msghdr msg{};
          msg.msg_iov = &iov;
          msg.msg_iovlen = 1;
          msg.msg_control = control;
          msg.msg_controllen = sizeof control;
          cmsghdr* c = CMSG_FIRSTHDR(&msg);
          c->cmsg_level = SOL_SOCKET;
          c->cmsg_type = SCM_RIGHTS;
          c->cmsg_len = CMSG_LEN(sizeof(int));
          std::memcpy(CMSG_DATA(c), &ends[0], sizeof(int));
          CHECK(::sendmsg(raw.native_handle(), &msg, MSG_NOSIGNAL) == 16);
          ::close(ends[0]);
          ::close(ends[1]);
          std::uint8_t answer = 0xff;
          co_await asio::async_read(raw, asio::buffer(&answer, 1), asio::use_awaitable);
          CHECK(answer == 1);
          CHECK(seen.tokens.size() == 2);
          CHECK(seen.logged("not a sealable memfd"));
        }
        // Over the listener's size limit.
        {
          const auto big = shm_region::create(1, 1 << 17);  // 1 MiB of slots plus the header
          const auto refused = co_await hand_over_failure(listener->name(), token, big, 2s);
          CHECK(refused.has_value());
          CHECK(seen.tokens.size() == 2);
          CHECK(seen.logged("at most 1048576"));
        }
        // Every descriptor of the refused hand-overs is closed (the listener's side of a connection
        // goes once its answer is written).
        CHECK(co_await eventually([&] { return open_fds() == fds_before; }));

        // The listener keeps serving after all that.
        const auto second = pgc::net::random_shm_token();
        co_await pgc::net::hand_over_region(listener->name(), second, region, 2s);
        REQUIRE(seen.tokens.size() == 3);
        CHECK(seen.tokens[2] == second);

        // Closed: nobody answers at that name any more.
        listener->close();
        co_await asio::post(ex, asio::use_awaitable);
        const auto started = clock_type::now();
        failure = co_await hand_over_failure(listener->name(), second, region, 2s);
        REQUIRE(failure.has_value());
        CHECK(failure->code() == std::errc::connection_refused);
        CHECK(clock_type::now() - started < 2s);
        CHECK(seen.tokens.size() == 3);
      }(listener, seen));
}

TEST_CASE("handing over a region fails in bounded time when nobody takes it") {
  asio::io_context io;
  run_bounded(io, []() -> awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    const auto region = shm_region::create(1, 64);
    const auto token = pgc::net::random_shm_token();
    // No such socket here (another host or network namespace): refused at once.
    auto started = clock_type::now();
    auto failure = co_await hand_over_failure(unused_socket_name(), token, region, 2s);
    REQUIRE(failure.has_value());
    CHECK(failure->code() == std::errc::connection_refused);
    CHECK(clock_type::now() - started < 2s);

    // A socket that accepts connections but never answers: the timeout ends the wait.
    const auto name = unused_socket_name();
    local::acceptor silent(ex, local::endpoint(std::string(1, '\0') + name));
    started = clock_type::now();
    failure = co_await hand_over_failure(name, token, region, 200ms);
    const auto took = clock_type::now() - started;
    REQUIRE(failure.has_value());
    CHECK(mentions(failure, "waiting for the PS's answer"));
    CHECK(took >= 200ms);
    CHECK(took < 2s);
  }());
}
