#include "core/prefilter.h"

#include "core/live_codec.h"

#include <array>
#include <bit>
#include <cstdint>

#if VR_PREFILTER_SSE2
#include <emmintrin.h>
#endif

namespace vr {

namespace {

constexpr bool is_json_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

const char* skip_space(const char* p, const char* end) noexcept {
  while (p < end && is_json_space(*p)) ++p;
  return p;
}

constexpr auto kByteClass = [] {
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

constexpr std::size_t kChunk = 64;

// Bytes from n on are never read and their bits stay clear, which is how a short tail is handled.
chunk_masks classify_scalar(const char* p, std::size_t n) noexcept {
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

const char* find_quote_or_backslash_scalar(const char* p, const char* end) noexcept {
  for (; p < end; ++p) {
    if (*p == '"' || *p == '\\') return p;
  }
  return nullptr;
}

#if VR_PREFILTER_SSE2
std::uint32_t bits_of(__m128i eq) noexcept {
  return static_cast<std::uint32_t>(_mm_movemask_epi8(eq));
}

// Exactly 16 readable bytes at p; their bits are placed from bit `shift` on.
void classify_sse2(const char* p, unsigned shift, chunk_masks& m) noexcept {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // '[' / '{' and ']' / '}' differ only in bit 0x20, so one compare finds both of a pair.
  const __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
  m.quote |= std::uint64_t{bits_of(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')))} << shift;
  m.backslash |= std::uint64_t{bits_of(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')))} << shift;
  m.open |= std::uint64_t{bits_of(_mm_cmpeq_epi8(folded, _mm_set1_epi8('{')))} << shift;
  m.close |= std::uint64_t{bits_of(_mm_cmpeq_epi8(folded, _mm_set1_epi8('}')))} << shift;
}

const char* find_quote_or_backslash_sse2(const char* p, const char* end) noexcept {
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
const char* skip_nested_scalar(const char* p, const char* end) noexcept {
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
const char* skip_atom(const char* p, const char* end) noexcept {
  const char* const start = p;
  while (p < end && *p != ',' && *p != '}' && !is_json_space(*p)) ++p;
  return p == start ? nullptr : p;
}

// One top-level member as walk_members sees it.
struct member {
  std::string_view key;    // raw: a key with a backslash ends the walk before it is visited
  bool string = false;     // the value is a string...
  bool escaped = false;    // ...with a backslash in it
  std::string_view text;   // string values: the raw text between the quotes
};

// Walks the members of a top-level object, calling visit(const member&) for each; a visit that
// returns false ends the walk. Returns true when every member was visited and the object closed
// with nothing but whitespace after it. Values other than strings are delimited, not checked.
template <bool Simd, typename Visit>
bool walk_members(const char* data, std::size_t size, Visit&& visit) noexcept {
  if (!data) return false;
  const char* const end = data + size;
  const char* p = skip_space(data, end);
  if (p == end || *p != '{') return false;
  p = skip_space(p + 1, end);
  for (;;) {
    if (p == end || *p != '"') return false;
    const char* const key = p + 1;
    const char* const key_end = find_quote_or_backslash<Simd>(key, end);
    // An escaped key could spell any name once decoded.
    if (!key_end || *key_end == '\\') return false;
    member m;
    m.key = std::string_view(key, static_cast<std::size_t>(key_end - key));
    p = skip_space(key_end + 1, end);
    if (p == end || *p != ':') return false;
    p = skip_space(p + 1, end);
    if (p == end) return false;
    if (*p == '"') {
      const char* const value = p + 1;
      const char* const close = string_end<Simd>(value, end, m.escaped);
      if (!close) return false;
      m.string = true;
      m.text = std::string_view(value, static_cast<std::size_t>(close - value));
      p = close + 1;
    } else {
      p = (*p == '{' || *p == '[') ? skip_nested<Simd>(data, p, end) : skip_atom(p, end);
      if (!p) return false;
    }
    if (!visit(static_cast<const member&>(m))) return false;
    p = skip_space(p, end);
    if (p == end) return false;
    if (*p == '}') break;
    if (*p != ',') return false;
    p = skip_space(p + 1, end);
  }
  return skip_space(p + 1, end) == end;
}

template <bool Simd>
topic_peek peek(const char* data, std::size_t size) noexcept {
  std::string_view topic;
  bool have_topic = false, have_event_type = false;
  const bool walked = walk_members<Simd>(data, size, [&](const member& m) {
    if (m.key == "topic") {
      // The codec keeps the last of repeated members; with one there is nothing to choose.
      if (!m.string || have_topic || m.escaped) return false;
      have_topic = true;
      topic = m.text;
    } else if (m.key == "event_type") {
      if (!m.string) return false;
      have_event_type = true;
    } else if (m.key == "type") {
      // The codec looks at type first, and escapes could spell "ack".
      if (!m.string || m.escaped || m.text == "ack" || m.text == "error") return false;
    }
    return true;
  });
  topic_peek out;
  if (!walked || !have_topic || !have_event_type) return out;
  out.event = true;
  out.topic = topic;
  return out;
}

template <bool Simd>
live_peek peek_live(const char* data, std::size_t size) noexcept {
  live_peek out;
  live_kind_marks marks;
  // Each routing key at most once: classify() keeps the last of repeated keys, and one is all
  // this needs to agree with it.
  bool seen[4] = {};
  std::string_view* const values[4] = {&out.customer_id, &out.id, &out.owner_type, &out.owner_id};
  const bool walked = walk_members<Simd>(data, size, [&](const member& m) {
    int routing = -1;
    if (m.key == "customer_id") routing = 0;
    else if (m.key == "id") routing = 1;
    else if (m.key == "owner_type") routing = 2;
    else if (m.key == "owner_id") routing = 3;
    // An envelope: the full parse decides. (A "type" member is left alone: with id and
    // customer_id beside it the frame is neither a wrapper, which has two members, nor a
    // control frame, which has neither; a call's own "type" is its kind of call.)
    else if (m.key == "event_type") return false;
    if (routing < 0) {
      marks.add(m.key);
      return true;
    }
    if (!m.string || m.escaped || seen[routing]) return false;
    seen[routing] = true;
    *values[routing] = m.text;
    return true;
  });
  if (!walked || !seen[0] || !seen[1]) return live_peek{};
  out.resource = marks.resource();
  if (out.resource.empty()) return live_peek{};
  return out;
}

}  // namespace

// Runs on the io thread.
topic_peek peek_event_topic(const char* data, std::size_t size) noexcept {
  return peek<detail::prefilter_uses_sse2>(data, size);
}

// Runs on the io thread (or a test's).
topic_peek detail::peek_event_topic_scalar(const char* data, std::size_t size) noexcept {
  return peek<false>(data, size);
}

// Runs on the io thread.
live_peek peek_live_resource(const char* data, std::size_t size) noexcept {
  return peek_live<detail::prefilter_uses_sse2>(data, size);
}

// Runs on the io thread (or a test's).
live_peek detail::peek_live_resource_scalar(const char* data, std::size_t size) noexcept {
  return peek_live<false>(data, size);
}

}  // namespace vr
