#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <capnp/message.h>

#include "pgc/net/asio.hpp"
#include "pgc/net/frame.hpp"
#include "pgc/net/frame_limits.hpp"

namespace pgc::net {

// The same-host data plane. Over loopback TCP every coded vector crosses the kernel twice
// (copied into the socket, copied out); a worker on the PS's host can instead build its Encoded
// message in a region of shared memory and send only where it is (a SharedFrame of a few words),
// and the PS reads the message in place: no byte of the vector is copied by anyone.
//
// A region is a sealed memfd (it can neither shrink nor grow, so the reader's mapping never
// faults with SIGBUS) holding a header and `slots` slots of `slot_words` words. The worker
// creates it, hands the descriptor to the PS over a Unix socket (shm_listener, hand_over_region)
// and builds messages in free slots; the channel then sends a SharedFrame instead of the bytes
// (channel::use_shared_memory). The PS's channel resolves a SharedFrame into a frame over the
// slot (channel::accept_shared_memory); destroying that frame frees the slot. A slot's state
// word is the only thing both sides write: free -> building (worker) -> handed over (worker) ->
// free (PS).
//
// Trust: a worker can change its region while the PS reads it. The PS takes regions only from
// processes of its own user (SO_PEERCRED), which could as well attach a debugger to it.
class shm_region : public std::enable_shared_from_this<shm_region> {
  struct private_tag {};

 public:
  // The worker's side: a new region of 1 to 1020 slots of 1 to 2^32 - 1 words
  // (std::invalid_argument otherwise). std::system_error when memfd_create or mmap fail.
  static std::shared_ptr<shm_region> create(std::size_t slots, std::size_t slot_words);
  // The PS's side: maps a region another process created, taking ownership of `fd`. Checks the
  // seals, the size (at most max_bytes) and the header; std::system_error(errc::bad_message)
  // saying what is wrong.
  static std::shared_ptr<shm_region> open(int fd, std::size_t max_bytes);

  shm_region(int fd, std::byte* base, std::size_t bytes, std::size_t slots, std::size_t slot_words,
             private_tag);
  shm_region(const shm_region&) = delete;
  shm_region& operator=(const shm_region&) = delete;
  ~shm_region();

  int fd() const noexcept { return fd_; }
  std::size_t slots() const noexcept { return slots_; }
  std::size_t slot_words() const noexcept { return slot_words_; }
  std::size_t size_bytes() const noexcept { return bytes_; }

  // The worker's side. A builder whose first segment is a free slot, zeroed, or nullptr when
  // `words` exceed a slot or every slot is taken (the caller builds on the heap instead).
  // Thread-safe. A builder that is destroyed without being handed over frees its slot.
  std::unique_ptr<capnp::MessageBuilder> builder(std::size_t words);

  // Where a message built by this region's builder() lies, if all of it is in its slot; the slot
  // then belongs to the reader until it frees it. Call once, just before sending the reference.
  struct reference {
    std::uint32_t slot = 0;
    std::uint32_t words = 0;
  };
  std::optional<reference> hand_over(capnp::MessageBuilder& message);

  // The PS's side: the message of a SharedFrame as a frame that frees the slot when destroyed.
  // std::system_error(errc::bad_message) for a slot or size outside the region or a slot the
  // worker has not handed over (or that an earlier read() took already).
  frame read(reference ref, const frame_limits& limits);

  // Slots not free now (for tests and logs).
  std::size_t busy() const noexcept;

 private:
  friend class shm_builder;
  std::atomic_ref<std::uint32_t> state(std::size_t slot) const noexcept;
  capnp::word* slot_begin(std::size_t slot) const noexcept;
  void release(std::size_t slot, std::size_t dirty_words);

  int fd_;
  std::byte* base_;
  std::size_t bytes_;
  std::size_t slots_;
  std::size_t slot_words_;
  // The worker's side: words each slot's last message dirtied, zeroed before the next one.
  std::mutex mutex_;
  std::vector<std::size_t> dirty_;
};

// The PS's side of the hand-over: an abstract Unix socket (named, not a file: nothing to clean
// up, and visible only in the PS's network namespace, like its loopback) where workers pass the
// descriptor of their region with the 16-byte token their Welcome carried. For each, `take` runs
// on the executor with the token and the mapped region and answers an empty string when it takes
// the region, otherwise why not (the worker is told no and the PS logs it).
class shm_listener : public std::enable_shared_from_this<shm_listener> {
  struct private_tag {};

 public:
  using token = std::array<std::uint8_t, 16>;
  using taker = std::function<std::string(const token&, std::shared_ptr<shm_region>)>;
  using logger = std::function<void(const std::string&)>;

  // Binds a fresh random name and starts accepting. std::system_error when binding fails.
  static std::shared_ptr<shm_listener> start(const asio::any_io_executor& ex, taker take,
                                             logger log, std::size_t max_region_bytes);
  shm_listener(const asio::any_io_executor& ex, taker take, logger log,
               std::size_t max_region_bytes, private_tag);
  ~shm_listener();

  // Without the leading NUL, as Welcome.sharedMemory.socket carries it.
  const std::string& name() const noexcept { return name_; }
  // Stops accepting; idempotent. Hand-overs in progress finish or time out.
  void close();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
  std::string name_;
};

// The worker's side: passes the region to the PS's socket `name` with `token` and waits for the
// answer. Throws std::system_error: the socket does not exist here (another host or network
// namespace: connection_refused), timeout, or the PS said no.
awaitable<void> hand_over_region(std::string name, shm_listener::token token,
                                 std::shared_ptr<shm_region> region,
                                 std::chrono::milliseconds timeout);

// A fresh random token.
shm_listener::token random_shm_token();

}  // namespace pgc::net
