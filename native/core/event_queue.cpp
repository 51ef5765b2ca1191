#include "core/event_queue.h"

#include <utility>

namespace vr {

namespace {

// Past this many UTF-16 units in the pending text push_event asks the reader to pause as well,
// so a few huge frames cannot grow one batch towards V8's string length limit (2^29 - 24).
constexpr std::int64_t kSoftTextLimit = std::int64_t{1} << 26;

}  // namespace

event_queue::event_queue(std::size_t max_events, std::function<void()> wake)
    : max_events_(max_events), wake_(std::move(wake)) {}

// Moves the staged records behind the pending ones (batch::append: with nothing pending, the
// consumer keeping up, the two batches just swap and the staged text is never copied).
void event_queue::move_staged_locked() {
  if (staged_.meta.empty()) return;
  pending_.append(staged_);
  staged_events_.store(0, std::memory_order_relaxed);
  published_records_.store(pending_.meta.size() / kMetaStride, std::memory_order_relaxed);
  published_units_.store(pending_.units, std::memory_order_relaxed);
}

// Called with the lock held; releases it before waking so the consumer can drain at once.
void event_queue::after_push_locked(std::unique_lock<std::mutex>& lock) {
  if (wake_outstanding_) return;
  wake_outstanding_ = true;
  lock.unlock();
  if (wake_) wake_();
}

bool event_queue::room_locked() const noexcept {
  return pending_.meta.size() / kMetaStride < max_events_ && pending_.units < kSoftTextLimit;
}

// Runs on the io thread.
bool event_queue::push_event(std::string_view event_type, std::string_view topic,
                             std::string_view timestamp, std::string_view data,
                             std::string_view server_event_type, std::string_view second_topic) {
  std::unique_lock<std::mutex> lock(mutex_);
  move_staged_locked();
  pending_.append_event(event_type, topic, timestamp, data, server_event_type, second_topic);
  published_records_.store(pending_.meta.size() / kMetaStride, std::memory_order_relaxed);
  published_units_.store(pending_.units, std::memory_order_relaxed);
  const bool more = room_locked();
  if (!more) reader_stopped_ = true;
  after_push_locked(lock);
  return more;
}

// Runs on the io thread.
bool event_queue::stage_event(std::string_view event_type, std::string_view topic,
                              std::string_view timestamp, std::string_view data,
                              std::string_view server_event_type, std::string_view second_topic) {
  staged_.append_event(event_type, topic, timestamp, data, server_event_type, second_topic);
  staged_events_.store(staged_.events, std::memory_order_relaxed);
  const bool more = published_records_.load(std::memory_order_relaxed) + staged_.events < max_events_ &&
                    published_units_.load(std::memory_order_relaxed) + staged_.units < kSoftTextLimit;
  if (!more) {
    // Published under the same lock that records the stop, so the drain that takes these
    // events is the one that tells the consumer to resume the reader.
    std::unique_lock<std::mutex> lock(mutex_);
    move_staged_locked();
    reader_stopped_ = true;
    after_push_locked(lock);
  } else if (staged_.text.size() >= kStageBytes) {
    publish();
  }
  return more;
}

// Runs on the io thread.
void event_queue::publish() {
  if (staged_.meta.empty()) return;
  std::unique_lock<std::mutex> lock(mutex_);
  move_staged_locked();
  after_push_locked(lock);
}

// Control and server records count towards the bound like events: a server that sends nothing
// but frames producing them (malformed ones, acks) must not grow the queue without limit.
bool event_queue::push_record_locked(std::unique_lock<std::mutex>& lock, record_kind kind, std::string_view json) {
  move_staged_locked();
  pending_.append_record(kind, json);
  published_records_.store(pending_.meta.size() / kMetaStride, std::memory_order_relaxed);
  published_units_.store(pending_.units, std::memory_order_relaxed);
  const bool more = room_locked();
  if (!more) reader_stopped_ = true;
  after_push_locked(lock);
  return more;
}

// Runs on the io thread.
bool event_queue::push_control(std::string_view json) {
  std::unique_lock<std::mutex> lock(mutex_);
  return push_record_locked(lock, record_control, json);
}

// Runs on the io thread.
bool event_queue::push_server(std::string_view json) {
  std::unique_lock<std::mutex> lock(mutex_);
  return push_record_locked(lock, record_server, json);
}

// Runs on the JS thread.
std::size_t event_queue::drain(batch& out) {
  out.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  std::swap(out, pending_);
  out.reader_stopped = reader_stopped_;
  reader_stopped_ = false;
  published_records_.store(0, std::memory_order_relaxed);
  published_units_.store(0, std::memory_order_relaxed);
  wake_outstanding_ = false;
  return out.events;
}

// Any thread.
std::size_t event_queue::depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pending_.events + staged_events_.load(std::memory_order_relaxed);
}

// Any thread.
std::size_t event_queue::records() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pending_.meta.size() / kMetaStride + staged_events_.load(std::memory_order_relaxed);
}

std::size_t event_queue::release_idle(batch& consumed) noexcept {
  constexpr std::size_t entries = kIdleBytes / sizeof(std::int32_t);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!pending_.meta.empty() || staged_events_.load(std::memory_order_relaxed) != 0) return 0;
  return consumed.release_above(kIdleBytes, entries) + pending_.release_above(kIdleBytes, entries);
}

}  // namespace vr
