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

void batch::clear() {
  text.clear();
  meta.clear();
  events = 0;
  ascii = true;
}

event_queue::event_queue(std::size_t max_events, std::function<void()> wake)
    : max_events_(max_events), wake_(std::move(wake)) {}

void event_queue::append_field(std::string_view s, std::int32_t& begin, std::int32_t& end) {
  begin = static_cast<std::int32_t>(utf16_len_);
  pending_.text.append(s);
  utf16_len_ += utf16_length(s, pending_.ascii);
  end = static_cast<std::int32_t>(utf16_len_);
}

// Called with the lock held; releases it before waking so the consumer can drain at once.
void event_queue::after_push_locked(std::unique_lock<std::mutex>& lock) {
  if (wake_outstanding_) return;
  wake_outstanding_ = true;
  lock.unlock();
  if (wake_) wake_();
}

// Runs on the io thread.
bool event_queue::push_event(std::string_view event_type, std::string_view topic,
                             std::string_view timestamp, std::string_view data) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::int32_t r[kMetaStride] = {record_event};
  append_field(event_type, r[1], r[2]);
  append_field(topic, r[3], r[4]);
  append_field(timestamp, r[5], r[6]);
  append_field(data, r[7], r[8]);
  pending_.meta.insert(pending_.meta.end(), r, r + kMetaStride);
  ++pending_.events;
  const bool more = pending_.events < max_events_ && utf16_len_ < kSoftTextLimit;
  after_push_locked(lock);
  return more;
}

// Runs on the io thread.
void event_queue::push_control(std::string_view json) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::int32_t r[kMetaStride] = {record_control};
  append_field(json, r[1], r[2]);
  pending_.meta.insert(pending_.meta.end(), r, r + kMetaStride);
  after_push_locked(lock);
}

// Runs on the io thread.
void event_queue::push_server(std::string_view json) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::int32_t r[kMetaStride] = {record_server};
  append_field(json, r[1], r[2]);
  pending_.meta.insert(pending_.meta.end(), r, r + kMetaStride);
  after_push_locked(lock);
}

// Runs on the JS thread.
std::size_t event_queue::drain(batch& out) {
  out.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  std::swap(out, pending_);
  utf16_len_ = 0;
  wake_outstanding_ = false;
  return out.events;
}

std::size_t event_queue::depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pending_.events;
}

}  // namespace vr
