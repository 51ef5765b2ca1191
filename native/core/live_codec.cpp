#include "core/live_codec.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace vr {
namespace {

// Top-level keys classify() looks at. The value slots keep the string; the mark slots only
// record presence (they are the distinctive keys of the kind table).
enum slot : std::uint8_t {
  s_id, s_customer_id, s_status, s_owner_type, s_owner_id, s_tm_update, s_tm_create, s_tm_delete,
  s_direction, s_value_count,
  m_tm_transcript = s_value_count, m_language, m_provider, m_service_agent_id,
  m_duration_waiting, m_duration_service, m_username, m_answer_method, m_groupcall_ids,
  m_answer_groupcall_id, m_chained_call_ids, m_master_call_id, m_hangup_by, m_hangup_reason,
  m_mute_direction, m_conferencecall_ids, m_pre_flow_id, m_post_flow_id, m_format, m_tm_start,
  m_current_action, m_executed_actions, m_forward_action_id, m_targets,
  k_event_type, k_type, k_data,
  slot_count,
  no_slot = 0xff,
};
static_assert(slot_count <= 64, "marks are a 64-bit set");

struct key_entry {
  std::string_view name;
  slot s;
};

constexpr key_entry key_table[] = {
    {"id", s_id}, {"customer_id", s_customer_id}, {"status", s_status},
    {"owner_type", s_owner_type}, {"owner_id", s_owner_id}, {"tm_update", s_tm_update},
    {"tm_create", s_tm_create}, {"tm_delete", s_tm_delete}, {"direction", s_direction},
    {"tm_transcript", m_tm_transcript},
    {"language", m_language}, {"provider", m_provider}, {"service_agent_id", m_service_agent_id},
    {"duration_waiting", m_duration_waiting}, {"duration_service", m_duration_service},
    {"username", m_username}, {"answer_method", m_answer_method},
    {"groupcall_ids", m_groupcall_ids}, {"answer_groupcall_id", m_answer_groupcall_id},
    {"chained_call_ids", m_chained_call_ids}, {"master_call_id", m_master_call_id},
    {"hangup_by", m_hangup_by}, {"hangup_reason", m_hangup_reason},
    {"mute_direction", m_mute_direction}, {"conferencecall_ids", m_conferencecall_ids},
    {"pre_flow_id", m_pre_flow_id}, {"post_flow_id", m_post_flow_id}, {"format", m_format},
    {"tm_start", m_tm_start}, {"current_action", m_current_action},
    {"executed_actions", m_executed_actions}, {"forward_action_id", m_forward_action_id},
    {"targets", m_targets}, {"event_type", k_event_type}, {"type", k_type}, {"data", k_data},
};

// A frame has ~30 keys, so lookup must be about one compare: an open-addressed table hashed on
// the length and three of the key's bytes, a quarter full. (Buckets by length alone left up to
// five candidates for the frequent 8- and 9-byte keys, each a memcmp.)
struct key_index {
  static constexpr std::size_t slots = 128;
  std::array<key_entry, slots> table{};  // an empty name is a free slot
  static std::size_t hash(std::string_view k) noexcept {
    const auto at = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(k[i])); };
    return (k.size() * 31 + at(0) * 7 + at(k.size() / 2) * 3 + at(k.size() - 1)) & (slots - 1);
  }
  key_index() {
    for (const auto& e : key_table) {
      std::size_t i = hash(e.name);
      while (!table[i].name.empty()) i = (i + 1) & (slots - 1);
      table[i] = e;
    }
  }
  slot find(std::string_view key) const noexcept {
    if (key.empty()) return no_slot;
    for (std::size_t i = hash(key); !table[i].name.empty(); i = (i + 1) & (slots - 1))
      if (table[i].name == key) return table[i].s;
    return no_slot;
  }
};

const key_index& keys() {
  static const key_index index;
  return index;
}

constexpr std::uint64_t bit(slot s) { return std::uint64_t{1} << s; }

struct kind_row {
  std::string_view resource;
  std::uint64_t any_of;
};

// Order matters: groupcall before call (both have master_call_id).
constexpr kind_row kind_table[] = {
    // not transcribe_id: conferences carry one too
    {"transcript", bit(m_tm_transcript)},
    {"transcribe", bit(m_language) | bit(m_provider)},
    {"queuecall", bit(m_service_agent_id) | bit(m_duration_waiting) | bit(m_duration_service)},
    {"agent", bit(m_username)},
    {"groupcall", bit(m_answer_method) | bit(m_groupcall_ids) | bit(m_answer_groupcall_id)},
    {"call", bit(m_chained_call_ids) | bit(m_master_call_id) | bit(m_hangup_by) |
                 bit(m_hangup_reason) | bit(m_mute_direction)},
    {"conference", bit(m_conferencecall_ids) | bit(m_pre_flow_id) | bit(m_post_flow_id)},
    {"recording", bit(m_format) | bit(m_tm_start)},
    {"activeflow", bit(m_current_action) | bit(m_executed_actions) | bit(m_forward_action_id)},
    {"message", bit(m_targets)},
};

struct status_row {
  std::string_view resource;
  std::string_view status;
  std::string_view event;  // suffix after "<resource>_"
};

constexpr status_row status_table[] = {
    {"call", "dialing", "dialing"}, {"call", "ringing", "ringing"},
    {"call", "progressing", "progressing"}, {"call", "terminating", "terminating"},
    {"call", "canceling", "canceling"}, {"call", "hangup", "hangup"},
    {"groupcall", "progressing", "progressing"}, {"groupcall", "hangup", "hangup"},
    {"recording", "recording", "started"}, {"recording", "ended", "finished"},
    {"queuecall", "initiating", "created"}, {"queuecall", "waiting", "waiting"},
    {"queuecall", "connecting", "connecting"}, {"queuecall", "service", "serviced"},
    {"queuecall", "done", "done"}, {"queuecall", "abandoned", "abandoned"},
    {"transcribe", "progressing", "progressing"}, {"transcribe", "done", "done"},
};

constexpr std::string_view nil_uuid = "00000000-0000-0000-0000-000000000000";

// The topic grammar's resource_id, minus the pattern-only '*'.
bool id_segment(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7f || c == ':' || c == '*' || c == '"' || c == '\\') return false;
  return true;
}

// Appends `s`, lower-cased when it is a UUID (`uuid` is the caller's is_uuid(s), computed once).
// A UUID holds only hex digits and dashes, and of those only A-F lack the 0x20 bit: setting it
// on every byte lower-cases the UUID, in a loop the compiler turns into a few vector ORs.
void append_id(std::string& out, std::string_view s, bool uuid) {
  const std::size_t at = out.size();
  out.append(s);
  if (!uuid) return;
  char* p = out.data() + at;
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = static_cast<char>(p[i] | 0x20);
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// [a-z][a-z0-9]*(_[a-z0-9]+)+
bool wrapper_type(std::string_view t) noexcept {
  if (t.empty() || t.front() < 'a' || t.front() > 'z') return false;
  bool underscore = false;
  char prev = 0;
  for (char c : t) {
    if (c == '_') {
      if (prev == '_') return false;
      underscore = true;
    } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      return false;
    }
    prev = c;
  }
  return underscore && prev != '_';
}

bool split4(std::string_view s, std::string_view (&parts)[4]) noexcept {
  std::size_t n = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ':') {
      if (n == 4) return false;
      parts[n++] = s.substr(start, i - start);
      start = i + 1;
    }
  }
  return n == 4;
}

// A tm_* value that is a real time: production sends null for "not yet"; older services used a
// 9999-01-01 sentinel for "never", which must not read as deleted.
bool is_time(std::string_view v, bool present) noexcept {
  return present && !v.empty() && v.substr(0, 4) != "9999";
}

constexpr std::uint64_t hash_seed = 0x9e3779b97f4a7c15ull;
constexpr std::uint64_t hash_mul = 0xff51afd7ed558ccdull;

void hash_word(std::uint64_t& h, std::uint64_t w) noexcept {
  h = (h ^ w) * hash_mul;
  h ^= h >> 32;
}

// Mixes one part of the dedupe key into `h`, eight bytes at a time (a byte at a time, the hash
// took 40% of resource_event's own time). The part's length goes in after it, so the parts'
// boundaries count: ("ab", "c") and ("a", "bc") hash apart.
void hash_part(std::uint64_t& h, std::string_view s) noexcept {
  const char* p = s.data();
  std::size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    hash_word(h, w);
  }
  if (n > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    hash_word(h, w);
  }
  hash_word(h, s.size());
}

}  // namespace

struct live_codec::resource_fields {
  std::string_view value[s_value_count];
  std::uint64_t strings = 0;  // value slots holding a JSON string
  std::uint64_t present = 0;  // every slot seen
  std::size_t key_count = 0;
  simdjson::dom::element type;
  simdjson::dom::element data;

  bool has(slot s) const noexcept { return (present & bit(s)) != 0; }
  bool str(slot s) const noexcept { return (strings & bit(s)) != 0; }
  std::string_view get(slot s) const noexcept { return str(s) ? value[s] : std::string_view{}; }
};

void live_codec::scan(simdjson::dom::object object, resource_fields& f) const {
  const key_index& index = keys();
  for (const auto kv : object) {
    ++f.key_count;
    const slot s = index.find(kv.key);
    if (s == no_slot) continue;  // of duplicate keys the last one wins, as in JSON.parse
    f.present |= bit(s);
    if (s < s_value_count) {
      std::string_view v;
      if (kv.value.get_string().get(v) == simdjson::SUCCESS) {
        f.value[s] = v;
        f.strings |= bit(s);
      } else {
        f.value[s] = {};
        f.strings &= ~bit(s);
      }
    } else if (s == k_type) {
      f.type = kv.value;
    } else if (s == k_data) {
      f.data = kv.value;
    }
  }
}

void live_codec::release_memory() noexcept {
  release_frame(out_);
  shrink_parser(dom_, 0);
  shrink_parser(spans_, 0);
  std::vector<char>().swap(copy_);
  std::string().swap(event_type_);
  std::string().swap(topic_);
  std::string().swap(alt_topic_);
}

void live_codec::reset() {
  out_.kind = frame_kind::malformed;
  out_.event_type = {};
  out_.timestamp = {};
  out_.topic = {};
  out_.data = {};
  out_.action = {};
  out_.code = {};
  out_.message = {};
  out_.topics.clear();
  out_.raw = {};
  out_.reason.clear();
  out_.alt_topic = {};
  out_.dedupe_key = 0;
  out_.resource = {};
  out_.server_event_type = {};
}

const frame_view& live_codec::fail(std::string reason) {
  out_.kind = frame_kind::malformed;
  out_.reason = std::move(reason);
  return out_;
}

const frame_view& live_codec::ignore(std::string reason) {
  out_.kind = frame_kind::ignored;
  out_.reason = std::move(reason);
  return out_;
}

// Runs on the client's io thread (strand of its connection).
const frame_view& live_codec::classify(const char* data, std::size_t size, std::size_t capacity) {
  reset();
  if (size == 0) return fail("empty frame");
  const char* buf = data;
  if (capacity < size + simdjson::SIMDJSON_PADDING) {
    copy_.assign(data, data + size);
    copy_.resize(size + simdjson::SIMDJSON_PADDING, '\0');
    buf = copy_.data();
    capacity = copy_.size();
  }

  shrink_parser(dom_, size);
  shrink_parser(spans_, size);
  // The DOM parser validates everything (structure, UTF-8, escapes, numbers) before we look.
  simdjson::dom::element root;
  if (auto ec = dom_.parse(buf, size, false).get(root); ec != simdjson::SUCCESS)
    return fail(std::string("frame is not valid JSON: ") + simdjson::error_message(ec));
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) return fail("frame is not a JSON object");

  resource_fields f;
  scan(object, f);
  const std::string_view whole = trim(std::string_view(buf, size));

  if (f.has(k_event_type)) return envelope(object, buf, size, capacity);

  std::string_view type;
  const bool type_string = f.has(k_type) && f.type.get_string().get(type) == simdjson::SUCCESS;
  if (type_string && (type == "ack" || type == "error") && !f.has(s_id) && !f.has(s_customer_id))
    return control(object, type, whole);

  if (type_string && f.key_count == 2 && f.has(k_data) && wrapper_type(type)) {
    simdjson::dom::object inner;
    if (f.data.get_object().get(inner) != simdjson::SUCCESS)
      return fail("wrapped " + std::string(type) + " event: data is not an object");
    resource_fields g;
    scan(inner, g);
    std::string_view span;
    if (!member_span(buf, size, capacity, "data", span))
      return fail("wrapped " + std::string(type) + " event: data cannot be located");
    return resource_event(g, type.substr(0, type.find('_')), type, span);
  }

  for (const auto& row : kind_table)
    if ((f.present & row.any_of) != 0) return resource_event(f, row.resource, {}, whole);
  if (f.str(s_id) && f.str(s_customer_id))
    return ignore("resource " + std::string(f.value[s_id]) + " has an unrecognised shape");
  return ignore("object is neither an event nor a resource");
}

const frame_view& live_codec::resource_event(const resource_fields& f, std::string_view resource,
                                             std::string_view wrapped_type, std::string_view data) {
  const std::string_view customer = f.get(s_customer_id);
  const std::string_view id = f.get(s_id);
  // The topics first: deriving them checks the customer and the id, once per event.
  if (!live_resource_topics(customer, resource, id, f.get(s_owner_type), f.get(s_owner_id), topic_, alt_topic_)) {
    return fail(std::string(resource) +
                (is_uuid(customer) ? " event without a usable id" : " event without a customer_id UUID"));
  }

  const std::string_view status = f.get(s_status);
  const std::string_view tm_update = f.get(s_tm_update);
  const std::string_view tm_create = f.get(s_tm_create);

  if (!wrapped_type.empty()) {
    out_.event_type = wrapped_type;
  } else {
    std::string_view suffix;
    if (is_time(f.get(s_tm_delete), f.str(s_tm_delete))) suffix = "deleted";
    // A call starts dialing (outgoing) or ringing (incoming), and every status change moves
    // tm_update on: one of those statuses with tm_update still equal to tm_create (or null) is
    // the call's creation, not a status change.
    if (suffix.empty() && resource == "call" && (status == "dialing" || status == "ringing") &&
        f.str(s_tm_create) && (!f.str(s_tm_update) || tm_update == tm_create))
      suffix = "created";
    if (suffix.empty() && f.str(s_status)) {
      for (const auto& row : status_table)
        if (row.resource == resource && row.status == status) {
          suffix = row.event;
          break;
        }
    }
    if (suffix.empty()) {
      const bool fresh = !f.str(s_tm_update) || tm_update == tm_create;
      if (resource == "agent")
        suffix = fresh ? "created" : "status_updated";
      else
        suffix = fresh ? "created" : "updated";
    }
    event_type_.assign(resource);
    event_type_.push_back('_');
    event_type_.append(suffix);
    out_.event_type = event_type_;
  }
  out_.server_event_type = out_.event_type;

  out_.topic = topic_;
  // customer_id:<customer>:<resource>:<id>, the customer a UUID
  out_.resource = std::string_view(topic_).substr(customer.size() + 13, resource.size());
  if (!alt_topic_.empty()) out_.alt_topic = alt_topic_;

  out_.timestamp = f.str(s_tm_update) ? tm_update : tm_create;
  out_.data = data;

  std::uint64_t h = hash_seed;
  hash_part(h, out_.resource);
  hash_part(h, id);
  hash_part(h, out_.event_type);
  if (f.str(s_tm_update) || f.str(s_status)) {
    hash_part(h, tm_update);
    hash_part(h, status);
  } else {
    hash_part(h, tm_create);
  }
  out_.dedupe_key = h == 0 ? 1 : h;
  if (const std::string_view doc = live_documented_event(out_.server_event_type, status, f.get(s_direction));
      !doc.empty())
    out_.event_type = doc;
  out_.kind = frame_kind::event;
  return out_;
}

bool live_resource_topics(std::string_view customer, std::string_view resource, std::string_view id,
                          std::string_view owner_type, std::string_view owner, std::string& topic,
                          std::string& alt_topic) {
  topic.clear();
  alt_topic.clear();
  const bool id_uuid = is_uuid(id);  // a UUID is a usable id segment as it stands
  if (!is_uuid(customer) || (!id_uuid && !id_segment(id))) return false;
  topic.assign("customer_id:");
  append_id(topic, customer, true);
  topic.push_back(':');
  const std::size_t resource_at = topic.size();
  topic.append(resource);
  topic.push_back(':');
  append_id(topic, id, id_uuid);

  if (live_has_owner(resource) && owner_type == "agent" && owner != nil_uuid && is_uuid(owner)) {
    alt_topic.assign("agent_id:");
    append_id(alt_topic, owner, true);
  } else if (const std::string_view alias = live_documented_alias(resource); !alias.empty()) {
    alt_topic.assign(topic, 0, resource_at);  // customer_id:<customer>:
    resource = alias;
  }
  if (!alt_topic.empty()) {
    if (alt_topic.back() != ':') alt_topic.push_back(':');
    alt_topic.append(resource);
    alt_topic.push_back(':');
    append_id(alt_topic, id, id_uuid);
  }
  return true;
}

void live_kind_marks::add(std::string_view key) noexcept {
  const slot s = keys().find(key);
  if (s != no_slot) present_ |= bit(s);
}

std::string_view live_kind_marks::resource() const noexcept {
  for (const auto& row : kind_table)
    if ((present_ & row.any_of) != 0) return row.resource;
  return {};
}

const frame_view& live_codec::envelope(simdjson::dom::object object, const char* buf,
                                       std::size_t size, std::size_t capacity) {
  std::string_view event_type, topic, timestamp;
  // Of duplicate keys the last one counts, as in JSON.parse (the DOM's lookup finds the first).
  simdjson::dom::element type_value, topic_value, time_value;
  bool has_topic = false, has_time = false;
  for (const auto kv : object) {
    if (kv.key == "event_type") {
      type_value = kv.value;
    } else if (kv.key == "topic") {
      topic_value = kv.value;
      has_topic = true;
    } else if (kv.key == "timestamp") {
      time_value = kv.value;
      has_time = true;
    }
  }
  if (type_value.get_string().get(event_type) != simdjson::SUCCESS) return fail("event_type is not a string");
  if (!has_topic || topic_value.get_string().get(topic) != simdjson::SUCCESS)
    return fail("event " + std::string(event_type) + " has no topic string");
  if (has_time && !time_value.is_null() && time_value.get_string().get(timestamp) != simdjson::SUCCESS)
    return fail("event " + std::string(event_type) + " has a timestamp that is not a string");
  std::string_view data;
  if (!member_span(buf, size, capacity, "data", data))
    return fail("event " + std::string(event_type) + " has no data");
  if (data.empty() || data.front() != '{') return fail("event " + std::string(event_type) + ": data is not an object");
  out_.kind = frame_kind::event;
  out_.event_type = event_type;
  out_.topic = topic;
  out_.timestamp = timestamp;
  out_.data = data;
  std::string_view parts[4];
  if (split4(topic, parts)) out_.resource = parts[2];
  return out_;
}

const frame_view& live_codec::control(simdjson::dom::object object, std::string_view type,
                                      std::string_view raw) {
  simdjson::dom::element value;
  auto text = [&](const char* key, std::string_view& out) {
    if (object[key].get(value) != simdjson::SUCCESS) return true;
    return value.get_string().get(out) == simdjson::SUCCESS;
  };
  if (!text("action", out_.action)) return fail(std::string(type) + " frame: action is not a string");
  if (object["topics"].get(value) == simdjson::SUCCESS) {
    simdjson::dom::array topics;
    if (value.get_array().get(topics) != simdjson::SUCCESS)
      return fail(std::string(type) + " frame: topics is not an array");
    for (const auto t : topics) {
      std::string_view s;
      if (t.get_string().get(s) != simdjson::SUCCESS)
        return fail(std::string(type) + " frame: topics holds a value that is not a string");
      out_.topics.emplace_back(s);
    }
  }
  if (type == "error") {
    if (!text("code", out_.code)) return fail("error frame: code is not a string");
    if (!text("message", out_.message)) return fail("error frame: message is not a string");
    out_.kind = frame_kind::error;
  } else {
    out_.kind = frame_kind::ack;
  }
  out_.raw = raw;
  return out_;
}

// The DOM has no source positions, so the raw text of one top-level member comes from a second,
// on-demand pass over the (already validated) frame.
bool live_codec::member_span(const char* buf, std::size_t size, std::size_t capacity,
                             std::string_view key, std::string_view& out) {
  simdjson::ondemand::document doc;
  if (spans_.iterate(buf, size, capacity).get(doc) != simdjson::SUCCESS) return false;
  simdjson::ondemand::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return false;
  bool found = false;
  for (auto member : object) {
    simdjson::ondemand::field field;
    if (std::move(member).get(field) != simdjson::SUCCESS) return false;
    std::string_view name;
    if (field.unescaped_key(false).get(name) != simdjson::SUCCESS) return false;
    if (name != key) continue;
    simdjson::ondemand::value value = field.value();
    simdjson::ondemand::json_type type;
    if (value.type().get(type) != simdjson::SUCCESS) return false;
    std::string_view raw;
    if (type == simdjson::ondemand::json_type::object) {
      simdjson::ondemand::object o;
      if (value.get_object().get(o) != simdjson::SUCCESS || o.raw_json().get(raw) != simdjson::SUCCESS)
        return false;
    } else if (type == simdjson::ondemand::json_type::array) {
      simdjson::ondemand::array a;
      if (value.get_array().get(a) != simdjson::SUCCESS || a.raw_json().get(raw) != simdjson::SUCCESS)
        return false;
    } else {
      raw = value.raw_json_token();
    }
    // Duplicate keys: the last one wins, as in JSON.parse (and in scan()).
    out = trim(raw);
    found = true;
  }
  return found;
}

}  // namespace vr
