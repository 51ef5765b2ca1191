// One hand-over batch: the text of its records and their offsets, as the JS thread receives them
// (one string plus an Int32Array, offsets in UTF-16 code units into that string).
//
// Record layout in `meta` (stride kMetaStride):
//   [kind, a0, a1, b0, b1, c0, c1, d0, d1, e0, e1, f0, f1]
//   kind 1 (event):   event_type [a0,a1), topic [b0,b1), timestamp [c0,c1), data JSON [d0,d1),
//                     server_event_type [e0,e1) (the live server's own name; empty when the
//                     frame carried only a documented name), second topic [f0,f1) (another
//                     topic the event matched a pattern under; usually empty)
//   kind 2 (control): JSON object made by the client [a0,a1); the rest 0
//   kind 3 (server):  ack/error frame JSON from the server (or synthesised for the live
//                     dialect) [a0,a1); the rest 0
//
// Segments: the batch is a run of segments, each handed to JS as one call (its own string,
// offsets relative to it). A segment holds at most kMaxSegmentUnits of text, or a single larger
// record: V8 puts strings past its regular object size limit (128 KB) in large-object space,
// which costs far more to allocate and collect than the young generation.
//
// Shared names: within a segment an event name (event_type or server_event_type) is written once;
// a later event of the same name gets the offsets of that first copy. Equal spans are then equal
// names, which JS recognises by comparing two integers instead of slicing and comparing a string
// (lib/client/dispatch.js). Every other field is the event's own, in the order above, so an
// event's last field ends where its text ends.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vr {

inline constexpr int kMetaStride = 13;
enum record_kind : std::int32_t { record_event = 1, record_control = 2, record_server = 3 };

// The offset slots a record of `kind` uses after its kind (control and server records only their
// first span; the rest stay 0).
constexpr int record_slots(std::int32_t kind) noexcept { return kind == record_event ? kMetaStride - 1 : 2; }

struct batch {
  struct segment {
    std::size_t record;  // meta index of its first record
    std::int64_t unit;   // UTF-16 offset in text where its text starts
  };

  std::string text;                 // UTF-8
  std::vector<std::int32_t> meta;   // offsets in UTF-16 code units into text
  std::vector<segment> segments;    // in order; the first starts at record 0, unit 0
  std::int64_t units = 0;           // UTF-16 length of text
  std::size_t events = 0;
  bool ascii = true;                // text is pure ASCII (JS can build it as Latin-1)
  // Set by drain() when a push_event or stage_event has returned false since the previous
  // drain: the reader may be paused, so the consumer must ask it to resume. Otherwise it is
  // still reading, and a resume would only wake the io thread for nothing.
  bool reader_stopped = false;

  void append_event(std::string_view event_type, std::string_view topic, std::string_view timestamp,
                    std::string_view data, std::string_view server_event_type, std::string_view second_topic);
  void append_record(record_kind kind, std::string_view json);
  // Moves the records of `other` behind these (offsets rebased) and clears it. Its first segment
  // joins this batch's last one when the two fit in one.
  void append(batch& other);

  // Empties the batch. Keeps its buffers, except one larger than these bounds that holds less
  // than an eighth of its capacity: that one is freed.
  void clear();
  // Frees a (cleared) buffer above `text_bytes` / `meta_entries` of capacity whatever it held;
  // returns the bytes given back.
  std::size_t release_above(std::size_t text_bytes, std::size_t meta_entries) noexcept;

  static constexpr std::size_t kRetainTextBytes = 1u << 20;
  static constexpr std::size_t kRetainMetaEntries = 256u << 10;  // 1 MiB
  static constexpr std::int64_t kMaxSegmentUnits = 120 * 1024;
  // Names longer than this are written out each time (names are short; this bounds the compare).
  static constexpr std::size_t kMaxSharedName = 64;

 private:
  // A name written in the current segment: bytes [byte, byte + size) of text, units [begin, end).
  struct name_span {
    std::size_t byte;
    std::uint32_t size;
    std::int32_t begin, end;
  };
  static constexpr std::size_t kNames = 8;

  void start_record(std::size_t max_units);
  void append_field(std::string_view s, std::int32_t& begin, std::int32_t& end);
  void append_name(std::string_view name, std::int32_t& begin, std::int32_t& end);

  std::array<name_span, kNames> names_{};
  std::size_t name_count_ = 0;
  std::size_t name_next_ = 0;  // the slot replaced next once all are taken
};

}  // namespace vr
