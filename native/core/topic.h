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
#include <string>
#include <string_view>
#include <unordered_map>
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
// constant time: at most four hash probes (exact, resource_id wildcard, resource wildcard, both),
// and only for the wildcard shapes that are present.
class topic_matcher {
 public:
  // Both take a normalised pattern. Return true when the set changed.
  bool add(std::string_view pattern);
  bool remove(std::string_view pattern);
  bool contains(std::string_view pattern) const;
  void clear();

  // `topic` is concrete. UUID segments are compared case-insensitively.
  bool matches(std::string_view topic) const;

  std::size_t size() const noexcept { return count_; }
  std::vector<std::string> patterns() const;  // sorted

 private:
  // Open addressing with linear probing. A slot carries everything a probe needs, so a probe
  // that misses reads one slot (half a cache line). A pattern whose resource_id is a UUID (the
  // common case: one pattern per call) is held in the slot itself, its `scope:scope_id` and
  // resource as indexes into small shared tables that stay in cache, so a hit costs no second
  // cache miss either. Other patterns keep their characters in text_.
  struct slot {
    std::uint64_t hash;
    std::uint32_t head;      // 0 = empty, 1 = the pattern is in text_, else heads_ index + 2
    std::uint32_t resource;  // resources_ index
    std::uint64_t id[2];     // the UUID packed (see pack_uuid), or offset and length in text_
  };
  // A pattern's hash is computed from three parts, `scope:scope_id`, resource and
  // resource_id, so that one pass over a topic yields the hashes of all four probe shapes.
  struct key {
    std::string_view head;  // scope:scope_id
    std::string_view resource;
    std::string_view resource_id;
    bool is_uuid;  // resource_id is a lower-case UUID, packed in uuid
    std::uint64_t uuid[2];
    std::size_t size() const noexcept {
      return head.size() + resource.size() + resource_id.size() + 2;
    }
  };
  // Reference-counted strings shared by the slots.
  struct string_table {
    std::vector<std::string> strings;
    std::vector<std::uint32_t> refs;
    std::vector<std::uint32_t> unused;
    std::unordered_map<std::string, std::uint32_t> index;
    std::uint32_t acquire(std::string_view s);
    void release(std::uint32_t i);
  };

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

  const slot* find(std::uint64_t hash, const key& k) const noexcept;
  key key_of(std::string_view topic, const topic_parts& p) const noexcept;
  void insert_slot(const slot& s) noexcept;
  void grow();
  void compact();

  std::vector<slot, big_allocator<slot>> slots_;  // power-of-two size, at most half full
  std::vector<char, big_allocator<char>> text_;   // other patterns' characters, back to back
  string_table heads_;
  string_table resources_;
  std::size_t garbage_ = 0;  // characters of removed patterns still in text_
  std::size_t count_ = 0;
  // count of patterns per wildcard shape: bit 0 = resource_id is '*', bit 1 = resource is '*'
  std::uint32_t shape_count_[4] = {0, 0, 0, 0};
  mutable std::string lowered_;
};

}  // namespace vr
