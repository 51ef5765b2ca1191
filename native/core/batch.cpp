#include "core/batch.h"

#include <cstring>
#include <utility>

namespace vr {

namespace {

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

// Called before each record, with at most the UTF-16 units it will add: a record that would take
// the current segment past kMaxSegmentUnits starts the next one (a segment's first record always
// stays in it, however large).
void batch::start_record(std::size_t max_units) {
  const bool first = segments.empty();
  if (first || (meta.size() > segments.back().record &&
                units + static_cast<std::int64_t>(max_units) - segments.back().unit > kMaxSegmentUnits)) {
    segments.push_back({meta.size(), units});
    name_count_ = 0;
    name_next_ = 0;
  }
}

void batch::append_field(std::string_view s, std::int32_t& begin, std::int32_t& end) {
  begin = static_cast<std::int32_t>(units);
  text.append(s);
  units += utf16_length(s, ascii);
  end = static_cast<std::int32_t>(units);
}

void batch::append_name(std::string_view name, std::int32_t& begin, std::int32_t& end) {
  if (name.empty() || name.size() > kMaxSharedName) {
    append_field(name, begin, end);
    return;
  }
  for (std::size_t k = 0; k < name_count_; ++k) {
    const name_span& n = names_[k];
    if (n.size == name.size() && std::memcmp(text.data() + n.byte, name.data(), name.size()) == 0) {
      begin = n.begin;
      end = n.end;
      return;
    }
  }
  const std::size_t byte = text.size();
  append_field(name, begin, end);
  name_span* slot;
  if (name_count_ < kNames) {
    slot = &names_[name_count_++];
  } else {
    slot = &names_[name_next_];
    name_next_ = (name_next_ + 1) % kNames;
  }
  *slot = {byte, static_cast<std::uint32_t>(name.size()), begin, end};
}

void batch::append_event(std::string_view event_type, std::string_view topic, std::string_view timestamp,
                         std::string_view data, std::string_view server_event_type,
                         std::string_view second_topic) {
  std::int32_t r[kMetaStride] = {record_event};
  const std::size_t bytes = event_type.size() + topic.size() + timestamp.size() + data.size() +
                            server_event_type.size() + second_topic.size();
  start_record(bytes);
  text.reserve(text.size() + bytes);
  append_name(event_type, r[1], r[2]);
  append_field(topic, r[3], r[4]);
  append_field(timestamp, r[5], r[6]);
  append_field(data, r[7], r[8]);
  append_name(server_event_type, r[9], r[10]);
  append_field(second_topic, r[11], r[12]);
  meta.insert(meta.end(), r, r + kMetaStride);
  ++events;
}

void batch::append_record(record_kind kind, std::string_view json) {
  std::int32_t r[kMetaStride] = {kind};
  start_record(json.size());
  append_field(json, r[1], r[2]);
  meta.insert(meta.end(), r, r + kMetaStride);
}

// With nothing here (the consumer keeps up) the two batches just swap, so the other's text is
// never copied.
void batch::append(batch& other) {
  if (other.meta.empty()) return;
  if (meta.empty()) {
    std::swap(*this, other);
    other.clear();
    return;
  }
  const auto base = static_cast<std::int32_t>(units);
  const std::size_t byte_base = text.size();
  const std::size_t first = meta.size();
  meta.insert(meta.end(), other.meta.begin(), other.meta.end());
  for (std::size_t i = first; i < meta.size(); i += kMetaStride) {
    const int used = record_slots(meta[i]);
    for (int k = 1; k <= used; ++k) meta[i + k] += base;
  }
  // The other's first segment joins the last one here when both fit in one: their records
  // refer only to text inside each, so inside the joined one too.
  const std::int64_t other_first_units = other.segments.size() > 1 ? other.segments[1].unit : other.units;
  const bool join = (units - segments.back().unit) + other_first_units <= kMaxSegmentUnits;
  for (std::size_t s = join ? 1 : 0; s < other.segments.size(); ++s) {
    segments.push_back({other.segments[s].record + first, other.segments[s].unit + base});
  }
  // The segment now open is the other's last (or the joined one): its names are the other's.
  name_count_ = other.name_count_;
  name_next_ = other.name_next_;
  for (std::size_t k = 0; k < name_count_; ++k) {
    const name_span& n = other.names_[k];
    names_[k] = {n.byte + byte_base, n.size, n.begin + base, n.end + base};
  }
  text.append(other.text);
  units += other.units;
  events += other.events;
  ascii = ascii && other.ascii;
  other.clear();
}

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
  segments.clear();
  units = 0;
  events = 0;
  ascii = true;
  reader_stopped = false;
  name_count_ = 0;
  name_next_ = 0;
}

}  // namespace vr
