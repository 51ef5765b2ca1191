// The bounded hand-over between the io thread and the JS thread. Records are serialised as
// they are pushed, straight into the text of the next batch, so that draining is one swap and
// JS receives one string plus an Int32Array of offsets (UTF-16 code units into that string).
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
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace vr {

inline constexpr int kMetaStride = 13;
enum record_kind : std::int32_t { record_event = 1, record_control = 2, record_server = 3 };

struct batch {
  std::string text;                 // UTF-8
  std::vector<std::int32_t> meta;   // offsets in UTF-16 code units into text
  std::size_t events = 0;
  bool ascii = true;                // text is pure ASCII (JS can build it as Latin-1)
  // Set by drain() when a push_event or stage_event has returned false since the previous
  // drain: the reader may be paused, so the consumer must ask it to resume. Otherwise it is
  // still reading, and a resume would only wake the io thread for nothing.
  bool reader_stopped = false;
  // Empties the batch. Keeps its buffers, except one larger than these bounds that holds less
  // than an eighth of its capacity: that one is freed.
  void clear();
  // Frees a (cleared) buffer above `text_bytes` / `meta_entries` of capacity whatever it held;
  // returns the bytes given back.
  std::size_t release_above(std::size_t text_bytes, std::size_t meta_entries) noexcept;
  static constexpr std::size_t kRetainTextBytes = 1u << 20;
  static constexpr std::size_t kRetainMetaEntries = 256u << 10;  // 1 MiB
};

class event_queue {
 public:
  // `wake` is called (from the pushing thread) when the queue goes from idle to holding
  // records and no wake-up is outstanding; the consumer must then call drain().
  event_queue(std::size_t max_events, std::function<void()> wake);

  // Any thread (io thread in practice). Returns false when the number of undrained records
  // (events, control and server records alike) has reached max_events, or their text is very
  // large: the caller should stop reading until the consumer drained and asked it to resume.
  // The record is always stored.
  bool push_event(std::string_view event_type, std::string_view topic, std::string_view timestamp,
                  std::string_view data, std::string_view server_event_type = {},
                  std::string_view second_topic = {});
  bool push_control(std::string_view json);
  bool push_server(std::string_view json);

  // The producer's burst path: one producer thread only. stage_event stores the event without
  // locking or waking; publish() hands everything staged to the consumer under one lock and at
  // most one wake. Staged events are published by themselves when they reach kStageBytes, when
  // stage_event returns false (same meaning as push_event's), and before any push_* record, so
  // records keep their order.
  bool stage_event(std::string_view event_type, std::string_view topic, std::string_view timestamp,
                   std::string_view data, std::string_view server_event_type = {},
                   std::string_view second_topic = {});
  void publish();

  static constexpr std::size_t kStageBytes = 32 * 1024;

  // Consumer thread. Swaps the pending batch into `out` (cleared first), clears the
  // outstanding wake-up, sets out.reader_stopped, and returns the number of events handed over.
  std::size_t drain(batch& out);

  // Undrained events, staged ones included.
  std::size_t depth() const;
  // Undrained records of every kind, staged ones included: what the bound applies to.
  std::size_t records() const;

  // Consumer thread, after handling a drained (and cleared) batch: when nothing waits, the
  // buffers a burst grew (that batch's and the next one's) go back down to kIdleBytes each.
  // Returns the bytes given back. At steady rates a batch stays below the bound, so this frees
  // nothing and the buffers are reused.
  std::size_t release_idle(batch& consumed) noexcept;
  static constexpr std::size_t kIdleBytes = 256u << 10;
  std::size_t max_events() const noexcept { return max_events_; }

 private:
  static void append_field(batch& b, std::int64_t& units, std::string_view s, std::int32_t& begin,
                           std::int32_t& end);
  static void append_event(batch& b, std::int64_t& units, std::string_view event_type,
                           std::string_view topic, std::string_view timestamp, std::string_view data,
                           std::string_view server_event_type, std::string_view second_topic);
  void move_staged_locked();
  bool push_record_locked(std::unique_lock<std::mutex>& lock, record_kind kind, std::string_view json);
  bool room_locked() const noexcept;
  void after_push_locked(std::unique_lock<std::mutex>& lock);

  mutable std::mutex mutex_;
  batch pending_;
  std::int64_t utf16_len_ = 0;
  std::size_t max_events_;
  bool wake_outstanding_ = false;
  bool reader_stopped_ = false;  // a push or stage returned false since the last drain
  std::function<void()> wake_;
  // Mirrors of the pending record count and utf16_len_, for the producer's lock-free checks.
  std::atomic<std::size_t> published_records_{0};
  std::atomic<std::int64_t> published_units_{0};

  // Producer thread only, except staged_events_ (read by depth() and records()).
  batch staged_;
  std::int64_t staged_units_ = 0;
  std::atomic<std::size_t> staged_events_{0};
};

}  // namespace vr
