// The whole frame classified up front, for the prefilter's SSE2 build (prefilter.cpp): one mask
// word per 64 bytes for quotes and one for brackets, from loads that depend on nothing, so the
// processor overlaps them (16-byte compares, or 32-byte ones where the processor has AVX2). The
// walk then finds each string's end by clearing the lowest bit of a word it already holds, not by
// a load and compare at an address it has just computed: no chain of dependent loads from one
// member to the next. Only frames without a backslash are indexed: there every quote opens or
// closes a string, so the walk over the index meets exactly the quotes and brackets the chunked
// walk meets.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/prefilter_scan.h"

#if VR_PREFILTER_SSE2
#include <immintrin.h>
#endif

namespace vr::prefilter_scan {

#if VR_PREFILTER_SSE2

class frame_index {
 public:
  // Frames from one chunk up to this size are indexed; shorter ones (control frames) and longer
  // ones take the chunk-by-chunk walk.
  static constexpr std::size_t kMinBytes = kChunk;
  static constexpr std::size_t kMaxBytes = 2048;
  static constexpr std::size_t npos = ~std::size_t{0};

  // Classifies [data, data + size), kMinBytes <= size <= kMaxBytes. Returns false when the frame
  // has a backslash (then nothing in the index may be used).
  bool build(const char* data, std::size_t size) noexcept {
    data_ = data;
    words_ = (size + kChunk - 1) / kChunk;
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    // '[' / '{' and ']' / '}' differ only in bit 0x20, so one compare finds both of a pair.
    const __m128i case_bit = _mm_set1_epi8(0x20);
    const __m128i open = _mm_set1_epi8('{');
    const __m128i close = _mm_set1_epi8('}');
    __m128i any_backslash = _mm_setzero_si128();
    for (std::size_t w = 0; w < words_; ++w) {
      unsigned drop;
      const char* const at = word_bytes(w, size, drop);
      std::uint64_t quotes = 0, brackets = 0;
      for (unsigned i = 0; i < kChunk; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at + i));
        const __m128i folded = _mm_or_si128(v, case_bit);
        quotes |= std::uint64_t{bits_of(_mm_cmpeq_epi8(v, quote))} << i;
        brackets |= std::uint64_t{bits_of(_mm_or_si128(_mm_cmpeq_epi8(folded, open), _mm_cmpeq_epi8(folded, close)))}
                    << i;
        any_backslash = _mm_or_si128(any_backslash, _mm_cmpeq_epi8(v, backslash));
      }
      quote_[w] = quotes >> drop;
      bracket_[w] = brackets >> drop;
    }
    return _mm_movemask_epi8(any_backslash) == 0;
  }

  // build() with 32-byte compares, for processors that have AVX2.
  __attribute__((target("avx2"))) bool build_avx2(const char* data, std::size_t size) noexcept {
    data_ = data;
    words_ = (size + kChunk - 1) / kChunk;
    const __m256i quote = _mm256_set1_epi8('"');
    const __m256i backslash = _mm256_set1_epi8('\\');
    const __m256i case_bit = _mm256_set1_epi8(0x20);
    const __m256i open = _mm256_set1_epi8('{');
    const __m256i close = _mm256_set1_epi8('}');
    __m256i any_backslash = _mm256_setzero_si256();
    for (std::size_t w = 0; w < words_; ++w) {
      unsigned drop;
      const char* const at = word_bytes(w, size, drop);
      const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at));
      const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at + 32));
      const __m256i flo = _mm256_or_si256(lo, case_bit), fhi = _mm256_or_si256(hi, case_bit);
      const std::uint64_t quotes = mask(_mm256_cmpeq_epi8(lo, quote)) | mask(_mm256_cmpeq_epi8(hi, quote)) << 32;
      const std::uint64_t brackets =
          mask(_mm256_or_si256(_mm256_cmpeq_epi8(flo, open), _mm256_cmpeq_epi8(flo, close))) |
          mask(_mm256_or_si256(_mm256_cmpeq_epi8(fhi, open), _mm256_cmpeq_epi8(fhi, close))) << 32;
      any_backslash = _mm256_or_si256(any_backslash, _mm256_or_si256(_mm256_cmpeq_epi8(lo, backslash),
                                                                     _mm256_cmpeq_epi8(hi, backslash)));
      quote_[w] = quotes >> drop;
      bracket_[w] = brackets >> drop;
    }
    return _mm256_testz_si256(any_backslash, any_backslash) != 0;
  }

  // The quotes of the frame in order, from a position on.
  class quote_cursor {
   public:
    explicit quote_cursor(const frame_index& index) noexcept : index_(index) {}

    // The next quote found is the first at or after pos.
    void seek(std::size_t pos) noexcept {
      word_ = pos / kChunk;
      bits_ = word_ < index_.words_ ? index_.quote_[word_] & (~std::uint64_t{0} << (pos % kChunk)) : 0;
    }

    // The position of the next quote, which is then passed; npos when there is none.
    std::size_t next() noexcept {
      while (bits_ == 0) {
        if (++word_ >= index_.words_) {
          word_ = index_.words_;
          return npos;
        }
        bits_ = index_.quote_[word_];
      }
      const std::size_t pos = word_ * kChunk + static_cast<std::size_t>(std::countr_zero(bits_));
      bits_ &= bits_ - 1;
      return pos;
    }

   private:
    const frame_index& index_;
    std::size_t word_ = 0;
    std::uint64_t bits_ = 0;
  };

  // `pos` holds the '{' or '[' opening a nested value, outside any string. Returns the position
  // just past the bracket that closes it, npos when the frame ends first. Brackets are counted,
  // not paired, as skip_nested does.
  std::size_t skip_nested(std::size_t pos) const noexcept {
    std::size_t depth = 0;
    bool in_string = false;
    for (std::size_t w = pos / kChunk; w < words_; ++w) {
      std::uint64_t from = ~std::uint64_t{0};
      if (w == pos / kChunk) from <<= pos % kChunk;
      std::uint64_t inside = prefix_xor(quote_[w] & from);
      if (in_string) inside = ~inside;
      in_string = (inside >> 63) != 0;
      // Brackets are few; which kind each is, is read from the frame.
      for (std::uint64_t bits = bracket_[w] & from & ~inside; bits; bits &= bits - 1) {
        const std::size_t at = w * kChunk + static_cast<std::size_t>(std::countr_zero(bits));
        if ((data_[at] | 0x20) == '{') {
          ++depth;
        } else if (--depth == 0) {
          return at + 1;
        }
      }
    }
    return npos;
  }

 private:
  // The 64 bytes word w is classified from: the word itself, or, for a short last word, the 64
  // bytes that end the frame, read again from inside it; `drop` is then how many of their bits
  // the word before already holds.
  const char* word_bytes(std::size_t w, std::size_t size, unsigned& drop) const noexcept {
    if (w * kChunk + kChunk <= size) {
      drop = 0;
      return data_ + w * kChunk;
    }
    drop = static_cast<unsigned>(w * kChunk + kChunk - size);
    return data_ + size - kChunk;
  }

  // The 32 bits of one 32-byte compare.
  __attribute__((target("avx2"))) static std::uint64_t mask(__m256i v) noexcept {
    return std::uint64_t{static_cast<std::uint32_t>(_mm256_movemask_epi8(v))};
  }

  static constexpr std::size_t kWords = kMaxBytes / kChunk;
  const char* data_ = nullptr;
  std::size_t words_ = 0;
  // Bit i of word w is byte 64 * w + i; bits past the frame's end are clear. Left uninitialised:
  // build() writes every word the walk reads.
  std::uint64_t quote_[kWords];
  std::uint64_t bracket_[kWords];  // '{', '[', '}' and ']'
};

#endif

}  // namespace vr::prefilter_scan
