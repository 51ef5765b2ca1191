// A hash table keyed by a 64-bit id, open-addressed with the values inline in its slots: a lookup
// reads one slot (and the next on a collision) where std::unordered_map reads a bucket, the node
// before the first of that bucket and then the node, three dependent cache misses once the table
// outgrows the cache. Ids are only added; clear() empties the table.
//
// Every id but ~0 (the mark of an empty slot) may be used: Natterbox user ids are at most an
// int64's value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace vr {

template <class V>
class id_table {
 public:
  static constexpr std::uint64_t kNone = ~std::uint64_t{0};

  // The value of `id`, or null.
  V* find(std::uint64_t id) noexcept {
    if (size_ == 0) return nullptr;
    for (std::size_t i = home(id);; i = (i + 1) & mask_) {
      slot& s = slots_[i];
      if (s.id == id) return &s.value;
      if (s.id == kNone) return nullptr;
    }
  }

  // The value of `id`, value-initialised and `added` set when the id was not there yet.
  V& get(std::uint64_t id, bool& added) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    for (std::size_t i = home(id);; i = (i + 1) & mask_) {
      slot& s = slots_[i];
      if (s.id == id) {
        added = false;
        return s.value;
      }
      if (s.id == kNone) {
        s.id = id;
        ++size_;
        added = true;
        return s.value;
      }
    }
  }

  // Starts loading the slot where a lookup of `id` begins, so that the miss overlaps other work.
  void prefetch(std::uint64_t id) const noexcept {
    if (size_ == 0) return;
    const char* at = reinterpret_cast<const char*>(&slots_[home(id)]);
    __builtin_prefetch(at);
    if constexpr (sizeof(slot) > 32) __builtin_prefetch(at + sizeof(slot) - 1);
  }

  std::size_t size() const noexcept { return size_; }

  void clear() noexcept {
    std::vector<slot>().swap(slots_);
    mask_ = 0;
    shift_ = 64;
    size_ = 0;
  }

 private:
  struct slot {
    std::uint64_t id = kNone;
    V value{};
  };

  // Fibonacci hashing: the top bits of the id times 2^64 / phi, so that ids in sequence spread.
  std::size_t home(std::uint64_t id) const noexcept {
    return static_cast<std::size_t>((id * 0x9E3779B97F4A7C15ULL) >> shift_) & mask_;
  }

  void grow() {
    const std::size_t capacity = slots_.empty() ? 16 : slots_.size() * 2;
    std::vector<slot> old(capacity);
    old.swap(slots_);
    mask_ = capacity - 1;
    shift_ = 64;
    for (std::size_t c = capacity; c > 1; c >>= 1) --shift_;
    for (slot& s : old) {
      if (s.id == kNone) continue;
      std::size_t i = home(s.id);
      while (slots_[i].id != kNone) i = (i + 1) & mask_;
      slots_[i].id = s.id;
      slots_[i].value = std::move(s.value);
    }
  }

  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
  std::size_t size_ = 0;
};

}  // namespace vr
