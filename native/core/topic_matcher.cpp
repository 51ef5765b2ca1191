// topic_matcher (topic.h): the subscription set the io thread consults for every event.
#include "core/topic.h"
#include "core/uuid_text.h"

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

// As in prefilter.h: the SSE2 topic scan wherever the compiler targets SSE2, unless a build
// asks for the portable code (the second Catch2 binary).
#if defined(__SSE2__) && !defined(VR_FORCE_SCALAR)
#define VR_MATCHER_SSE2 1
#include <emmintrin.h>
#else
#define VR_MATCHER_SSE2 0
#endif

namespace vr {

namespace {

constexpr char to_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? char(c + ('a' - 'A')) : c; }

void append_lower(std::string& out, std::string_view s) {
  for (char c : s) out.push_back(to_lower(c));
}

}  // namespace

namespace {

using uuid_text::kHighs;
using uuid_text::kOnes;
using uuid_text::load32;
using uuid_text::load64;

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

// Mixes a packed UUID into 64 bits. The ids of one subscription set often differ only in their
// last digits, which uuid_text::pack puts in the high bits of `hi`: the shifts bring those down
// before the index is taken from the low bits.
std::uint64_t id_hash(std::uint64_t lo, std::uint64_t hi) noexcept {
  std::uint64_t h = lo + hi * kMul;
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 29;
  h *= kMul;
  return h ^ (h >> 32);
}

// Length of `scope:scope_id:resource` at the start of a split topic.
std::size_t prefix_size(std::string_view topic, const topic_parts& p) noexcept {
  return static_cast<std::size_t>(p.resource.data() + p.resource.size() - topic.data());
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

template struct topic_matcher::big_allocator<topic_matcher::packed_id>;

namespace {

// Splits a topic as split_topic does, and tells whether any of its bytes is an upper-case
// letter, in one pass of 16 bytes at a time: this runs for every event the io thread reads, and
// four searches for ':' plus two more passes for upper case cost more than the rest of a probe.
bool scan_topic(std::string_view topic, topic_parts& out, bool& upper) noexcept {
#if VR_MATCHER_SSE2
  const std::size_t n = topic.size();
  if (n >= 16) {
    const char* const p = topic.data();
    std::size_t colon[3];
    unsigned found = 0;
    unsigned any_upper = 0;
    // Colons in `bits` (bit i: byte base + i), in order; false at a fourth.
    const auto take = [&](unsigned bits, std::size_t base) noexcept {
      for (; bits != 0; bits &= bits - 1) {
        if (found == 3) return false;
        colon[found++] = base + static_cast<std::size_t>(__builtin_ctz(bits));
      }
      return true;
    };
    // 'A'..'Z' moved to -128..-103 as signed bytes, and no other byte below -102.
    const auto block = [&](const char* at, unsigned& colons) noexcept {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
      colons = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(':'))));
      const __m128i moved = _mm_add_epi8(v, _mm_set1_epi8(static_cast<char>(0x80 - 'A')));
      return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmplt_epi8(moved, _mm_set1_epi8(-102))));
    };
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      unsigned colons;
      any_upper |= block(p + i, colons);
      if (colons != 0 && !take(colons, i)) return false;
    }
    if (i < n) {
      // The last 16 bytes, overlapping the block before; only the bytes from i on count.
      const unsigned shift = static_cast<unsigned>(16 - (n - i));
      unsigned colons;
      any_upper |= block(p + n - 16, colons) >> shift;
      if (!take(colons >> shift, i)) return false;
    }
    if (found != 3) return false;
    out.scope = topic.substr(0, colon[0]);
    out.scope_id = topic.substr(colon[0] + 1, colon[1] - colon[0] - 1);
    out.resource = topic.substr(colon[1] + 1, colon[2] - colon[1] - 1);
    out.resource_id = topic.substr(colon[2] + 1);
    upper = any_upper != 0;
    return true;
  }
#endif
  if (!split_topic(topic, out)) return false;
  upper = has_upper(topic);
  return true;
}

bool pack_id(std::string_view s, std::uint64_t& lo, std::uint64_t& hi) noexcept {
  std::uint64_t words[2];
  if (!uuid_text::pack(s, words)) return false;
  lo = words[0];
  hi = words[1];
  return true;
}

bool is_star_key(std::string_view key) noexcept {
  return key.size() >= 2 && key.substr(key.size() - 2) == ":*";
}

}  // namespace

std::size_t topic_matcher::text_hash::operator()(std::string_view s) const noexcept {
  return static_cast<std::size_t>(part_hash(s));
}

// --- id_set ----------------------------------------------------------------------------------

const topic_matcher::packed_id* topic_matcher::id_set::home(std::uint64_t hash) const noexcept {
  return slots.empty() ? nullptr : &slots[hash & (slots.size() - 1)];
}

bool topic_matcher::id_set::contains(const packed_id& id, std::uint64_t hash) const noexcept {
  if (id.empty()) return zero;
  if (slots.empty()) return false;
  const std::size_t mask = slots.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const packed_id& s = slots[i];
    if (s == id) return true;
    if (s.empty()) return false;
  }
}

void topic_matcher::id_set::rehash(std::size_t size) {
  decltype(slots) old(size);
  old.swap(slots);
  const std::size_t mask = slots.size() - 1;
  for (const packed_id& s : old) {
    if (s.empty()) continue;
    std::size_t i = id_hash(s.lo, s.hi) & mask;
    while (!slots[i].empty()) i = (i + 1) & mask;
    slots[i] = s;
  }
}

bool topic_matcher::id_set::insert(const packed_id& id, std::uint64_t hash) {
  if (id.empty()) {
    const bool added = !zero;
    zero = true;
    return added;
  }
  if (contains(id, hash)) return false;
  if ((count + 1) * 2 > slots.size()) rehash(std::max<std::size_t>(2, slots.size() * 2));
  const std::size_t mask = slots.size() - 1;
  std::size_t i = hash & mask;
  while (!slots[i].empty()) i = (i + 1) & mask;
  slots[i] = id;
  ++count;
  return true;
}

bool topic_matcher::id_set::erase(const packed_id& id, std::uint64_t hash) {
  if (id.empty()) {
    const bool removed = zero;
    zero = false;
    return removed;
  }
  if (slots.empty()) return false;
  const std::size_t mask = slots.size() - 1;
  std::size_t hole = hash & mask;
  for (;; hole = (hole + 1) & mask) {
    if (slots[hole] == id) break;
    if (slots[hole].empty()) return false;
  }
  // Backward-shift deletion: later members of the probe run move into the hole when their
  // home slot allows it, so no tombstones are left to lengthen later probes.
  for (std::size_t i = (hole + 1) & mask; !slots[i].empty(); i = (i + 1) & mask) {
    const std::size_t home_slot = id_hash(slots[i].lo, slots[i].hi) & mask;
    // Movable when home_slot is not in the cyclic range (hole, i].
    if (((i - home_slot) & mask) >= ((i - hole) & mask)) {
      slots[hole] = slots[i];
      hole = i;
    }
  }
  slots[hole] = packed_id{};
  --count;
  // A set that emptied out after a burst of subscriptions gives its slots back (down to a
  // quarter full, so that add/remove around the boundary does not rehash every time).
  if (count == 0) {
    decltype(slots)().swap(slots);
  } else if (slots.size() > 64 && count * 8 < slots.size()) {
    try {
      rehash(slots.size() / 4);
    } catch (const std::bad_alloc&) {
      // Keeping the larger table is correct, only bigger.
    }
  }
  return true;
}

// --- prefixes --------------------------------------------------------------------------------

// With `id_hash`, the slot that id would start its probe at is requested as soon as the
// prefix is known by its hash: the cache miss it costs in a large set then overlaps the
// comparison of the key.
const topic_matcher::prefix* topic_matcher::find_prefix(std::string_view key, std::uint64_t hash,
                                                        const std::uint64_t* id_hash) const noexcept {
  if (index_.empty()) return nullptr;
  const std::size_t mask = index_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const index_entry& e = index_[i];
    if (e.p == nullptr) return nullptr;
    if (e.hash != hash) continue;
    if (id_hash != nullptr) {
      if (const packed_id* home = e.p->ids.home(*id_hash)) __builtin_prefetch(home);
    }
    if (e.p->key == key) return e.p;
  }
}

void topic_matcher::place(const prefix& p) noexcept {
  const std::size_t mask = index_.size() - 1;
  std::size_t i = p.hash & mask;
  while (index_[i].p != nullptr) i = (i + 1) & mask;
  index_[i] = {p.hash, &p};
}

topic_matcher::prefix& topic_matcher::add_prefix(std::string_view key, std::uint64_t hash) {
  auto p = std::make_unique<prefix>();
  p->key.assign(key);
  p->hash = hash;
  prefixes_.reserve(prefixes_.size() + 1);
  if ((prefixes_.size() + 1) * 2 > index_.size()) {
    std::vector<index_entry> index(std::max<std::size_t>(8, index_.size() * 2));
    index_.swap(index);
    for (const auto& q : prefixes_) place(*q);
  }
  place(*p);
  prefixes_.push_back(std::move(p));  // cannot throw: reserved above
  if (is_star_key(key)) ++star_prefixes_;
  return *prefixes_.back();
}

// Forgets a prefix that holds no pattern any more.
void topic_matcher::drop_prefix(const prefix& p) noexcept {
  if (last_exact_ == &p) last_exact_ = nullptr;
  const std::size_t mask = index_.size() - 1;
  std::size_t hole = p.hash & mask;
  while (index_[hole].p != &p) hole = (hole + 1) & mask;
  // Backward-shift deletion, as in id_set::erase.
  for (std::size_t i = (hole + 1) & mask; index_[i].p != nullptr; i = (i + 1) & mask) {
    const std::size_t home_slot = index_[i].hash & mask;
    if (((i - home_slot) & mask) >= ((i - hole) & mask)) {
      index_[hole] = index_[i];
      hole = i;
    }
  }
  index_[hole] = index_entry{};
  if (is_star_key(p.key)) --star_prefixes_;
  std::size_t pos = 0;
  while (prefixes_[pos].get() != &p) ++pos;
  if (pos != prefixes_.size() - 1) prefixes_[pos] = std::move(prefixes_.back());
  prefixes_.pop_back();
  if (prefixes_.empty()) decltype(index_)().swap(index_);
}

// --- the set ---------------------------------------------------------------------------------

bool topic_matcher::add(std::string_view pattern) {
  topic_parts p;
  if (!split_topic(pattern, p)) return false;
  const std::string_view key = pattern.substr(0, prefix_size(pattern, p));
  const std::uint64_t hash = part_hash(key);
  packed_id id;
  const bool star = p.resource_id == "*";
  const bool uuid = !star && pack_id(p.resource_id, id.lo, id.hi);
  const prefix* found = find_prefix(key, hash);
  prefix& pr = found != nullptr ? const_cast<prefix&>(*found) : add_prefix(key, hash);
  bool added = false;
  try {
    if (star) {
      added = !pr.any_id;
      pr.any_id = true;
    } else if (uuid) {
      added = pr.ids.insert(id, id_hash(id.lo, id.hi));
    } else {
      added = pr.others.emplace(p.resource_id).second;
    }
  } catch (...) {
    if (pr.size() == 0) drop_prefix(pr);
    throw;
  }
  if (added) ++count_;
  return added;
}

bool topic_matcher::remove(std::string_view pattern) {
  topic_parts p;
  if (count_ == 0 || !split_topic(pattern, p)) return false;
  const std::string_view key = pattern.substr(0, prefix_size(pattern, p));
  const prefix* found = find_prefix(key, part_hash(key));
  if (found == nullptr) return false;
  prefix& pr = const_cast<prefix&>(*found);
  packed_id id;
  bool removed = false;
  if (p.resource_id == "*") {
    removed = pr.any_id;
    pr.any_id = false;
  } else if (pack_id(p.resource_id, id.lo, id.hi)) {
    removed = pr.ids.erase(id, id_hash(id.lo, id.hi));
  } else {
    const auto it = pr.others.find(p.resource_id);
    if (it != pr.others.end()) {
      pr.others.erase(it);
      removed = true;
    }
  }
  if (!removed) return false;
  --count_;
  if (pr.size() == 0) drop_prefix(pr);
  return true;
}

bool topic_matcher::contains(std::string_view pattern) const {
  topic_parts p;
  if (count_ == 0 || !split_topic(pattern, p)) return false;
  const std::string_view key = pattern.substr(0, prefix_size(pattern, p));
  const prefix* pr = find_prefix(key, part_hash(key));
  if (pr == nullptr) return false;
  if (p.resource_id == "*") return pr->any_id;
  packed_id id;
  if (pack_id(p.resource_id, id.lo, id.hi)) return pr->ids.contains(id, id_hash(id.lo, id.hi));
  return pr->others.find(p.resource_id) != pr->others.end();
}

void topic_matcher::clear() noexcept {
  last_exact_ = nullptr;
  decltype(prefixes_)().swap(prefixes_);
  decltype(index_)().swap(index_);
  star_prefixes_ = 0;
  count_ = 0;
}

// Runs on the thread that owns the matcher (the client's io thread or the emulator's).
bool topic_matcher::matches(std::string_view topic) const {
  if (count_ == 0) return false;
  topic_parts p;
  bool upper = false;
  if (!scan_topic(topic, p, upper)) return false;
  // Servers send lower-case UUIDs; only a topic with an upper-case UUID is copied and lowered.
  if (upper && (has_upper(p.scope_id) || has_upper(p.resource_id))) {
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
  packed_id id;
  const bool uuid = pack_id(p.resource_id, id.lo, id.hi);
  const std::uint64_t hash = uuid ? id_hash(id.lo, id.hi) : 0;
  const std::uint64_t* prefetch = uuid ? &hash : nullptr;
  const std::string_view key = topic.substr(0, prefix_size(topic, p));
  // A connection's events mostly share a few prefixes (one customer, a few resources), so the
  // prefix the last probe found is tried first, by its text, before hashing the key.
  const prefix* exact = last_exact_;
  if (exact == nullptr || exact->key != key) {
    exact = find_prefix(key, part_hash(key), prefetch);
    if (exact != nullptr) last_exact_ = exact;
  }
  const prefix* wild = nullptr;
  if (star_prefixes_ != 0) {
    star_key_.assign(topic.data(), static_cast<std::size_t>(p.resource.data() - topic.data()));
    star_key_.push_back('*');
    wild = find_prefix(star_key_, part_hash(star_key_), prefetch);
  }
  if (exact == nullptr && wild == nullptr) return false;
  if ((exact != nullptr && exact->any_id) || (wild != nullptr && wild->any_id)) return true;
  if (!uuid) {
    return (exact != nullptr && exact->others.find(p.resource_id) != exact->others.end()) ||
           (wild != nullptr && wild->others.find(p.resource_id) != wild->others.end());
  }
  return (exact != nullptr && exact->ids.contains(id, hash)) ||
         (wild != nullptr && wild->ids.contains(id, hash));
}

std::vector<std::string> topic_matcher::patterns() const {
  std::vector<std::string> out;
  out.reserve(count_);
  for (const auto& pr : prefixes_) {
    auto next = [&]() -> std::string& {
      std::string& s = out.emplace_back(pr->key);
      s.push_back(':');
      return s;
    };
    if (pr->any_id) next().push_back('*');
    if (pr->ids.zero) next().append("00000000-0000-0000-0000-000000000000");
    for (const packed_id& id : pr->ids.slots) {
      if (id.empty()) continue;
      const std::uint64_t words[2] = {id.lo, id.hi};
      uuid_text::unpack(words, next());
    }
    for (const std::string& other : pr->others) next().append(other);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace vr
