// The bounded hand-over between the io thread and the JS thread. Records are serialised as
// they are pushed, straight into the text of the next batch (native/core/batch.h has the
// layout), so that draining is one swap and JS receives one string plus an Int32Array of
// offsets per segment.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "core/batch.h"

namespace vr {

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
  void move_staged_locked();
  bool push_record_locked(std::unique_lock<std::mutex>& lock, record_kind kind, std::string_view json);
  bool room_locked() const noexcept;
  void after_push_locked(std::unique_lock<std::mutex>& lock);

  mutable std::mutex mutex_;
  batch pending_;
  std::size_t max_events_;
  bool wake_outstanding_ = false;
  bool reader_stopped_ = false;  // a push or stage returned false since the last drain
  std::function<void()> wake_;
  // Mirrors of the pending record count and UTF-16 length, for the producer's lock-free checks.
  std::atomic<std::size_t> published_records_{0};
  std::atomic<std::int64_t> published_units_{0};

  // Producer thread only, except staged_events_ (read by depth() and records()).
  batch staged_;
  std::atomic<std::size_t> staged_events_{0};
};

}  // namespace vr
