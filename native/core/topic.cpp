#include "core/topic.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/codec.h"

namespace vr {

namespace {

constexpr std::size_t kMaxTopicLength = 512;
constexpr std::size_t kMaxResourceLength = 64;

// What each byte weighs in a UUID check: hex digits 0, '-' 1, anything else more than 36 dashes.
struct uuid_weights {
  std::uint8_t w[256];
  constexpr uuid_weights() : w() {
    for (int c = 0; c < 256; ++c) {
      const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      w[c] = hex ? 0 : c == '-' ? 1 : 64;
    }
  }
};
constexpr uuid_weights kUuidWeights;

constexpr char to_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? char(c + ('a' - 'A')) : c; }

void append_lower(std::string& out, std::string_view s) {
  for (char c : s) out.push_back(to_lower(c));
}

bool is_resource(std::string_view s) noexcept {
  if (s.empty() || s.size() > kMaxResourceLength) return false;
  if (s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin() + 1, s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Length of a character JS's \s class matches at the start of `s` (0 when there is none), so
// that lib/topic.js can use /[\s\x00-\x1f\x7f"\\]/ and refuse exactly the same ids.
std::size_t unicode_space_at(std::string_view s) noexcept {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  if (s.size() >= 2 && b(0) == 0xC2 && b(1) == 0xA0) return 2;  // U+00A0
  if (s.size() < 3) return 0;
  const unsigned cp = ((b(0) & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
  if ((b(0) & 0xF0) != 0xE0 || (b(1) & 0xC0) != 0x80 || (b(2) & 0xC0) != 0x80) return 0;
  const bool space = cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
                     cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000 ||
                     cp == 0xFEFF;
  return space ? 3 : 0;
}

bool is_resource_id(std::string_view s) noexcept {
  if (s.empty()) return false;
  if (s == "*") return true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c <= 0x20 || c == 0x7F || c == '*' || c == '"' || c == '\\') return false;
    if (c >= 0x80 && unicode_space_at(s.substr(i)) != 0) return false;
  }
  return true;
}

bool fail(std::string& error, std::string_view prefix, std::string_view value,
          std::string_view suffix) {
  error.assign(prefix);
  append_json_string(error, value);
  error.append(suffix);
  return false;
}

// Shape bits of a pattern: bit 0 = resource_id is '*', bit 1 = resource is '*'.
std::uint32_t shape_of(const topic_parts& p) noexcept {
  return (p.resource_id == "*" ? 1u : 0u) | (p.resource == "*" ? 2u : 0u);
}

}  // namespace

// Runs for every topic and live event: one branch-free pass instead of a test per byte. With the
// four dashes in place, the weights add up to exactly 4 only when every other byte is hex.
bool is_uuid(std::string_view s) noexcept {
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return false;
  unsigned sum = 0;
  for (std::size_t i = 0; i < 36; ++i) sum += kUuidWeights.w[static_cast<unsigned char>(s[i])];
  return sum == 4;
}

bool split_topic(std::string_view topic, topic_parts& out) noexcept {
  std::string_view* parts[4] = {&out.scope, &out.scope_id, &out.resource, &out.resource_id};
  std::size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    const auto colon = topic.find(':', start);
    if (colon == std::string_view::npos) return false;
    *parts[i] = topic.substr(start, colon - start);
    start = colon + 1;
  }
  const auto rest = topic.substr(start);
  if (rest.find(':') != std::string_view::npos) return false;
  out.resource_id = rest;
  return true;
}

bool normalize_pattern(std::string_view in, std::string& out, std::string& error) {
  if (in.size() > kMaxTopicLength) {
    error = "topic is longer than 512 characters";
    return false;
  }
  topic_parts p;
  if (!split_topic(in, p)) {
    const auto segments = std::count(in.begin(), in.end(), ':') + 1;
    return fail(error, "topic ", in,
                " must have 4 segments <scope>:<scope_id>:<resource>:<resource_id>, found " +
                    std::to_string(segments));
  }
  if (p.scope != "customer_id" && p.scope != "agent_id")
    return fail(error, "scope ", p.scope, " must be customer_id or agent_id");
  if (!is_uuid(p.scope_id)) return fail(error, "scope_id ", p.scope_id, " is not a UUID");
  if (p.resource != "*" && !is_resource(p.resource))
    return fail(error, "resource ", p.resource, " must be a lower-case identifier or *");
  if (!is_resource_id(p.resource_id))
    return fail(error, "resource_id ", p.resource_id,
                " must be a UUID, another id without ':' or *");

  out.clear();
  out.reserve(in.size());
  out.append(p.scope).push_back(':');
  append_lower(out, p.scope_id);
  out.push_back(':');
  out.append(p.resource).push_back(':');
  if (is_uuid(p.resource_id))
    append_lower(out, p.resource_id);
  else
    out.append(p.resource_id);
  return true;
}

namespace {

std::uint64_t load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

constexpr std::uint64_t kOnes = 0x0101010101010101ull;
constexpr std::uint64_t kHighs = 0x8080808080808080ull;

// High bit set in each byte of `w` that lies in 'A'..'Z' (exact, per byte: no carry crosses
// a byte because the low seven bits are handled apart from the high one).
constexpr std::uint64_t upper_bytes(std::uint64_t w) noexcept {
  const std::uint64_t low = w & ~kHighs;
  return (kOnes * (127 + 'Z' + 1) - low) & ~w & (low + kOnes * (127 - ('A' - 1))) & kHighs;
}

// Eight bytes at a time: this runs for two segments of every event the client receives.
bool has_upper(std::string_view s) noexcept {
  const char* p = s.data();
  const std::size_t n = s.size();
  if (n < 8) {
    bool any = false;
    for (char c : s) any |= static_cast<unsigned char>(c - 'A') < 26;
    return any;
  }
  std::uint64_t any = upper_bytes(load64(p + n - 8));
  for (std::size_t i = 0; i + 8 <= n; i += 8) any |= upper_bytes(load64(p + i));
  return any != 0;
}

std::uint32_t load32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;

// Topics are about 90 bytes; eight bytes per multiply is several times cheaper than
// std::hash's byte-oriented mixing, and the keys are not chosen by an adversary who could
// profit from collisions (a collision costs a comparison, not correctness). The last 1-7 bytes
// are read with at most two overlapping loads instead of a variable-length copy.
std::uint64_t part_hash(std::string_view s) noexcept {
  std::uint64_t h = (s.size() + 1) * kMul;
  const char* p = s.data();
  std::size_t n = s.size();
  for (; n >= 8; n -= 8, p += 8) h = (h ^ load64(p)) * kMul, h ^= h >> 29;
  std::uint64_t tail = 0;
  if (n >= 4) {
    tail = load32(p) | (std::uint64_t{load32(p + n - 4)} << 32);
  } else if (n != 0) {
    const auto b = [&](std::size_t i) { return std::uint64_t{static_cast<unsigned char>(p[i])}; };
    tail = b(0) | (b(n >> 1) << 8) | (b(n - 1) << 16);
  }
  return (h ^ tail ^ n) * kMul;
}

std::uint64_t combine(std::uint64_t head, std::uint64_t resource, std::uint64_t id) noexcept {
  std::uint64_t h = (head ^ resource) * 0xD6E8FEB86659FD93ull;
  h ^= h >> 31;
  h = (h ^ id) * kMul;
  h ^= h >> 29;
  h *= 0xD6E8FEB86659FD93ull;
  return h ^ (h >> 32);
}

// part_hash("*"), spelled out so that it is a compile-time constant.
constexpr std::uint64_t kStarHash = ((2 * kMul) ^ (std::uint64_t{'*'} * 0x10101u) ^ 1u) * kMul;

std::size_t head_size(std::string_view topic, const topic_parts& p) noexcept {
  return static_cast<std::size_t>(p.scope_id.data() + p.scope_id.size() - topic.data());
}

// High bit set in each byte of `w` that lies strictly between lo and hi (both below 128).
constexpr std::uint64_t bytes_between(std::uint64_t w, unsigned lo, unsigned hi) noexcept {
  const std::uint64_t low = w & ~kHighs;
  return (kOnes * (127 + hi) - low) & ~w & (low + kOnes * (127 - lo)) & kHighs;
}

// Eight lower-case hex digits to 32 bits, false when one is not [0-9a-f]. Digit i ends up in
// bits 4i..4i+3, which unpack_hex8 reverses.
bool pack_hex8(std::uint64_t w, std::uint64_t& out) noexcept {
  if ((bytes_between(w, '0' - 1, '9' + 1) | bytes_between(w, 'a' - 1, 'f' + 1)) != kHighs)
    return false;
  std::uint64_t x = (w & 0x0F0F0F0F0F0F0F0Full) + 9 * ((w >> 6) & kOnes);
  x = (x | (x >> 4)) & 0x00FF00FF00FF00FFull;
  x = (x | (x >> 8)) & 0x0000FFFF0000FFFFull;
  out = (x | (x >> 16)) & 0xFFFFFFFFull;
  return true;
}

void unpack_hex8(std::uint64_t v, char* out) noexcept {
  for (int i = 0; i < 8; ++i) out[i] = "0123456789abcdef"[(v >> (4 * i)) & 15];
}

// A lower-case UUID in 16 bytes; false for anything else (upper-case digits included, so that
// a packed id always unpacks to the exact characters it came from).
bool pack_uuid(std::string_view s, std::uint64_t out[2]) noexcept {
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return false;
  const char* p = s.data();
  char digits[32];
  std::memcpy(digits, p, 8);
  std::memcpy(digits + 8, p + 9, 4);
  std::memcpy(digits + 12, p + 14, 4);
  std::memcpy(digits + 16, p + 19, 4);
  std::memcpy(digits + 20, p + 24, 12);
  std::uint64_t q[4];
  for (int i = 0; i < 4; ++i)
    if (!pack_hex8(load64(digits + 8 * i), q[i])) return false;
  out[0] = q[0] | (q[1] << 32);
  out[1] = q[2] | (q[3] << 32);
  return true;
}

void unpack_uuid(const std::uint64_t in[2], std::string& out) {
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

constexpr std::size_t kHugePage = std::size_t{2} << 20;

#if defined(__linux__) && defined(MADV_HUGEPAGE)
constexpr bool kHugePages = true;
#else
constexpr bool kHugePages = false;
#endif

constexpr bool is_big(std::size_t bytes) noexcept { return kHugePages && bytes >= kHugePage; }

constexpr std::size_t big_bytes(std::size_t bytes) noexcept {
  return (bytes + kHugePage - 1) & ~(kHugePage - 1);
}

}  // namespace

template <class T>
T* topic_matcher::big_allocator<T>::allocate(std::size_t n) {
  if (n > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (is_big(n * sizeof(T))) {
    const std::size_t bytes = big_bytes(n * sizeof(T));
    void* p = std::aligned_alloc(kHugePage, bytes);
    if (p == nullptr) throw std::bad_alloc();
    (void)madvise(p, bytes, MADV_HUGEPAGE);  // advice only: a refusal costs speed, not correctness
    return static_cast<T*>(p);
  }
#endif
  return std::allocator<T>().allocate(n);
}

template <class T>
void topic_matcher::big_allocator<T>::deallocate(T* p, std::size_t n) noexcept {
  if (is_big(n * sizeof(T)))
    std::free(p);
  else
    std::allocator<T>().deallocate(p, n);
}

template struct topic_matcher::big_allocator<topic_matcher::slot>;
template struct topic_matcher::big_allocator<char>;

std::uint32_t topic_matcher::string_table::acquire(std::string_view s) {
  const auto [it, added] = index.try_emplace(std::string(s), 0u);
  if (!added) {
    ++refs[it->second];
    return it->second;
  }
  try {
    if (unused.empty()) {
      if (strings.size() >= UINT32_MAX - 2)
        throw std::length_error("topic_matcher: too many distinct scopes or resources");
      strings.emplace_back(s);
      refs.push_back(1);
      it->second = static_cast<std::uint32_t>(strings.size() - 1);
    } else {
      it->second = unused.back();
      strings[it->second].assign(s);
      refs[it->second] = 1;
      unused.pop_back();
    }
  } catch (...) {
    index.erase(it);
    throw;
  }
  return it->second;
}

void topic_matcher::string_table::release(std::uint32_t i) {
  if (--refs[i] != 0) return;
  index.erase(strings[i]);
  std::string().swap(strings[i]);
  unused.push_back(i);
}

topic_matcher::key topic_matcher::key_of(std::string_view topic,
                                         const topic_parts& p) const noexcept {
  key k{topic.substr(0, head_size(topic, p)), p.resource, p.resource_id, false, {0, 0}};
  k.is_uuid = pack_uuid(p.resource_id, k.uuid);
  return k;
}

const topic_matcher::slot* topic_matcher::find(std::uint64_t hash, const key& k) const noexcept {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const slot& s = slots_[i];
    if (s.head == 0) return nullptr;
    if (s.hash != hash) continue;
    if (s.head >= 2) {
      if (k.is_uuid && s.id[0] == k.uuid[0] && s.id[1] == k.uuid[1] &&
          heads_.strings[s.head - 2] == k.head && resources_.strings[s.resource] == k.resource)
        return &s;
      continue;
    }
    if (s.id[1] != k.size()) continue;
    const char* t = text_.data() + s.id[0];
    const std::size_t h = k.head.size(), r = k.resource.size();
    if (std::memcmp(t, k.head.data(), h) == 0 && t[h] == ':' &&
        std::memcmp(t + h + 1, k.resource.data(), r) == 0 && t[h + 1 + r] == ':' &&
        std::memcmp(t + h + r + 2, k.resource_id.data(), k.resource_id.size()) == 0)
      return &s;
  }
}

void topic_matcher::insert_slot(const slot& s) noexcept {
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = s.hash & mask;
  while (slots_[i].head != 0) i = (i + 1) & mask;
  slots_[i] = s;
}

void topic_matcher::grow() {
  decltype(slots_) old(std::max<std::size_t>(16, slots_.size() * 2));
  old.swap(slots_);
  for (const slot& s : old)
    if (s.head != 0) insert_slot(s);
}

// Rewrites text_ without the removed patterns once they are the larger part of it.
void topic_matcher::compact() {
  std::vector<char, big_allocator<char>> text;
  text.reserve(text_.size() - garbage_);
  for (slot& s : slots_) {
    if (s.head != 1) continue;
    const auto offset = text.size();
    text.insert(text.end(), text_.begin() + static_cast<std::ptrdiff_t>(s.id[0]),
                text_.begin() + static_cast<std::ptrdiff_t>(s.id[0] + s.id[1]));
    s.id[0] = offset;
  }
  text_.swap(text);
  garbage_ = 0;
}

bool topic_matcher::add(std::string_view pattern) {
  topic_parts p;
  if (!split_topic(pattern, p)) return false;
  const key k = key_of(pattern, p);
  const auto hash = combine(part_hash(k.head), part_hash(p.resource), part_hash(p.resource_id));
  if (!slots_.empty() && find(hash, k) != nullptr) return false;
  if ((count_ + 1) * 2 > slots_.size()) grow();
  slot s{hash, 1, 0, {text_.size(), pattern.size()}};
  if (k.is_uuid) {
    const auto head = heads_.acquire(k.head);
    try {
      s.resource = resources_.acquire(k.resource);
    } catch (...) {
      heads_.release(head);
      throw;
    }
    s.head = head + 2;
    s.id[0] = k.uuid[0];
    s.id[1] = k.uuid[1];
  } else {
    text_.insert(text_.end(), pattern.begin(), pattern.end());
  }
  insert_slot(s);
  ++count_;
  ++shape_count_[shape_of(p)];
  return true;
}

bool topic_matcher::remove(std::string_view pattern) {
  topic_parts p;
  if (slots_.empty() || !split_topic(pattern, p)) return false;
  const key k = key_of(pattern, p);
  const auto hash = combine(part_hash(k.head), part_hash(p.resource), part_hash(p.resource_id));
  const slot* found = find(hash, k);
  if (found == nullptr) return false;
  if (found->head >= 2) {
    heads_.release(found->head - 2);
    resources_.release(found->resource);
  } else {
    garbage_ += found->id[1];
  }
  --count_;
  --shape_count_[shape_of(p)];
  // Backward-shift deletion: later members of the probe run move into the hole when their
  // home slot allows it, so no tombstones are left to lengthen later probes.
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = static_cast<std::size_t>(found - slots_.data());
  for (std::size_t i = (hole + 1) & mask; slots_[i].head != 0; i = (i + 1) & mask) {
    const std::size_t home = slots_[i].hash & mask;
    // Movable when home is not in the cyclic range (hole, i].
    if (((i - home) & mask) >= ((i - hole) & mask)) {
      slots_[hole] = slots_[i];
      hole = i;
    }
  }
  slots_[hole] = slot{};
  if (count_ == 0) {
    text_.clear();
    garbage_ = 0;
  } else if (garbage_ > 4096 && garbage_ * 2 > text_.size()) {
    compact();
  }
  return true;
}

bool topic_matcher::contains(std::string_view pattern) const {
  topic_parts p;
  if (slots_.empty() || !split_topic(pattern, p)) return false;
  const key k = key_of(pattern, p);
  return find(combine(part_hash(k.head), part_hash(p.resource), part_hash(p.resource_id)), k) !=
         nullptr;
}

void topic_matcher::clear() {
  decltype(slots_)().swap(slots_);
  decltype(text_)().swap(text_);
  heads_ = string_table{};
  resources_ = string_table{};
  garbage_ = 0;
  count_ = 0;
  std::fill(std::begin(shape_count_), std::end(shape_count_), 0u);
}

// Runs on the thread that owns the matcher (the client's io thread or the emulator's).
bool topic_matcher::matches(std::string_view topic) const {
  if (count_ == 0) return false;
  topic_parts p;
  if (!split_topic(topic, p)) return false;
  // Servers send lower-case UUIDs; only a topic with an upper-case UUID is copied and lowered.
  if (has_upper(p.scope_id) || has_upper(p.resource_id)) {
    const bool lower_id = is_uuid(p.resource_id);
    if (!is_uuid(p.scope_id)) return false;
    lowered_.clear();
    lowered_.append(p.scope).push_back(':');
    append_lower(lowered_, p.scope_id);
    lowered_.push_back(':');
    lowered_.append(p.resource).push_back(':');
    if (lower_id)
      append_lower(lowered_, p.resource_id);
    else
      lowered_.append(p.resource_id);
    topic = lowered_;
    split_topic(topic, p);
  }
  // Each part is hashed once; the four shapes differ only in the final combination. All
  // probes' slots are requested before the first is examined so that their cache misses
  // overlap in a large set.
  const std::string_view head = topic.substr(0, head_size(topic, p));
  const std::uint64_t hh = part_hash(head), hr = part_hash(p.resource),
                      hi = part_hash(p.resource_id);
  const std::size_t mask = slots_.size() - 1;
  std::uint64_t hashes[4];
  for (std::uint32_t shape = 0; shape < 4; ++shape) {
    if (shape_count_[shape] == 0) continue;
    hashes[shape] = combine(hh, shape & 2 ? kStarHash : hr, shape & 1 ? kStarHash : hi);
    __builtin_prefetch(&slots_[hashes[shape] & mask]);
  }
  key k = key_of(topic, p);
  const key star_id{head, p.resource, "*", false, {0, 0}};
  for (std::uint32_t shape = 0; shape < 4; ++shape) {
    if (shape_count_[shape] == 0) continue;
    const key& base = shape & 1 ? star_id : k;
    const key probe{head, shape & 2 ? std::string_view("*") : p.resource, base.resource_id,
                    base.is_uuid, {base.uuid[0], base.uuid[1]}};
    if (find(hashes[shape], probe) != nullptr) return true;
  }
  return false;
}

std::vector<std::string> topic_matcher::patterns() const {
  std::vector<std::string> out;
  out.reserve(count_);
  for (const slot& s : slots_) {
    if (s.head == 0) continue;
    if (s.head == 1) {
      out.emplace_back(text_.data() + s.id[0], s.id[1]);
      continue;
    }
    std::string& pattern = out.emplace_back(heads_.strings[s.head - 2]);
    pattern.push_back(':');
    pattern.append(resources_.strings[s.resource]).push_back(':');
    unpack_uuid(s.id, pattern);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace vr
