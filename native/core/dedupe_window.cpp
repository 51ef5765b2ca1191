// dedupe_window (live_codec.h): the live dialect's memory of recently delivered events, by key.
#include <algorithm>

#include "core/live_codec.h"

namespace vr {

dedupe_window::dedupe_window(std::size_t capacity) : ring_(capacity, 0) {
  if (capacity == 0) return;
  std::size_t slots = 2;
  while (slots < capacity * 2) slots *= 2;  // load factor <= 1/2 keeps probes short
  table_.assign(slots, 0);
  mask_ = slots - 1;
}

std::size_t dedupe_window::home(std::uint64_t key) const noexcept {
  // splitmix64 finaliser: keys built by hand (tests, emulator) must spread too.
  key ^= key >> 30;
  key *= 0xbf58476d1ce4e5b9ull;
  key ^= key >> 27;
  key *= 0x94d049bb133111ebull;
  key ^= key >> 31;
  return static_cast<std::size_t>(key) & mask_;
}

// Runs on the client's io thread.
bool dedupe_window::seen_recently(std::uint64_t key) {
  if (key == 0 || ring_.empty()) return false;
  std::size_t i = home(key);
  while (table_[i] != 0) {
    if (table_[i] == key) return true;
    i = (i + 1) & mask_;
  }
  if (size_ == ring_.size()) {
    erase(ring_[next_]);
    --size_;
    // erasing shifts entries back, so the free slot found above may have moved
    i = home(key);
    while (table_[i] != 0) i = (i + 1) & mask_;
  }
  table_[i] = key;
  ring_[next_] = key;
  next_ = (next_ + 1) % ring_.size();
  ++size_;
  return false;
}

void dedupe_window::erase(std::uint64_t key) {
  std::size_t hole = home(key);
  while (table_[hole] != key) hole = (hole + 1) & mask_;
  // Backward-shift deletion: later entries of the probe run move into the hole when their home
  // slot is not between the hole and where they sit, so no tombstones are needed.
  std::size_t j = hole;
  for (;;) {
    j = (j + 1) & mask_;
    const std::uint64_t k = table_[j];
    if (k == 0) break;
    if (((j - home(k)) & mask_) >= ((j - hole) & mask_)) {
      table_[hole] = k;
      hole = j;
    }
  }
  table_[hole] = 0;
}

void dedupe_window::clear() {
  std::fill(table_.begin(), table_.end(), 0);
  std::fill(ring_.begin(), ring_.end(), 0);
  next_ = 0;
  size_ = 0;
}

}  // namespace vr
