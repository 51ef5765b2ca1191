// UUIDs as the matcher keeps them: 36 characters of lower-case text packed into 16 bytes and
// back. Every event's resource id is packed once on the io thread (topic_matcher::matches), so
// the packing has a 16-byte SIMD form (SSSE3, chosen when the library loads) beside the portable
// one; both give the same answer for every input, which the unit tests check byte by byte.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

// As in prefilter.h: the SIMD form wherever the compiler targets SSE2 (every x86-64), unless a
// build asks for the portable code (the second Catch2 binary).
#if defined(__SSE2__) && !defined(VR_FORCE_SCALAR)
#define VR_UUID_SSSE3 1
#include <emmintrin.h>
#include <tmmintrin.h>
#else
#define VR_UUID_SSSE3 0
#endif

namespace vr::uuid_text {

inline std::uint64_t load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline std::uint32_t load32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline constexpr std::uint64_t kOnes = 0x0101010101010101ull;
inline constexpr std::uint64_t kHighs = 0x8080808080808080ull;

// High bit set in each byte of `w` that lies strictly between lo and hi (both below 128).
constexpr std::uint64_t bytes_between(std::uint64_t w, unsigned lo, unsigned hi) noexcept {
  const std::uint64_t low = w & ~kHighs;
  return (kOnes * (127 + hi) - low) & ~w & (low + kOnes * (127 - lo)) & kHighs;
}

// Eight lower-case hex digits to 32 bits, false when one is not [0-9a-f]. Digit i ends up in
// bits 4i..4i+3, which unpack_hex8 reverses.
inline bool pack_hex8(std::uint64_t w, std::uint64_t& out) noexcept {
  if ((bytes_between(w, '0' - 1, '9' + 1) | bytes_between(w, 'a' - 1, 'f' + 1)) != kHighs)
    return false;
  std::uint64_t x = (w & 0x0F0F0F0F0F0F0F0Full) + 9 * ((w >> 6) & kOnes);
  x = (x | (x >> 4)) & 0x00FF00FF00FF00FFull;
  x = (x | (x >> 8)) & 0x0000FFFF0000FFFFull;
  out = (x | (x >> 16)) & 0xFFFFFFFFull;
  return true;
}

// The shape every packing checks first: 36 characters, hyphens at 8, 13, 18 and 23.
inline bool uuid_shape(std::string_view s) noexcept {
  return s.size() == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-';
}

// The 32 digits of a UUID-shaped text in 16 bytes, byte k holding digit 2k in its low half and
// digit 2k + 1 in its high half; false when a digit is not [0-9a-f] (upper case included, so
// that a packed id always unpacks to the exact characters it came from). Portable form: the
// digits as four 8-digit words, read straight from the text (gathering them into a buffer
// first made each 8-byte load wait on the narrower stores before it).
inline bool pack_digits_portable(const char* p, std::uint64_t out[2]) noexcept {
  const std::uint64_t words[4] = {load64(p), load32(p + 9) | (std::uint64_t{load32(p + 14)} << 32),
                                  load32(p + 19) | (std::uint64_t{load32(p + 24)} << 32), load64(p + 28)};
  std::uint64_t q[4];
  for (int i = 0; i < 4; ++i)
    if (!pack_hex8(words[i], q[i])) return false;
  out[0] = q[0] | (q[1] << 32);
  out[1] = q[2] | (q[3] << 32);
  return true;
}

#if VR_UUID_SSSE3
// Bit i set when byte i of the 16 at `p` is a hex digit of either case. Signed compares: a byte
// of 0x80 or more is negative and falls outside both ranges; OR 0x20 maps only 'A'-'F' onto
// 'a'-'f'. SSE2, which every x86-64 has.
inline unsigned hex_mask16(const char* p) noexcept {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
  const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
  const __m128i alpha =
      _mm_and_si128(_mm_cmpgt_epi8(folded, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(folded, _mm_set1_epi8('f' + 1)));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(digit, alpha)));
}

// Whether the 32 digit places of a UUID-shaped text (uuid_shape) hold hex digits of either case:
// three overlapping 16-byte loads (characters 0-15, 16-31, 20-35), each place but the hyphens'.
inline bool hex_digits_sse2(const char* p) noexcept {
  return hex_mask16(p) == 0xDEFF &&        // hyphens at 8 and 13
         hex_mask16(p + 16) == 0xFF7B &&   // at 18 and 23
         hex_mask16(p + 20) == 0xFFF7;     // at 23
}

// The same with three 16-byte loads: one byte shuffle per half gathers the 16 digits (the
// hyphens left out), compares check them, and one multiply-add per half joins digit pairs.
__attribute__((target("ssse3"))) inline bool pack_digits_ssse3(const char* p, std::uint64_t out[2]) noexcept {
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));       // characters 0-15
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));  // 16-31
  const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 20));  // 20-35
  // -1 in a shuffle mask gives a zero byte, so the two shuffles of each half can be ORed.
  const __m128i first = _mm_or_si128(
      _mm_shuffle_epi8(a, _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, -1, -1)),
      _mm_shuffle_epi8(b, _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 1)));
  const __m128i second = _mm_or_si128(
      _mm_shuffle_epi8(b, _mm_setr_epi8(3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1)),
      _mm_shuffle_epi8(c, _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 12, 13, 14, 15)));
  // Signed compares: a byte of 0x80 and above is negative and falls outside both ranges.
  const auto hex_digits = [](__m128i x) {
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
    const __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(x, _mm_set1_epi8('f' + 1)));
    return _mm_or_si128(digit, letter);
  };
  if (_mm_movemask_epi8(_mm_and_si128(hex_digits(first), hex_digits(second))) != 0xFFFF) return false;
  // '0'-'9' keep their low four bits; 'a'-'f' (low bits 1-6) gain 9.
  const auto values = [](__m128i x) {
    const __m128i nine = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('9')), _mm_set1_epi8(9));
    return _mm_add_epi8(_mm_and_si128(x, _mm_set1_epi8(0x0F)), nine);
  };
  // Each 16-bit lane: the even digit times 1 plus the odd digit times 16, then narrowed to bytes.
  const __m128i weights = _mm_set1_epi16(0x1001);
  const __m128i packed = _mm_packus_epi16(_mm_maddubs_epi16(values(first), weights),
                                          _mm_maddubs_epi16(values(second), weights));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), packed);
  return true;
}

// Whether this processor runs pack_digits_ssse3; read once, when the library loads.
inline const bool kHaveSsse3 = __builtin_cpu_supports("ssse3");
#endif

// A lower-case UUID in 16 bytes; false for anything else.
inline bool pack(std::string_view s, std::uint64_t out[2]) noexcept {
  if (!uuid_shape(s)) return false;
#if VR_UUID_SSSE3
  if (kHaveSsse3) return pack_digits_ssse3(s.data(), out);
#endif
  return pack_digits_portable(s.data(), out);
}

inline void unpack_hex8(std::uint64_t v, char* out) noexcept {
  for (int i = 0; i < 8; ++i) out[i] = "0123456789abcdef"[(v >> (4 * i)) & 15];
}

// The text pack() took: appended to `out`.
inline void unpack(const std::uint64_t in[2], std::string& out) {
  char digits[32];
  unpack_hex8(in[0] & 0xFFFFFFFFu, digits);
  unpack_hex8(in[0] >> 32, digits + 8);
  unpack_hex8(in[1] & 0xFFFFFFFFu, digits + 16);
  unpack_hex8(in[1] >> 32, digits + 24);
  out.append(digits, 8).push_back('-');
  out.append(digits + 8, 4).push_back('-');
  out.append(digits + 12, 4).push_back('-');
  out.append(digits + 16, 4).push_back('-');
  out.append(digits + 20, 12);
}

}  // namespace vr::uuid_text
