#include "core/prefilter.h"

#include "core/live_codec.h"
#include "core/prefilter_index.h"
#include "core/prefilter_scan.h"

namespace vr {

namespace {

using namespace prefilter_scan;

// One top-level member as walk_members sees it.
struct member {
  std::string_view key;    // raw: a key with a backslash ends the walk before it is visited
  bool string = false;     // the value is a string...
  bool escaped = false;    // ...with a backslash in it
  std::string_view text;   // string values: the raw text between the quotes
};

// The two steps between members, shared by the walks. Forced inline: as calls they cost the live
// peek about a tenth of its time.
//
// From just past a key's closing quote to the first byte of its value; false when there is no ':'
// or nothing after it.
[[gnu::always_inline]] inline bool past_colon(const char*& p, const char* end) noexcept {
  p = skip_space(p, end);
  if (p == end || *p != ':') return false;
  p = skip_space(p + 1, end);
  return p != end;
}

enum class after_value { next_member, end_of_object, invalid };

// From just past a member's value: a comma and the next member (p then at its first byte), or the
// object's closing brace with nothing but whitespace after it.
[[gnu::always_inline]] inline after_value past_value(const char*& p, const char* end) noexcept {
  p = skip_space(p, end);
  if (p == end) return after_value::invalid;
  if (*p == '}') return skip_space(p + 1, end) == end ? after_value::end_of_object : after_value::invalid;
  if (*p != ',') return after_value::invalid;
  p = skip_space(p + 1, end);
  return after_value::next_member;
}

// Walks the members of a top-level object, calling visit(const member&) for each; a visit that
// returns false ends the walk. Returns true when every member was visited and the object closed
// with nothing but whitespace after it. Values other than strings are delimited, not checked.
template <bool Simd, typename Visit>
bool walk_members_chunked(const char* data, std::size_t size, Visit&& visit) noexcept {
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
    p = key_end + 1;
    if (!past_colon(p, end)) return false;
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
    const after_value next = past_value(p, end);
    if (next != after_value::next_member) return next == after_value::end_of_object;
  }
}

#if VR_PREFILTER_SSE2
// walk_members over a frame_index: the same members visited, the same answer. Every quote the
// walk passes is the cursor's next one, because the bytes between (whitespace, ':' and ',') hold
// none; after a nested value or an atom the cursor is moved past it.
template <typename Visit>
bool walk_members_indexed(const char* data, std::size_t size, const frame_index& index,
                          Visit&& visit) noexcept {
  const char* const end = data + size;
  const char* p = skip_space(data, end);
  if (p == end || *p != '{') return false;
  p = skip_space(p + 1, end);
  frame_index::quote_cursor quotes(index);
  quotes.seek(static_cast<std::size_t>(p - data));
  for (;;) {
    if (p == end || *p != '"') return false;
    quotes.next();  // the quote at p
    const std::size_t key_end = quotes.next();
    if (key_end == frame_index::npos) return false;
    member m;
    m.key = std::string_view(p + 1, static_cast<std::size_t>(data + key_end - (p + 1)));
    p = data + key_end + 1;
    if (!past_colon(p, end)) return false;
    if (*p == '"') {
      quotes.next();  // the quote at p
      const std::size_t close = quotes.next();
      if (close == frame_index::npos) return false;
      m.string = true;
      m.text = std::string_view(p + 1, static_cast<std::size_t>(data + close - (p + 1)));
      p = data + close + 1;
    } else {
      if (*p == '{' || *p == '[') {
        const std::size_t after = index.skip_nested(static_cast<std::size_t>(p - data));
        if (after == frame_index::npos) return false;
        p = data + after;
      } else {
        p = skip_atom(p, end);
        if (!p) return false;
      }
      quotes.seek(static_cast<std::size_t>(p - data));
    }
    if (!visit(static_cast<const member&>(m))) return false;
    const after_value next = past_value(p, end);
    if (next != after_value::next_member) return next == after_value::end_of_object;
  }
}
#endif

// The SSE2 walks index the frames they can (prefilter_index.h); the rest, and the portable build,
// walk chunk by chunk.
template <bool Simd, typename Visit>
bool walk_members(const char* data, std::size_t size, detail::prefilter_walk walk, Visit&& visit) noexcept {
#if VR_PREFILTER_SSE2
  if constexpr (Simd) {
    const bool avx2 = walk == detail::prefilter_walk::indexed_avx2;
    if ((avx2 || walk == detail::prefilter_walk::indexed_sse2) && data && size >= frame_index::kMinBytes &&
        size <= frame_index::kMaxBytes) {
      frame_index index;
      const bool built = avx2 ? index.build_avx2(data, size) : index.build(data, size);
      if (built) return walk_members_indexed(data, size, index, visit);
    }
  }
#endif
  return walk_members_chunked<Simd>(data, size, visit);
}

template <bool Simd>
topic_peek peek(const char* data, std::size_t size, detail::prefilter_walk walk) noexcept {
  std::string_view topic;
  bool have_topic = false, have_event_type = false;
  const bool walked = walk_members<Simd>(data, size, walk, [&](const member& m) {
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
live_peek peek_live(const char* data, std::size_t size, detail::prefilter_walk walk) noexcept {
  live_peek out;
  live_kind_marks marks;
  // Each routing key at most once: classify() keeps the last of repeated keys, and one is all
  // this needs to agree with it.
  bool seen[4] = {};
  std::string_view* const values[4] = {&out.customer_id, &out.id, &out.owner_type, &out.owner_id};
  const bool walked = walk_members<Simd>(data, size, walk, [&](const member& m) {
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

bool detail::prefilter_walk_available(prefilter_walk walk) noexcept {
  if (walk == prefilter_walk::scalar) return true;
  if (!prefilter_uses_sse2) return false;
#if VR_PREFILTER_SSE2
  if (walk == prefilter_walk::indexed_avx2) return __builtin_cpu_supports("avx2");
#endif
  return true;
}

namespace {

detail::prefilter_walk fastest_walk() noexcept {
  using detail::prefilter_walk;
  if (detail::prefilter_walk_available(prefilter_walk::indexed_avx2)) return prefilter_walk::indexed_avx2;
  return detail::prefilter_uses_sse2 ? prefilter_walk::indexed_sse2 : prefilter_walk::scalar;
}

// Chosen once, when the library loads.
const detail::prefilter_walk kWalk = fastest_walk();

}  // namespace

detail::prefilter_walk detail::prefilter_walk_in_use() noexcept { return kWalk; }

// Runs on the io thread.
topic_peek peek_event_topic(const char* data, std::size_t size) noexcept {
  return peek<detail::prefilter_uses_sse2>(data, size, kWalk);
}

// Runs on the io thread (or a test's).
topic_peek detail::peek_event_topic_scalar(const char* data, std::size_t size) noexcept {
  return peek<false>(data, size, prefilter_walk::scalar);
}

// Runs on a test's thread; a walk this build or processor lacks is answered by the scalar one.
topic_peek detail::peek_event_topic_with(prefilter_walk walk, const char* data, std::size_t size) noexcept {
  if (walk == prefilter_walk::scalar || !prefilter_walk_available(walk)) return peek<false>(data, size, walk);
  return peek<prefilter_uses_sse2>(data, size, walk);
}

// Runs on the io thread.
live_peek peek_live_resource(const char* data, std::size_t size) noexcept {
  return peek_live<detail::prefilter_uses_sse2>(data, size, kWalk);
}

// Runs on the io thread (or a test's).
live_peek detail::peek_live_resource_scalar(const char* data, std::size_t size) noexcept {
  return peek_live<false>(data, size, prefilter_walk::scalar);
}

// Runs on a test's thread; a walk this build or processor lacks is answered by the scalar one.
live_peek detail::peek_live_resource_with(prefilter_walk walk, const char* data, std::size_t size) noexcept {
  if (walk == prefilter_walk::scalar || !prefilter_walk_available(walk)) return peek_live<false>(data, size, walk);
  return peek_live<prefilter_uses_sse2>(data, size, walk);
}

}  // namespace vr
