// Topic grammar and the subscription matcher shared by the client and the emulator.
//
// Grammar: <scope>:<scope_id>:<resource>:<resource_id>
//   scope        customer_id | agent_id
//   scope_id     a UUID (any case on input, lower case once normalised)
//   resource     a lower-case identifier [a-z][a-z0-9_]*, or * in a pattern
//   resource_id  a UUID (lower-cased), another opaque id without ':' (kept as is), or * in a pattern
// '*' stands for a whole segment only ("ca*" is invalid). A concrete topic has no '*'.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace vr {

struct topic_parts {
  std::string_view scope;
  std::string_view scope_id;
  std::string_view resource;
  std::string_view resource_id;
};

bool is_uuid(std::string_view s) noexcept;

// Validates a subscription pattern and returns it normalised (UUIDs lower-cased). On failure
// returns false and sets `error` to a message naming the segment and its value, for example
// `scope_id "abc" is not a UUID`. The same messages are produced by lib/topic.js.
bool normalize_pattern(std::string_view in, std::string& out, std::string& error);

// Splits a (normalised) topic into its four parts; false when it does not have four segments.
bool split_topic(std::string_view topic, topic_parts& out) noexcept;

// Set of normalised patterns answering "does any pattern match this concrete topic?" in
// constant time: one lookup of the topic's `scope:scope_id:resource` prefix answers the exact
// pattern and the resource_id wildcard together; a second, of `scope:scope_id:*`, is made only
// while some pattern has a resource wildcard.
class topic_matcher {
 public:
  // Both take a normalised pattern. Return true when the set changed.
  bool add(std::string_view pattern);
  bool remove(std::string_view pattern);
  bool contains(std::string_view pattern) const;
  void clear() noexcept;

  // `topic` is concrete. UUID segments are compared case-insensitively.
  bool matches(std::string_view topic) const;

  std::size_t size() const noexcept { return count_; }
  std::vector<std::string> patterns() const;  // sorted

 private:
  // Allocates arrays of 2 MiB and more on 2 MiB boundaries and asks Linux to back them with
  // huge pages: with a million patterns nearly every probe would otherwise also miss the TLB.
  template <class T>
  struct big_allocator {
    using value_type = T;
    big_allocator() noexcept = default;
    template <class U>
    big_allocator(const big_allocator<U>&) noexcept {}
    T* allocate(std::size_t n);
    void deallocate(T* p, std::size_t n) noexcept;
    template <class U>
    bool operator==(const big_allocator<U>&) const noexcept { return true; }
  };

  // A lower-case UUID packed in 16 bytes (uuid_text.h).
  struct packed_id {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
    bool empty() const noexcept { return (lo | hi) == 0; }
    bool operator==(const packed_id&) const noexcept = default;
  };

  // The UUID resource_ids under one prefix (one pattern per call: nearly all patterns). Open
  // addressing with linear probing over 16-byte slots, four to a cache line, so that a probe
  // that misses usually reads one line; a power-of-two size, at most half full. The all-zero
  // UUID marks an empty slot, so that id is a flag of its own.
  struct id_set {
    std::vector<packed_id, big_allocator<packed_id>> slots;
    std::size_t count = 0;
    bool zero = false;

    std::size_t size() const noexcept { return count + (zero ? 1 : 0); }
    const packed_id* home(std::uint64_t hash) const noexcept;
    bool contains(const packed_id& id, std::uint64_t hash) const noexcept;
    bool insert(const packed_id& id, std::uint64_t hash);
    bool erase(const packed_id& id, std::uint64_t hash);
    void rehash(std::size_t size);
  };

  struct text_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };

  // Every pattern under one `scope:scope_id:resource` (resource possibly '*'); its characters
  // are held once here, whatever the number of patterns.
  struct prefix {
    std::string key;
    std::uint64_t hash = 0;
    bool any_id = false;  // key + ":*" is a pattern
    id_set ids;
    std::unordered_set<std::string, text_hash, std::equal_to<>> others;  // ids that are not UUIDs

    std::size_t size() const noexcept { return (any_id ? 1 : 0) + ids.size() + others.size(); }
  };

  // A prefix by its hash. The entry carries the hash so that a probe reads the prefix itself
  // only when the hashes agree.
  struct index_entry {
    std::uint64_t hash = 0;
    const prefix* p = nullptr;  // nullptr = empty
  };

  const prefix* find_prefix(std::string_view key, std::uint64_t hash,
                            const std::uint64_t* id_hash = nullptr) const noexcept;
  prefix& add_prefix(std::string_view key, std::uint64_t hash);
  void drop_prefix(const prefix& p) noexcept;
  void place(const prefix& p) noexcept;

  std::vector<std::unique_ptr<prefix>> prefixes_;  // in no order
  std::vector<index_entry> index_;  // open addressing by hash; power of two, at most half full
  std::size_t star_prefixes_ = 0;  // prefixes whose resource is '*'
  std::size_t count_ = 0;
  mutable const prefix* last_exact_ = nullptr;  // the prefix the last matches() found; owned by prefixes_
  mutable std::string lowered_;
  mutable std::string star_key_;
};

}  // namespace vr
