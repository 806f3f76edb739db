#include "pgc/bench/channel_bench.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <capnp/any.h>
#include <capnp/message.h>

#include "detail/io_thread.hpp"
#include "pgc/net/channel.hpp"
#include "pgc/net/outgoing_frame.hpp"
#include "pgc/net/segment_pool.hpp"

namespace pgc::bench {
namespace {

namespace asio = net::asio;
using detail::awaitable;
using detail::io_thread;
using detail::tcp;
using clock_type = std::chrono::steady_clock;

volatile double sink = 0;

// An Encoded message with n doubles, as a worker sends it.
std::unique_ptr<capnp::MallocMessageBuilder> encoded_message(std::size_t n, double value) {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  auto e = message->initRoot<net::wire::Envelope>().initEncoded();
  e.setIteration(1);
  auto payload = e.initPayload(static_cast<unsigned>(n));
  for (unsigned i = 0; i < n; ++i)
    payload.set(i, value + i);
  return message;
}

// The list body of a freshly built primitive list, written in place as a worker does (capnp
// stores it little-endian and word-aligned).
template <class T>
T* list_body(typename capnp::List<T>::Builder list) {
  static_assert(std::endian::native == std::endian::little);
  const auto bytes = capnp::AnyList::Reader(list.asReader()).getRawBytes();
  return reinterpret_cast<T*>(const_cast<kj::byte*>(bytes.begin()));
}

// An Encoded message as a worker builds it now: the first segment from a pool of reused
// buffers, the vector copied straight into the list.
std::unique_ptr<capnp::MessageBuilder> pooled_encoded(net::segment_pool& pool,
                                                      const std::vector<double>& y) {
  auto message = pool.builder(net::list_message_words(y.size(), sizeof(double)));
  auto e = message->initRoot<net::wire::Envelope>().initEncoded();
  e.setIteration(1);
  std::memcpy(list_body<double>(e.initPayload(static_cast<unsigned>(y.size()))), y.data(),
              y.size() * sizeof(double));
  return message;
}

// Bytes on the wire of one Encoded frame of n entries, float32 against float64.
double f32_bytes_ratio(std::size_t n) {
  const std::vector<double> y(n, 1.0);
  auto wide = std::make_unique<capnp::MallocMessageBuilder>();
  auto w = wide->initRoot<net::wire::Envelope>().initEncoded();
  w.setIteration(1);
  std::memcpy(list_body<double>(w.initPayload(static_cast<unsigned>(n))), y.data(),
              n * sizeof(double));
  auto narrow = std::make_unique<capnp::MallocMessageBuilder>();
  auto f = narrow->initRoot<net::wire::Envelope>().initEncoded();
  f.setIteration(1);
  auto* out = list_body<float>(f.initPayload32(static_cast<unsigned>(n)));
  for (std::size_t k = 0; k < n; ++k)
    out[k] = static_cast<float>(y[k]);
  const net::outgoing_frame a(std::move(narrow));
  const net::outgoing_frame b(std::move(wide));
  return static_cast<double>(a.size_bytes()) / static_cast<double>(b.size_bytes());
}

// Reads `frames` frames and returns when the last one is in; touches both ends of each payload.
awaitable<clock_type::time_point> channel_receive(std::shared_ptr<net::channel> ch, int frames,
                                                  std::size_t n) {
  for (int i = 0; i < frames; ++i) {
    const net::frame f = co_await ch->read();
    const auto payload = f.envelope().getEncoded().getPayload();
    if (payload.size() != n) throw std::runtime_error("channel bench: wrong payload size");
    sink = sink + payload[0] + payload[static_cast<unsigned>(n - 1)];
  }
  co_return clock_type::now();
}

// The same bytes, read the simplest way: the segment table (its size is known for these frames),
// then the whole body into one buffer reused for every frame.
awaitable<clock_type::time_point> raw_receive(tcp::socket& socket, int frames, std::size_t n,
                                              std::size_t table_bytes) {
  std::vector<std::uint64_t> body;  // words (capnp::word is not movable, which clang enforces)
  std::vector<std::byte> table(table_bytes);
  for (int i = 0; i < frames; ++i) {
    co_await asio::async_read(socket, asio::buffer(table), asio::use_awaitable);
    // Segment sizes in words follow the count; the table size is fixed for these frames.
    std::size_t words = 0;
    std::uint32_t count = 0;
    std::memcpy(&count, table.data(), 4);
    for (std::uint32_t s = 0; s <= count; ++s) {
      std::uint32_t w = 0;
      std::memcpy(&w, table.data() + 4 + 4 * s, 4);
      words += w;
    }
    body.resize(words);
    co_await asio::async_read(socket, asio::buffer(body.data(), words * sizeof(std::uint64_t)),
                              asio::use_awaitable);
    // The payload is the tail of the body.
    const auto* tail = reinterpret_cast<const double*>(body.data() + words) - n;
    sink = sink + tail[0] + tail[n - 1];
  }
  co_return clock_type::now();
}

awaitable<void> raw_send(tcp::socket& socket, int frames, const std::vector<std::byte>& bytes) {
  for (int i = 0; i < frames; ++i)
    co_await asio::async_write(socket, asio::buffer(bytes), asio::use_awaitable);
}

}  // namespace

void run_channel_bench(const bench_config& config, report& out) {
  const std::size_t n = config.frame_doubles;
  const int frames = config.channel_frames;
  io_thread tx;
  io_thread rx;
  // Two connections: one owned by the channels, one used raw.
  auto framed = detail::connect_loopback(tx.context(), rx.context());
  auto raw = detail::connect_loopback(tx.context(), rx.context());
  net::channel_options options;
  options.max_queued_bytes = std::numeric_limits<std::size_t>::max() / 2;
  auto sender = net::channel::start(std::move(framed.client), options);
  auto receiver = net::channel::start(std::move(framed.server), options);
  tx.start();
  rx.start();

  const net::outgoing_frame sample_frame(encoded_message(n, 1.0));
  const std::vector<std::byte> bytes = sample_frame.to_bytes();
  const std::size_t table_bytes = sample_frame.table().size();

  // channel_vs_raw builds the message before the clock starts (building is the caller's work,
  // not the channel's) and sends it `frames` times from the same memory, as the raw socket sends
  // its one buffer: the ratio is the channel's own cost. With `build`, the sender's io thread
  // builds each one from its doubles first in a fresh MallocMessageBuilder, element by element,
  // as workers used to: that is channel_with_io_build_vs_raw.
  const auto run_channel = [&](bool build) {
    const auto prebuilt = std::make_shared<const net::outgoing_frame>(encoded_message(n, 1.0));
    auto done =
        asio::co_spawn(rx.context(), channel_receive(receiver, frames, n), asio::use_future);
    const auto start = clock_type::now();
    asio::post(tx.context(), [&] {
      for (int i = 0; i < frames; ++i) {
        if (build) {
          sender->send(encoded_message(n, i));
        } else {
          sender->send(prebuilt);
        }
      }
    });
    return std::chrono::duration<double>(done.get() - start).count();
  };
  // What workers do now (channel_with_build_vs_raw): a compute thread builds each message into a
  // reused first segment, copying the vector into the list in place, and hands the finished
  // frame to the io thread, which only queues and writes.
  const std::vector<double> y(n, 1.5);
  const auto segments = net::segment_pool::create(static_cast<std::size_t>(frames));
  const auto run_built_off_io = [&] {
    auto done =
        asio::co_spawn(rx.context(), channel_receive(receiver, frames, n), asio::use_future);
    const auto start = clock_type::now();
    std::thread builder([&] {
      for (int i = 0; i < frames; ++i) {
        auto frame = std::make_shared<const net::outgoing_frame>(pooled_encoded(*segments, y));
        asio::post(tx.context(), [&, frame = std::move(frame)]() mutable {
          sender->send(std::move(frame));
        });
      }
    });
    const double t = std::chrono::duration<double>(done.get() - start).count();
    builder.join();
    return t;
  };
  const auto run_raw = [&] {
    auto done = asio::co_spawn(rx.context(), raw_receive(raw.server, frames, n, table_bytes),
                               asio::use_future);
    const auto start = clock_type::now();
    auto sent = asio::co_spawn(tx.context(), raw_send(raw.client, frames, bytes), asio::use_future);
    const double t = std::chrono::duration<double>(done.get() - start).count();
    sent.get();
    return t;
  };
  run_channel(false);  // warm-up: socket buffers, allocator, the pool's segments
  run_raw();
  run_built_off_io();
  double best_channel = std::numeric_limits<double>::infinity();
  double best_raw = best_channel;
  double best_built = best_channel;
  double best_io_built = best_channel;
  for (int r = 0; r < config.channel_repeats; ++r) {
    best_channel = std::min(best_channel, run_channel(false));
    best_raw = std::min(best_raw, run_raw());
    best_built = std::min(best_built, run_built_off_io());
    best_io_built = std::min(best_io_built, run_channel(true));
  }
  const double gib = static_cast<double>(bytes.size()) * frames / (1 << 30);
  const std::string shape = std::to_string(frames) + " frames of " +
                            std::to_string(bytes.size() >> 20) + " MiB over loopback";
  out.add("channel_vs_raw", best_raw / best_channel, "ratio",
          "framed channel vs raw asio socket, same bytes (higher is better), " + shape);
  out.add("channel_with_build_vs_raw", best_raw / best_built, "ratio",
          "the same with each Encoded message built inside the timing as workers do: on a "
          "compute thread, into a reused segment, then queued on the io thread (higher is "
          "better), " +
              shape);
  out.add("channel_with_io_build_vs_raw", best_raw / best_io_built, "ratio",
          "the same with each message built on the sender's io thread in a fresh "
          "MallocMessageBuilder, element by element (the old worker path), " +
              shape);
  out.add("f32_bytes_ratio", f32_bytes_ratio(n), "ratio",
          "bytes on the wire of one Encoded frame, float32 / float64 payload, " +
              std::to_string(n) + " entries");
  out.add("channel_gib_s", gib / best_channel, "GiB/s", "framed channel throughput, " + shape);
  out.add("raw_gib_s", gib / best_raw, "GiB/s", "raw asio socket throughput, " + shape);
  asio::post(tx.context(), asio::use_future([&] { sender->close(); })).get();
  asio::post(rx.context(), asio::use_future([&] { receiver->close(); })).get();
  // The threads end before the sockets and channels are released here.
  tx.stop();
  rx.stop();
}

}  // namespace pgc::bench
