#include "pgc/net/segment_pool.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace pgc::net {
namespace {

// The first segment comes from the pool and goes back to it; further segments (a message that
// outgrew its estimate) are zeroed heap arrays freed with the builder.
class pooled_builder final : public capnp::MessageBuilder {
 public:
  pooled_builder(std::shared_ptr<segment_pool> pool, segment_pool::buffer first)
      : pool_(std::move(pool)), first_(std::move(first)) {}
  pooled_builder(const pooled_builder&) = delete;
  pooled_builder& operator=(const pooled_builder&) = delete;

  ~pooled_builder() noexcept(false) override {
    if (handed_out_) {
      // The first segment the arena was given is the first one it reports.
      const auto segments = getSegmentsForOutput();
      first_.dirty = segments.size() > 0 ? segments[0].size() : first_.size;
    }
    pool_->give_back(std::move(first_));
  }

  kj::ArrayPtr<capnp::word> allocateSegment(capnp::uint minimum) override {
    if (!handed_out_ && first_.size >= minimum) {
      handed_out_ = true;
      return {first_.words.get(), first_.size};
    }
    // Double what exists so far, like MallocMessageBuilder's growing strategy.
    const std::size_t size = std::max<std::size_t>(minimum, first_.size);
    more_.push_back(std::make_unique<capnp::word[]>(size));  // value-initialized: zeroed
    return {more_.back().get(), size};
  }

 private:
  std::shared_ptr<segment_pool> pool_;
  segment_pool::buffer first_;
  std::vector<std::unique_ptr<capnp::word[]>> more_;
  bool handed_out_ = false;
};

}  // namespace

std::shared_ptr<segment_pool> segment_pool::create(std::size_t keep) {
  return std::make_shared<segment_pool>(keep, private_tag{});
}

std::unique_ptr<capnp::MessageBuilder> segment_pool::builder(std::size_t words) {
  words = std::max<std::size_t>(words, 8);
  buffer b;
  {
    const std::lock_guard lock(mutex_);
    // Any idle buffer that is large enough; a smaller one is dropped (sizes rarely change).
    auto it = std::find_if(idle_.begin(), idle_.end(), [&](const buffer& x) { return x.size >= words; });
    if (it == idle_.end() && !idle_.empty()) it = idle_.begin();
    if (it != idle_.end()) {
      b = std::move(*it);
      idle_.erase(it);
    }
  }
  if (b.size < words) {
    b = buffer{std::make_unique<capnp::word[]>(words), words, 0};
  } else if (b.dirty > 0) {
    std::memset(static_cast<void*>(b.words.get()), 0, b.dirty * sizeof(capnp::word));
    b.dirty = 0;
  }
  return std::make_unique<pooled_builder>(shared_from_this(), std::move(b));
}

void segment_pool::give_back(buffer b) {
  if (!b.words) return;
  const std::lock_guard lock(mutex_);
  if (idle_.size() < keep_) idle_.push_back(std::move(b));
}

std::size_t segment_pool::idle() const {
  const std::lock_guard lock(mutex_);
  return idle_.size();
}

}  // namespace pgc::net
