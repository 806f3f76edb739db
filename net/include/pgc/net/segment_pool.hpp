#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include <capnp/message.h>

namespace pgc::net {

// First segments for big messages built again and again (a worker's Encoded vector every
// iteration). A fresh MallocMessageBuilder callocs its segment, and the kernel faults the pages
// of a multi-MiB one in while the payload is written; a builder from the pool takes a buffer
// back instead, zeroes only the part the previous message used (on the building thread), and
// returns it when the message is destroyed, e.g. by the channel after the write.
//
// Thread-safe: build on a compute pool, send and destroy on the io thread. The pool must outlive
// nothing: builders hold it by shared_ptr.
class segment_pool : public std::enable_shared_from_this<segment_pool> {
  struct private_tag {};

 public:
  // Keeps at most `keep` idle buffers (more are freed on return).
  static std::shared_ptr<segment_pool> create(std::size_t keep = 2);
  segment_pool(std::size_t keep, private_tag) : keep_(keep) {}

  // A builder whose first segment holds at least `words` words, zeroed. Messages that outgrow
  // it get more segments from the heap, like MallocMessageBuilder.
  std::unique_ptr<capnp::MessageBuilder> builder(std::size_t words);

  // Idle buffers held now (for tests).
  std::size_t idle() const;

  // A buffer and how much of it the last message dirtied.
  struct buffer {
    std::unique_ptr<capnp::word[]> words;
    std::size_t size = 0;
    std::size_t dirty = 0;
  };
  void give_back(buffer b);

 private:
  mutable std::mutex mutex_;
  std::vector<buffer> idle_;
  std::size_t keep_;
};

// Words of the first segment for an Envelope holding one struct with one list of `elements`
// elements of `element_bytes` each: the list plus room for the pointers and small fields.
constexpr std::size_t list_message_words(std::size_t elements, std::size_t element_bytes) {
  return (elements * element_bytes + 7) / 8 + 32;
}

}  // namespace pgc::net
