// Small helpers shared by the libFuzzer targets in this folder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace vr::fuzz {

// A failed oracle is a crash, so libFuzzer saves the input that caused it.
inline void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz oracle failed: %s\n", what);
  std::abort();
}

// Chunk sizes for feeding a stream in pieces: a tiny generator seeded from the input, so the
// pieces are reproducible without spending the stream's own bytes on them. Mostly small pieces
// (header and payload boundaries fall anywhere), sometimes large ones.
class chunker {
 public:
  explicit chunker(std::uint64_t seed) : state_(seed * 0x9e3779b97f4a7c15ull + 1) {}

  std::size_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    switch (state_ & 3) {
      case 0: return 1;
      case 1: return 1 + (state_ >> 8) % 8;
      case 2: return 1 + (state_ >> 8) % 256;
      default: return 1 + (state_ >> 8) % 8192;
    }
  }

 private:
  std::uint64_t state_;
};

// Reads one byte past each view's end plus `padding` - 1, so ASan reports a view whose promised
// padding is not there.
inline void touch_padding(std::string_view view, std::size_t padding) {
  if (view.data() == nullptr) return;
  volatile char c = view.data()[view.size() + padding - 1];
  (void)c;
}

}  // namespace vr::fuzz
