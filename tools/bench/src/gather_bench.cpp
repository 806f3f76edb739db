#include "pgc/bench/gather_bench.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <capnp/any.h>
#include <capnp/message.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "detail/io_thread.hpp"
#include "pgc/bench/mpi_gather.hpp"
#include "pgc/net/channel.hpp"
#include "pgc/net/segment_pool.hpp"
#include "pgc/net/shared_memory.hpp"

namespace pgc::bench {
namespace {

namespace asio = net::asio;
using detail::awaitable;
using detail::io_thread;
using channel_ptr = std::shared_ptr<net::channel>;
using clock_type = std::chrono::steady_clock;

// A worker: answers every EncodeAndTransmit with an Encoded message built from its vector, the
// way a real worker writes its coded vector into the message: into a reused first segment, the
// list body written in place. Ends when its channel closes.
// With f32 the vector is rounded into payload32, as a --wire-precision f32 worker sends it.
// With a region, the message is built in one of its slots, as a worker sharing memory with the
// PS builds it.
awaitable<void> worker_loop(channel_ptr ch, std::shared_ptr<const std::vector<double>> y,
                            bool f32, std::shared_ptr<net::shm_region> region) {
  static_assert(std::endian::native == std::endian::little);
  const auto segments = net::segment_pool::create(2);
  for (;;) {
    const net::frame f = co_await ch->read();
    const auto e = f.envelope();
    if (!e.isEncodeAndTransmit()) continue;
    const auto words = net::list_message_words(y->size(), f32 ? sizeof(float) : sizeof(double));
    auto message = region ? region->builder(words) : nullptr;
    if (!message) message = segments->builder(words);
    auto encoded = message->initRoot<net::wire::Envelope>().initEncoded();
    encoded.setIteration(e.getEncodeAndTransmit().getIteration());
    const auto n = static_cast<unsigned>(y->size());
    if (f32) {
      const auto body = capnp::AnyList::Reader(encoded.initPayload32(n).asReader()).getRawBytes();
      auto* out = reinterpret_cast<float*>(const_cast<kj::byte*>(body.begin()));
      for (unsigned k = 0; k < n; ++k)
        out[k] = static_cast<float>((*y)[k]);
    } else {
      const auto body = capnp::AnyList::Reader(encoded.initPayload(n).asReader()).getRawBytes();
      std::memcpy(const_cast<kj::byte*>(body.begin()), y->data(), y->size() * sizeof(double));
    }
    ch->send(std::move(message));
  }
}

std::unique_ptr<capnp::MallocMessageBuilder> signal_message(std::uint64_t iteration, int n) {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  auto e = message->initRoot<net::wire::Envelope>().initEncodeAndTransmit();
  e.setIteration(iteration);
  auto state = e.initState(static_cast<unsigned>(n));
  for (unsigned i = 0; i < state.size(); ++i)
    state.set(i, 1);
  return message;
}

// One iteration on the PS thread: signal every worker, then hold all n Encoded frames.
awaitable<double> gather_once(const std::vector<channel_ptr>& channels, std::uint64_t iteration,
                              std::size_t d) {
  const auto executor = co_await asio::this_coro::executor;
  const auto start = clock_type::now();
  for (const auto& ch : channels)
    ch->send(signal_message(iteration, static_cast<int>(channels.size())));
  std::vector<net::frame> frames;
  frames.reserve(channels.size());
  std::size_t remaining = channels.size();
  std::exception_ptr failure;
  asio::steady_timer all_in(executor, asio::steady_timer::time_point::max());
  // One reader per connection, as the PS has; each one ends this wait when it is the last.
  for (const auto& ch : channels) {
    asio::co_spawn(
        executor,
        [&, ch]() -> awaitable<void> {
          net::frame f = co_await ch->read();
          const auto e = f.envelope();
          if (!e.isEncoded() || e.getEncoded().getIteration() != iteration ||
              std::max(e.getEncoded().getPayload().size(),
                       e.getEncoded().getPayload32().size()) != d) {
            throw std::runtime_error("gather bench: unexpected reply");
          }
          // The vectors hold 1, 2, ..., d (exact in float too for these sizes): whichever way
          // they came, their ends are where the PS reads them.
          const auto enc = e.getEncoded();
          const auto at = static_cast<unsigned>(d - 1);
          const double last =
              enc.hasPayload32() ? enc.getPayload32()[at] : enc.getPayload()[at];
          if (last != static_cast<double>(d)) {
            throw std::runtime_error("gather bench: a vector arrived with wrong contents");
          }
          frames.push_back(std::move(f));
        },
        [&](std::exception_ptr e) {
          if (e && !failure) failure = e;
          if (--remaining == 0) all_in.cancel();
        });
  }
  while (remaining > 0)
    co_await all_in.async_wait(asio::as_tuple(asio::use_awaitable));
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  if (failure) std::rethrow_exception(failure);
  co_return seconds;
}

double min_of(const std::vector<double>& v) {
  return *std::min_element(v.begin(), v.end());
}

std::string dim_text(long long d) {
  // 1000000 -> 1e6: short keys that name the size.
  const int exponent = static_cast<int>(std::lround(std::log10(static_cast<double>(d))));
  if (std::pow(10.0, exponent) == static_cast<double>(d)) return "1e" + std::to_string(exponent);
  return std::to_string(d);
}

}  // namespace

std::vector<double> tcp_gather_seconds(int n, long long d, int iterations, gather_setup setup) {
  io_thread ps;
  io_thread workers;
  std::vector<channel_ptr> ps_side;
  std::vector<channel_ptr> worker_side;
  std::vector<std::shared_ptr<net::shm_region>> regions(static_cast<std::size_t>(n));
  const auto words = net::list_message_words(static_cast<std::size_t>(d),
                                             setup.f32 ? sizeof(float) : sizeof(double));
  for (int i = 0; i < n; ++i) {
    auto pair = detail::connect_loopback(workers.context(), ps.context());
    worker_side.push_back(net::channel::start(std::move(pair.client)));
    ps_side.push_back(net::channel::start(std::move(pair.server)));
    if (setup.shared_memory) {
      // As the hand-over does between processes: the PS maps the worker's memfd on its own.
      auto& region = regions[static_cast<std::size_t>(i)];
      region = net::shm_region::create(3, words);
      const int fd = ::dup(region->fd());
      if (fd < 0) throw std::system_error(errno, std::generic_category(), "dup");
      // Before the threads run: nothing else touches the channels yet.
      worker_side.back()->use_shared_memory(region);
      ps_side.back()->accept_shared_memory(net::shm_region::open(fd, region->size_bytes()));
    }
  }
  auto y = std::make_shared<std::vector<double>>(static_cast<std::size_t>(d));
  for (std::size_t k = 0; k < y->size(); ++k)
    (*y)[k] = 1.0 + static_cast<double>(k);
  for (std::size_t i = 0; i < worker_side.size(); ++i) {
    const auto& ch = worker_side[i];
    // A worker ends when the bench closes its channel: that, and only that, is expected.
    asio::co_spawn(workers.context(), worker_loop(ch, y, setup.f32, regions[i]),
                   [ch](std::exception_ptr e) {
                     if (e && ch->is_open()) ch->close();
                   });
  }
  ps.start();
  workers.start();
  std::vector<double> seconds;
  for (int it = 0; it <= iterations; ++it) {
    const double t =
        ps.run(gather_once(ps_side, static_cast<std::uint64_t>(it), static_cast<std::size_t>(d)));
    if (it > 0) seconds.push_back(t);  // the first one warms up connections and allocator
  }
  asio::post(ps.context(), asio::use_future([&] {
               for (const auto& ch : ps_side)
                 ch->close();
             }))
      .get();
  asio::post(workers.context(), asio::use_future([&] {
               for (const auto& ch : worker_side)
                 ch->close();
             }))
      .get();
  // The threads end before the channels are released here, so none is destroyed under them.
  ps.stop();
  workers.stop();
  return seconds;
}

void run_gather_bench(const bench_config& config, report& out) {
  std::string why_no_mpi;
  const mpi_tools tools =
      config.mpi ? mpi_tools::find(config.mpi_exe, config.mpirun, why_no_mpi) : mpi_tools{};
  if (!config.mpi) why_no_mpi = "MPI comparison turned off (--no-mpi)";
  const int head_n = config.gather_workers.front();
  const long long head_d = config.gather_dims.back();
  for (const int n : config.gather_workers) {
    for (const long long d : config.gather_dims) {
      const std::string tag = "_n" + std::to_string(n) + "_d" + dim_text(d);
      const std::string shape = std::to_string(n) + " vectors of d = " + std::to_string(d) +
                                " doubles (" + std::to_string(d * 8 * n >> 20) + " MiB)";
      const double ours = min_of(tcp_gather_seconds(n, d, config.gather_iterations));
      out.add("gather_s" + tag, ours, "s", "gather over TCP with the framed channel, " + shape);
      // Workers on the PS's host: references over the socket, the vectors in shared memory.
      const double shm =
          min_of(tcp_gather_seconds(n, d, config.gather_iterations, {.shared_memory = true}));
      out.add("gather_shm_s" + tag, shm, "s",
              "the same gather by workers on the PS's host (shared memory, the default there), " +
                  shape);
      // The float32 wire for the first N: the same vectors in half the bytes.
      std::optional<double> ours_f32;
      if (n == head_n) {
        ours_f32 = min_of(tcp_gather_seconds(n, d, config.gather_iterations, {.f32 = true}));
        out.add("gather_f32_s" + tag, *ours_f32, "s",
                "the same gather with float32 payloads (--wire-precision f32), " + shape);
      }
      const bool head = n == head_n && d == head_d;
      std::string why = why_no_mpi;
      std::optional<mpi_timings> mpi;
      if (why.empty()) mpi = run_mpi_gather(tools, n, d, config.gather_iterations, why);
      // The headline compares like with like on one machine: our same-host data plane with
      // Open MPI's (shared memory); the TCP figures below compare the two over TCP.
      const std::string gather_what =
          "our gather / MPI_Gather on one host, both through shared memory (lower is better), " +
          shape;
      const std::string reduce_what = "our gather / MPI_Reduce on one host (lower is better), " +
                                      shape;
      const std::string tcp_what = "our gather over TCP / MPI_Gather (shared memory), " + shape;
      if (mpi) {
        const double gather = min_of(mpi->gather_s);
        const double reduce = min_of(mpi->reduce_s);
        out.add("mpi_gather_s" + tag, gather, "s", "MPI_Gather, " + shape);
        out.add("mpi_reduce_s" + tag, reduce, "s", "MPI_Reduce (sum), " + shape);
        out.add("gather_vs_mpi_gather" + tag, shm / gather, "ratio", gather_what);
        out.add("gather_vs_mpi_reduce" + tag, shm / reduce, "ratio", reduce_what);
        out.add("gather_tcp_vs_mpi_gather" + tag, ours / gather, "ratio", tcp_what);
        if (ours_f32) {
          out.add("gather_f32_vs_mpi_gather" + tag, *ours_f32 / gather, "ratio",
                  "our float32 gather / MPI_Gather of the doubles (lower is better), " + shape);
        }
        if (head) {
          out.add("gather_vs_mpi_gather", shm / gather, "ratio", gather_what);
          out.add("gather_vs_mpi_reduce", shm / reduce, "ratio", reduce_what);
        }
        // MPI held to TCP, the transport pgc uses (and MPI's between hosts): the shared-memory
        // figure above compares loopback TCP's two copies with a single copy.
        std::string why_tcp;
        if (const auto tcp = run_mpi_gather(tools, n, d, config.gather_iterations, why_tcp,
                                            mpi_transport::tcp)) {
          const double tcp_gather = min_of(tcp->gather_s);
          out.add("mpi_gather_tcp_s" + tag, tcp_gather, "s", "MPI_Gather over TCP, " + shape);
          out.add("gather_vs_mpi_gather_tcp" + tag, ours / tcp_gather, "ratio",
                  "our gather / MPI_Gather over TCP (--mca btl self,tcp), " + shape);
        }
      } else if (head) {
        out.add_missing("gather_vs_mpi_gather", "ratio", gather_what, why);
        out.add_missing("gather_vs_mpi_reduce", "ratio", reduce_what, why);
      }
    }
  }
}

}  // namespace pgc::bench
