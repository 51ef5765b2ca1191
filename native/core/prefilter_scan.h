// The byte-level scanning under the prefilter's walks (prefilter.cpp): 64-byte chunk masks of
// quotes, backslashes and brackets, string ends, and skipping a nested value, each with an SSE2
// form and a portable one. Internal to the prefilter; nothing here validates JSON.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "core/prefilter.h"

#if VR_PREFILTER_SSE2
#include <emmintrin.h>
#endif

namespace vr::prefilter_scan {

constexpr bool is_json_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

inline const char* skip_space(const char* p, const char* end) noexcept {
  while (p < end && is_json_space(*p)) ++p;
  return p;
}

inline constexpr auto kByteClass = [] {
  std::array<unsigned char, 256> table{};
  table[static_cast<unsigned char>('"')] = 1;
  table[static_cast<unsigned char>('\\')] = 2;
  table[static_cast<unsigned char>('{')] = table[static_cast<unsigned char>('[')] = 3;
  table[static_cast<unsigned char>('}')] = table[static_cast<unsigned char>(']')] = 4;
  return table;
}();

// Bit i of each mask describes byte i of a chunk of at most 64 bytes.
struct chunk_masks {
  std::uint64_t quote = 0, backslash = 0, open = 0, close = 0;
};

inline constexpr std::size_t kChunk = 64;

// Bytes from n on are never read and their bits stay clear, which is how a short tail is handled.
inline chunk_masks classify_scalar(const char* p, std::size_t n) noexcept {
  // Index 0 collects the bytes of no interest; a lookup instead of branches avoids
  // mispredictions on the tails of the SSE2 path.
  std::uint64_t masks[5] = {};
  for (std::size_t i = 0; i < n; ++i) {
    masks[kByteClass[static_cast<unsigned char>(p[i])]] |= std::uint64_t{1} << i;
  }
  chunk_masks m;
  m.quote = masks[1];
  m.backslash = masks[2];
  m.open = masks[3];
  m.close = masks[4];
  return m;
}

inline const char* find_quote_or_backslash_scalar(const char* p, const char* end) noexcept {
  for (; p < end; ++p) {
    if (*p == '"' || *p == '\\') return p;
  }
  return nullptr;
}

#if VR_PREFILTER_SSE2
inline std::uint32_t bits_of(__m128i eq) noexcept {
  return static_cast<std::uint32_t>(_mm_movemask_epi8(eq));
}

// Exactly 16 readable bytes at p; their bits are placed from bit `shift` on.
inline void classify_sse2(const char* p, unsigned shift, chunk_masks& m) noexcept {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // '[' / '{' and ']' / '}' differ only in bit 0x20, so one compare finds both of a pair.
  const __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
  m.quote |= std::uint64_t{bits_of(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')))} << shift;
  m.backslash |= std::uint64_t{bits_of(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')))} << shift;
  m.open |= std::uint64_t{bits_of(_mm_cmpeq_epi8(folded, _mm_set1_epi8('{')))} << shift;
  m.close |= std::uint64_t{bits_of(_mm_cmpeq_epi8(folded, _mm_set1_epi8('}')))} << shift;
}

inline const char* find_quote_or_backslash_sse2(const char* p, const char* end) noexcept {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const std::uint32_t bits =
        bits_of(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    if (bits) return p + std::countr_zero(bits);
    p += 16;
  }
  return find_quote_or_backslash_scalar(p, end);
}
#endif

// Masks of the 64 bytes at p: four SSE2 blocks.
template <bool Simd>
chunk_masks classify_full_chunk(const char* p) noexcept {
#if VR_PREFILTER_SSE2
  if constexpr (Simd) {
    chunk_masks m;
    for (unsigned i = 0; i < kChunk; i += 16) classify_sse2(p + i, i, m);
    return m;
  }
#endif
  return classify_scalar(p, kChunk);
}

// n <= kChunk bytes at p: whole 16-byte blocks with SSE2, the rest byte by byte.
template <bool Simd>
chunk_masks classify_chunk(const char* p, std::size_t n) noexcept {
#if VR_PREFILTER_SSE2
  if constexpr (Simd) {
    if (n == kChunk) return classify_full_chunk<Simd>(p);
    chunk_masks m;
    std::size_t i = 0;
    for (; n - i >= 16; i += 16) classify_sse2(p + i, static_cast<unsigned>(i), m);
    if (i < n) {
      const chunk_masks tail = classify_scalar(p + i, n - i);
      m.quote |= tail.quote << i;
      m.backslash |= tail.backslash << i;
      m.open |= tail.open << i;
      m.close |= tail.close << i;
    }
    return m;
  }
#endif
  return classify_scalar(p, n);
}

template <bool Simd>
const char* find_quote_or_backslash(const char* p, const char* end) noexcept {
#if VR_PREFILTER_SSE2
  if constexpr (Simd) return find_quote_or_backslash_sse2(p, end);
#endif
  return find_quote_or_backslash_scalar(p, end);
}

// `p` is just past an opening quote. Returns the closing quote (nullptr when the input ends
// first); `escaped` tells whether the string had any backslash.
template <bool Simd>
const char* string_end(const char* p, const char* end, bool& escaped) noexcept {
  for (;;) {
    p = find_quote_or_backslash<Simd>(p, end);
    if (!p || *p == '"') return p;
    escaped = true;
    // A backslash takes the next byte with it, whatever it is.
    if (end - p <= 2) return nullptr;
    p += 2;
  }
}

// Bit i set when bits 0..i of `quotes` hold an odd count: inside a string that opened in
// this chunk (its opening quote included, its closing quote not).
constexpr std::uint64_t prefix_xor(std::uint64_t quotes) noexcept {
  quotes ^= quotes << 1;
  quotes ^= quotes << 2;
  quotes ^= quotes << 4;
  quotes ^= quotes << 8;
  quotes ^= quotes << 16;
  quotes ^= quotes << 32;
  return quotes;
}

// std::popcount is a library call on baseline x86-64, which has no POPCNT.
constexpr std::size_t count_bits(std::uint64_t x) noexcept {
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<std::size_t>((x * 0x0101010101010101ull) >> 56);
}

// `p` is at the '{' or '[' opening a nested value; returns just past the bracket that closes it
// (nullptr when the input ends first). Brackets are only counted, not paired: mismatched ones
// are invalid JSON, which the full codec refuses on its own.
// The same walk a byte at a time: without SIMD, building the chunk masks costs more than it saves.
inline const char* skip_nested_scalar(const char* p, const char* end) noexcept {
  std::size_t depth = 0;
  bool in_string = false;
  for (; p < end; ++p) {
    const char c = *p;
    if (in_string) {
      if (c == '\\') {
        if (++p == end) break;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return p + 1;
    }
  }
  return nullptr;
}

// `begin` is the start of the frame: bytes from there on may be read again, which lets the last,
// short chunk be classified as the 64 bytes that end with it.
template <bool Simd>
const char* skip_nested(const char* begin, const char* p, const char* end) noexcept {
  if constexpr (!Simd) return skip_nested_scalar(p, end);
  std::size_t depth = 0;
  bool in_string = false;
  bool escape_carried = false;  // the last byte of the previous chunk was an escaping backslash
  for (const char* chunk = p; chunk < end; chunk += kChunk) {
    const auto left = static_cast<std::size_t>(end - chunk);
    const std::size_t n = left < kChunk ? left : kChunk;
    chunk_masks m;
    if (n == kChunk || end - begin < static_cast<std::ptrdiff_t>(kChunk)) {
      m = classify_chunk<Simd>(chunk, n);
    } else {
      // The bits of bytes before `chunk` are shifted out: they were classified already.
      m = classify_full_chunk<Simd>(end - kChunk);
      const unsigned drop = static_cast<unsigned>(kChunk - n);
      m.quote >>= drop;
      m.backslash >>= drop;
      m.open >>= drop;
      m.close >>= drop;
    }
    if (m.backslash == 0 && !escape_carried) {
      // Most chunks: no escapes, so which brackets lie outside strings follows from the
      // quotes alone, and a chunk that cannot close the value is passed over whole.
      std::uint64_t inside = prefix_xor(m.quote);
      if (in_string) inside = ~inside;
      const std::uint64_t open = m.open & ~inside, close = m.close & ~inside;
      // The last bit is the chunk's last byte, past which no string opened here has closed.
      in_string = (inside >> 63) != 0;
      if (close == 0) {
        depth += count_bits(open);
      } else if (const std::size_t closes = count_bits(close); closes < depth) {
        depth = depth + count_bits(open) - closes;
      } else {
        for (std::uint64_t bits = open | close; bits; bits &= bits - 1) {
          const int i = std::countr_zero(bits);
          if (open & (std::uint64_t{1} << i)) {
            ++depth;
          } else if (--depth == 0) {
            return chunk + i + 1;
          }
        }
      }
    } else {
      std::uint64_t bits = m.quote | m.backslash | m.open | m.close;
      if (escape_carried) bits &= ~std::uint64_t{1};
      escape_carried = false;
      while (bits) {
        const int i = std::countr_zero(bits);
        const std::uint64_t bit = std::uint64_t{1} << i;
        bits &= bits - 1;
        if (in_string) {
          if (m.backslash & bit) {
            bits &= ~(bit << 1);
            escape_carried = i == 63;
          } else if (m.quote & bit) {
            in_string = false;
          }
        } else if (m.quote & bit) {
          in_string = true;
        } else if (m.open & bit) {
          ++depth;
        } else if ((m.close & bit) && --depth == 0) {
          return chunk + i + 1;
        }
      }
    }
    if (n < kChunk) break;
  }
  return nullptr;
}

// A number, true, false or null; not checked, only delimited.
inline const char* skip_atom(const char* p, const char* end) noexcept {
  const char* const start = p;
  while (p < end && *p != ',' && *p != '}' && !is_json_space(*p)) ++p;
  return p == start ? nullptr : p;
}

}  // namespace vr::prefilter_scan
