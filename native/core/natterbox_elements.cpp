// The texts of a `response` frame's elements, taken from the frame (natterbox_cti.h): an element
// already in the minifier's form is handed on as it came instead of being serialised again.
//
// The scan runs only over frames simdjson's DOM parser has accepted, so it may trust the text to
// be valid JSON; it still never reads past the frame and gives up (false) on anything it does not
// expect.
#include <array>
#include <cstdint>
#include <cstring>

#include "core/natterbox_cti.h"

// Strings are skipped 16 bytes at a time with SSE2 (every x86-64), 8 at a time elsewhere and in
// builds with VR_FORCE_SCALAR.
#if defined(__SSE2__) && !defined(VR_FORCE_SCALAR)
#define VR_ELEMENTS_SSE2 1
#include <emmintrin.h>
#else
#define VR_ELEMENTS_SSE2 0
#endif

namespace vr {

namespace {

enum : std::uint8_t { k_other = 0, k_space, k_quote, k_open, k_close, k_number };

constexpr std::array<std::uint8_t, 256> kClass = [] {
  std::array<std::uint8_t, 256> t{};
  t[' '] = t['\t'] = t['\n'] = t['\r'] = k_space;
  t['"'] = k_quote;
  t['{'] = t['['] = k_open;
  t['}'] = t[']'] = k_close;
  t['-'] = k_number;
  for (int c = '0'; c <= '9'; ++c) t[c] = k_number;
  return t;
}();

#if !VR_ELEMENTS_SSE2
constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighs = 0x8080808080808080ULL;

// Non-zero when one of the 8 bytes of `v` is a quote or a backslash.
inline std::uint64_t quote_or_backslash(std::uint64_t v) {
  const std::uint64_t q = v ^ (kOnes * '"');
  const std::uint64_t b = v ^ (kOnes * '\\');
  return ((q - kOnes) & ~q & kHighs) | ((b - kOnes) & ~b & kHighs);
}
#endif

// `p` just after an opening quote: past the closing one, or null. An escape clears `plain`.
inline const char* string_end(const char* p, const char* end, bool& plain) {
  for (;;) {
#if VR_ELEMENTS_SSE2
    while (end - p >= 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const unsigned hit = static_cast<unsigned>(_mm_movemask_epi8(
          _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')))));
      if (hit) {
        p += __builtin_ctz(hit);
        goto found;
      }
      p += 16;
    }
#else
    while (end - p >= 8) {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      if (const std::uint64_t hit = quote_or_backslash(v)) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        // The first flagged byte is exact (a false flag only ever follows a true one).
        p += static_cast<unsigned>(__builtin_ctzll(hit)) / 8;
        goto found;
#else
        break;
#endif
      }
      p += 8;
    }
#endif
    while (p < end && *p != '"' && *p != '\\') ++p;
    if (p >= end) return nullptr;
  found:
    if (*p == '"') return p + 1;
    plain = false;
    p += 2;  // the escaped byte (a \u escape's hex digits hold neither a quote nor a backslash)
    if (p > end) return nullptr;
  }
}

inline bool digit(char c) { return c >= '0' && c <= '9'; }

// A number token: past it. Only an integer of at most 18 digits other than -0 prints back the
// same (the parser stores it as int64); a fraction, an exponent or a longer one clears `plain`.
const char* number_end(const char* p, const char* end, bool& plain) {
  const char* q = p;
  if (*q == '-') ++q;
  const char* digits = q;
  while (q < end && digit(*q)) ++q;
  const std::ptrdiff_t n = q - digits;
  if (q < end && (*q == '.' || *q == 'e' || *q == 'E')) {
    plain = false;
    while (q < end && (digit(*q) || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-')) ++q;
  } else if (n == 0 || n > 18 || (*p == '-' && n == 1 && *digits == '0')) {
    plain = false;
  }
  return q;
}

// One value starting at `p` (not whitespace): past it, or null. Whitespace inside it, an escape or
// a number that would print differently clears `plain`.
const char* value_end(const char* p, const char* end, bool& plain) {
  int depth = 0;
  do {
    if (p >= end) return nullptr;
    switch (kClass[static_cast<unsigned char>(*p)]) {
      case k_quote:
        p = string_end(p + 1, end, plain);
        if (!p) return nullptr;
        break;
      case k_open:
        ++depth;
        ++p;
        break;
      case k_close:
        if (depth == 0) return nullptr;
        --depth;
        ++p;
        break;
      case k_space:
        if (depth == 0) return nullptr;
        plain = false;
        ++p;
        break;
      case k_number:
        p = number_end(p, end, plain);
        break;
      default:  // ':' ',' or a literal (true, false, null)
        ++p;
        while (p < end && *p >= 'a' && *p <= 'z') ++p;
        break;
    }
  } while (depth > 0);
  return p;
}

inline const char* skip_space(const char* p, const char* end) {
  while (p < end && kClass[static_cast<unsigned char>(*p)] == k_space) ++p;
  return p;
}

}  // namespace

bool response_element_texts(std::string_view frame, std::vector<element_text>& out) {
  out.clear();
  const char* p = frame.data();
  const char* const end = p + frame.size();
  p = skip_space(p, end);
  if (p == end || *p != '{') return false;
  ++p;
  for (;;) {
    p = skip_space(p, end);
    if (p == end || *p != '"') return false;  // '}' too: no data
    const char* key = p + 1;
    bool plain = true;
    p = string_end(key, end, plain);
    // An escaped key might read "data": the DOM's first "data" could then be another one.
    if (!p || !plain) return false;
    const std::string_view name(key, static_cast<std::size_t>(p - 1 - key));
    p = skip_space(p, end);
    if (p == end || *p != ':') return false;
    p = skip_space(p + 1, end);
    if (name == "data") break;
    bool ignored = true;
    p = value_end(p, end, ignored);
    if (!p) return false;
    p = skip_space(p, end);
    if (p == end || *p != ',') return false;
    ++p;
  }
  if (p == end || *p != '[') return false;
  p = skip_space(p + 1, end);
  if (p != end && *p == ']') return true;
  for (;;) {
    bool plain = true;
    const char* start = p;
    p = value_end(p, end, plain);
    if (!p) return false;
    out.push_back({std::string_view(start, static_cast<std::size_t>(p - start)), plain});
    p = skip_space(p, end);
    if (p == end) return false;
    if (*p == ']') return true;
    if (*p != ',') return false;
    p = skip_space(p + 1, end);
  }
}

}  // namespace vr
