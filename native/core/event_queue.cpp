#include "core/event_queue.h"

#include <utility>

namespace vr {

namespace {

// Past this many UTF-16 units in the pending text push_event asks the reader to pause as well,
// so a few huge frames cannot grow one batch towards V8's string length limit (2^29 - 24).
constexpr std::int64_t kSoftTextLimit = std::int64_t{1} << 26;

// UTF-16 length of valid UTF-8: every byte that does not continue a sequence starts one code
// point, and the 4-byte ones need a surrogate pair. `ascii` is cleared on any non-ASCII byte.
std::int64_t utf16_length(std::string_view s, bool& ascii) noexcept {
  unsigned char any = 0;
  for (char c : s) any |= static_cast<unsigned char>(c);
  if (any < 0x80) return static_cast<std::int64_t>(s.size());
  ascii = false;
  std::int64_t units = 0;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    units += ((c & 0xC0) != 0x80) + (c >= 0xF0);
  }
  return units;
}

}  // namespace

std::size_t batch::release_above(std::size_t text_bytes, std::size_t meta_entries) noexcept {
  std::size_t released = 0;
  if (text.empty() && text.capacity() > text_bytes) {
    released += text.capacity();
    std::string().swap(text);
  }
  if (meta.empty() && meta.capacity() > meta_entries) {
    released += meta.capacity() * sizeof(std::int32_t);
    std::vector<std::int32_t>().swap(meta);
  }
  return released;
}

void batch::clear() {
  // Three batches circulate (staged, pending, the consumer's), each keeping its capacity so that
  // steady traffic allocates nothing. A buffer that grew for a burst the consumer fell behind on
  // (the queue admits up to 64M UTF-16 units) or for one huge record (the `sent` record of a
  // 100,000-pattern subscribe is 9 MB) is given back the first time it is cleared holding less
  // than an eighth of its size, instead of staying allocated for the life of the process.
  if (text.capacity() > kRetainTextBytes && text.size() < text.capacity() / 8) {
    std::string().swap(text);
  } else {
    text.clear();
  }
  if (meta.capacity() > kRetainMetaEntries && meta.size() < meta.capacity() / 8) {
    std::vector<std::int32_t>().swap(meta);
  } else {
    meta.clear();
  }
  events = 0;
  ascii = true;
  reader_stopped = false;
}

event_queue::event_queue(std::size_t max_events, std::function<void()> wake)
    : max_events_(max_events), wake_(std::move(wake)) {}

void event_queue::append_field(batch& b, std::int64_t& units, std::string_view s, std::int32_t& begin,
                               std::int32_t& end) {
  begin = static_cast<std::int32_t>(units);
  b.text.append(s);
  units += utf16_length(s, b.ascii);
  end = static_cast<std::int32_t>(units);
}

void event_queue::append_event(batch& b, std::int64_t& units, std::string_view event_type,
                               std::string_view topic, std::string_view timestamp, std::string_view data,
                               std::string_view server_event_type, std::string_view second_topic) {
  std::int32_t r[kMetaStride] = {record_event};
  b.text.reserve(b.text.size() + event_type.size() + topic.size() + timestamp.size() + data.size() +
                 server_event_type.size() + second_topic.size());
  append_field(b, units, event_type, r[1], r[2]);
  append_field(b, units, topic, r[3], r[4]);
  append_field(b, units, timestamp, r[5], r[6]);
  append_field(b, units, data, r[7], r[8]);
  append_field(b, units, server_event_type, r[9], r[10]);
  append_field(b, units, second_topic, r[11], r[12]);
  b.meta.insert(b.meta.end(), r, r + kMetaStride);
  ++b.events;
}

// Moves the staged records behind the pending ones. With nothing pending (the consumer keeps
// up) the two batches just swap, so the staged text is never copied.
void event_queue::move_staged_locked() {
  if (staged_.meta.empty()) return;
  if (pending_.meta.empty()) {
    std::swap(pending_, staged_);
    utf16_len_ = staged_units_;
  } else {
    const auto base = static_cast<std::int32_t>(utf16_len_);
    const std::size_t first = pending_.meta.size();
    pending_.meta.insert(pending_.meta.end(), staged_.meta.begin(), staged_.meta.end());
    for (std::size_t i = first; i < pending_.meta.size(); i += kMetaStride)
      for (int k = 1; k < kMetaStride; ++k) pending_.meta[i + k] += base;
    pending_.text.append(staged_.text);
    pending_.events += staged_.events;
    pending_.ascii = pending_.ascii && staged_.ascii;
    utf16_len_ += staged_units_;
  }
  staged_.clear();
  staged_units_ = 0;
  staged_events_.store(0, std::memory_order_relaxed);
  published_records_.store(pending_.meta.size() / kMetaStride, std::memory_order_relaxed);
  published_units_.store(utf16_len_, std::memory_order_relaxed);
}

// Called with the lock held; releases it before waking so the consumer can drain at once.
void event_queue::after_push_locked(std::unique_lock<std::mutex>& lock) {
  if (wake_outstanding_) return;
  wake_outstanding_ = true;
  lock.unlock();
  if (wake_) wake_();
}

bool event_queue::room_locked() const noexcept {
  return pending_.meta.size() / kMetaStride < max_events_ && utf16_len_ < kSoftTextLimit;
}

// Runs on the io thread.
bool event_queue::push_event(std::string_view event_type, std::string_view topic,
                             std::string_view timestamp, std::string_view data,
                             std::string_view server_event_type, std::string_view second_topic) {
  std::unique_lock<std::mutex> lock(mutex_);
  move_staged_locked();
  append_event(pending_, utf16_len_, event_type, topic, timestamp, data, server_event_type, second_topic);
  published_records_.store(pending_.meta.size() / kMetaStride, std::memory_order_relaxed);
  published_units_.store(utf16_len_, std::memory_order_relaxed);
  const bool more = room_locked();
  if (!more) reader_stopped_ = true;
  after_push_locked(lock);
  return more;
}

// Runs on the io thread.
bool event_queue::stage_event(std::string_view event_type, std::string_view topic,
                              std::string_view timestamp, std::string_view data,
                              std::string_view server_event_type, std::string_view second_topic) {
  append_event(staged_, staged_units_, event_type, topic, timestamp, data, server_event_type, second_topic);
  staged_events_.store(staged_.events, std::memory_order_relaxed);
  const bool more = published_records_.load(std::memory_order_relaxed) + staged_.events < max_events_ &&
                    published_units_.load(std::memory_order_relaxed) + staged_units_ < kSoftTextLimit;
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
  std::int32_t r[kMetaStride] = {kind};
  append_field(pending_, utf16_len_, json, r[1], r[2]);
  pending_.meta.insert(pending_.meta.end(), r, r + kMetaStride);
  published_records_.store(pending_.meta.size() / kMetaStride, std::memory_order_relaxed);
  published_units_.store(utf16_len_, std::memory_order_relaxed);
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
  utf16_len_ = 0;
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
