#include "pgc/net/shared_memory.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>

#include "pgc/core/error.hpp"

namespace pgc::net {
namespace {

// The header page: magic, slot count, slot size, then one state word per slot. Slots start at
// the next page so their words are page-aligned like any heap segment of that size.
constexpr std::uint64_t magic = 0x3130'6d68'7363'6770;  // "pgcshm01", little-endian
constexpr std::size_t header_bytes = 4096;
constexpr std::size_t state_offset = 16;
constexpr std::size_t max_slots = (header_bytes - state_offset) / sizeof(std::uint32_t);

// free -> building (worker) -> handed over (worker) -> reading (PS, once) -> free (PS).
enum slot_state : std::uint32_t { free_slot = 0, building = 1, handed_over = 2, reading = 3 };

std::system_error os_error(const std::string& what) {
  return std::system_error(errno, std::generic_category(), what);
}

std::system_error bad_region(const std::string& why) {
  return std::system_error(make_error_code(core::errc::bad_message), "shared memory: " + why);
}

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

}  // namespace

// A builder whose first segment is a slot; like net::segment_pool's, further segments (a message
// that outgrew the slot) come from the heap, and such a message is sent by value.
class shm_builder final : public capnp::MessageBuilder {
 public:
  shm_builder(std::shared_ptr<shm_region> region, std::size_t slot)
      : region_(std::move(region)), slot_(slot) {}
  shm_builder(const shm_builder&) = delete;
  shm_builder& operator=(const shm_builder&) = delete;

  ~shm_builder() noexcept(false) override {
    if (!handed_over_) region_->release(slot_, dirty());
  }

  kj::ArrayPtr<capnp::word> allocateSegment(capnp::uint minimum) override {
    if (!given_ && region_->slot_words() >= minimum) {
      given_ = true;
      return {region_->slot_begin(slot_), region_->slot_words()};
    }
    const std::size_t size = std::max<std::size_t>(minimum, region_->slot_words());
    more_.push_back(std::make_unique<capnp::word[]>(size));
    return {more_.back().get(), size};
  }

  // All of the message in the slot: a single segment, the slot's.
  std::optional<shm_region::reference> reference() {
    if (!given_ || !more_.empty()) return std::nullopt;
    const auto segments = getSegmentsForOutput();
    if (segments.size() != 1 || segments[0].begin() != region_->slot_begin(slot_)) {
      return std::nullopt;
    }
    return shm_region::reference{static_cast<std::uint32_t>(slot_),
                                 static_cast<std::uint32_t>(segments[0].size())};
  }

  std::size_t dirty() {
    if (!given_) return 0;
    const auto segments = getSegmentsForOutput();
    return segments.size() > 0 && segments[0].begin() == region_->slot_begin(slot_)
               ? segments[0].size()
               : region_->slot_words();
  }

  const shm_region* region() const noexcept { return region_.get(); }
  std::size_t slot() const noexcept { return slot_; }
  void mark_handed_over() noexcept { handed_over_ = true; }

 private:
  std::shared_ptr<shm_region> region_;
  std::size_t slot_;
  std::vector<std::unique_ptr<capnp::word[]>> more_;
  bool given_ = false;
  bool handed_over_ = false;
};

std::shared_ptr<shm_region> shm_region::create(std::size_t slots, std::size_t slot_words) {
  if (slots == 0 || slots > max_slots || slot_words == 0 || slot_words > UINT32_MAX) {
    throw std::invalid_argument("shm_region: between 1 and " + std::to_string(max_slots) +
                                " slots of 1 to 2^32 - 1 words");
  }
  fd_guard fd{::memfd_create("pgc-shared-frames", MFD_CLOEXEC | MFD_ALLOW_SEALING)};
  if (fd.fd < 0) throw os_error("memfd_create");
  const std::size_t bytes = header_bytes + slots * slot_words * sizeof(capnp::word);
  if (::ftruncate(fd.fd, static_cast<off_t>(bytes)) != 0) throw os_error("ftruncate");
  // Sealed: neither side can change the size under the other's mapping.
  if (::fcntl(fd.fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    throw os_error("sealing the shared memory");
  }
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.fd, 0);
  if (base == MAP_FAILED) throw os_error("mmap");
  auto* b = static_cast<std::byte*>(base);
  const std::uint32_t header[2] = {static_cast<std::uint32_t>(slots),
                                   static_cast<std::uint32_t>(slot_words)};
  static_assert(state_offset == sizeof magic + sizeof header);
  std::memcpy(b, &magic, sizeof magic);
  std::memcpy(b + sizeof magic, header, sizeof header);
  return std::make_shared<shm_region>(fd.release(), b, bytes, slots, slot_words, private_tag{});
}

std::shared_ptr<shm_region> shm_region::open(int raw_fd, std::size_t max_bytes) {
  fd_guard fd{raw_fd};
  const int seals = ::fcntl(fd.fd, F_GET_SEALS);
  if (seals < 0) throw bad_region("the descriptor is not a sealable memfd");
  if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
    throw bad_region("the region is not sealed against resizing");
  }
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) throw bad_region(std::string("fstat: ") + std::strerror(errno));
  const auto bytes = static_cast<std::size_t>(st.st_size);
  if (bytes <= header_bytes || bytes > max_bytes) {
    throw bad_region("a region of " + std::to_string(bytes) + " bytes (at most " +
                     std::to_string(max_bytes) + ")");
  }
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.fd, 0);
  if (base == MAP_FAILED) throw bad_region(std::string("mmap: ") + std::strerror(errno));
  auto* b = static_cast<std::byte*>(base);
  // The header is read once, into our own memory: the other side can change it later.
  std::uint64_t m = 0;
  std::uint32_t header[2] = {};
  std::memcpy(&m, b, sizeof m);
  std::memcpy(header, b + 8, sizeof header);
  const std::size_t slots = header[0];
  const std::size_t slot_words = header[1];
  const bool fits = slots >= 1 && slots <= max_slots && slot_words >= 1 &&
                    slots * slot_words <= (bytes - header_bytes) / sizeof(capnp::word);
  if (m != magic || !fits) {
    ::munmap(base, bytes);
    throw bad_region(m != magic ? "not a pgc region" : "a header that does not fit the region");
  }
  return std::make_shared<shm_region>(fd.release(), b, bytes, slots, slot_words, private_tag{});
}

shm_region::shm_region(int fd, std::byte* base, std::size_t bytes, std::size_t slots,
                       std::size_t slot_words, private_tag)
    : fd_(fd), base_(base), bytes_(bytes), slots_(slots), slot_words_(slot_words), dirty_(slots) {}

shm_region::~shm_region() {
  ::munmap(base_, bytes_);
  ::close(fd_);
}

std::atomic_ref<std::uint32_t> shm_region::state(std::size_t slot) const noexcept {
  return std::atomic_ref<std::uint32_t>(
      *reinterpret_cast<std::uint32_t*>(base_ + state_offset + slot * sizeof(std::uint32_t)));
}

capnp::word* shm_region::slot_begin(std::size_t slot) const noexcept {
  return reinterpret_cast<capnp::word*>(base_ + header_bytes) + slot * slot_words_;
}

std::unique_ptr<capnp::MessageBuilder> shm_region::builder(std::size_t words) {
  if (words > slot_words_) return nullptr;
  for (std::size_t i = 0; i < slots_; ++i) {
    std::uint32_t expected = free_slot;
    if (!state(i).compare_exchange_strong(expected, building, std::memory_order_acquire)) continue;
    std::size_t dirty = 0;
    {
      const std::lock_guard lock(mutex_);
      dirty = std::exchange(dirty_[i], 0);
    }
    std::memset(static_cast<void*>(slot_begin(i)), 0, dirty * sizeof(capnp::word));
    return std::make_unique<shm_builder>(shared_from_this(), i);
  }
  return nullptr;
}

std::optional<shm_region::reference> shm_region::hand_over(capnp::MessageBuilder& message) {
  auto* b = dynamic_cast<shm_builder*>(&message);
  if (b == nullptr || b->region() != this) return std::nullopt;
  const auto ref = b->reference();
  if (!ref) return std::nullopt;
  {
    const std::lock_guard lock(mutex_);
    dirty_[b->slot()] = ref->words;
  }
  b->mark_handed_over();
  // Release: the message's words are visible to whoever sees the slot handed over.
  state(b->slot()).store(handed_over, std::memory_order_release);
  return ref;
}

void shm_region::release(std::size_t slot, std::size_t dirty_words) {
  {
    const std::lock_guard lock(mutex_);
    dirty_[slot] = dirty_words;
  }
  state(slot).store(free_slot, std::memory_order_release);
}

frame shm_region::read(reference ref, const frame_limits& limits) {
  if (ref.slot >= slots_) {
    throw bad_region("slot " + std::to_string(ref.slot) + " of a region of " +
                     std::to_string(slots_));
  }
  if (ref.words == 0 || ref.words > slot_words_ ||
      std::size_t{ref.words} * sizeof(capnp::word) + 8 > limits.max_frame_bytes) {
    throw bad_region("a message of " + std::to_string(ref.words) + " words in slots of " +
                     std::to_string(slot_words_));
  }
  // Taken once: a second reference to the slot (a replayed SharedFrame) is refused, or
  // destroying either frame would free the slot under the other.
  std::uint32_t expected = handed_over;
  if (!state(ref.slot).compare_exchange_strong(expected, reading, std::memory_order_acquire)) {
    throw bad_region("slot " + std::to_string(ref.slot) + " was not handed over");
  }
  // The frame holds the region (its mapping) and frees the slot when it goes.
  struct slot_owner {
    slot_owner(std::shared_ptr<shm_region> r, std::size_t s) : region(std::move(r)), slot(s) {}
    slot_owner(const slot_owner&) = delete;
    slot_owner& operator=(const slot_owner&) = delete;
    ~slot_owner() { region->state(slot).store(free_slot, std::memory_order_release); }
    std::shared_ptr<shm_region> region;
    std::size_t slot;
  };
  auto owner = std::make_shared<const slot_owner>(shared_from_this(), ref.slot);
  return frame(std::span<const capnp::word>(slot_begin(ref.slot), ref.words), std::move(owner),
               limits);
}

std::size_t shm_region::busy() const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < slots_; ++i)
    n += state(i).load(std::memory_order_relaxed) != free_slot;
  return n;
}

}  // namespace pgc::net
