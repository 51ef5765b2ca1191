#include "core/codec.h"

#include "core/prefilter_scan.h"

#include <utility>

namespace vr {

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

namespace {

// JSON whitespace and the scans over valid JSON are the prefilter's (prefilter_scan.h).
using prefilter_scan::is_json_space;
using prefilter_scan::skip_space;

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_json_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_json_space(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 8259 number grammar. simdjson refuses numbers it cannot represent (1e400, integers past
// 64 bits) that are still valid JSON and that JSON.parse accepts, so syntax is checked here.
bool is_json_number(std::string_view s) noexcept {
  std::size_t i = 0;
  const auto digit = [&](std::size_t at) { return at < s.size() && s[at] >= '0' && s[at] <= '9'; };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digit(i)) return false;
  if (s[i] == '0') {
    ++i;
  } else {
    while (digit(i)) ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  return i == s.size();
}

// On-demand parsing does not enforce a depth limit, and walking recurses once per level.
constexpr int kMaxDepth = 512;

error_code walk(ondemand::value& v, int depth) noexcept;

template <class V>
error_code walk_object(V& v, int depth) noexcept {
  ondemand::object object;
  if (auto e = v.get_object().get(object)) return e;
  for (auto item : object) {
    ondemand::field field;
    if (auto e = std::move(item).get(field)) return e;
    std::string_view key;
    if (auto e = field.unescaped_key(false).get(key)) return e;
    ondemand::value child = field.value();
    if (auto e = walk(child, depth + 1)) return e;
  }
  return simdjson::SUCCESS;
}

template <class V>
error_code walk_array(V& v, int depth) noexcept {
  ondemand::array array;
  if (auto e = v.get_array().get(array)) return e;
  for (auto item : array) {
    ondemand::value child;
    if (auto e = item.get(child)) return e;
    if (auto e = walk(child, depth + 1)) return e;
  }
  return simdjson::SUCCESS;
}

std::string_view token_of(ondemand::value& v) noexcept { return v.raw_json_token(); }
std::string_view token_of(ondemand::document& doc) noexcept {
  std::string_view token;
  return doc.raw_json_token().get(token) ? std::string_view() : token;
}

// Strings, booleans and null.
template <class V>
error_code check_atom(V& v, ondemand::json_type type) noexcept {
  switch (type) {
    case ondemand::json_type::string: {
      std::string_view s;
      return v.get_string().get(s);
    }
    // Compared as text: simdjson's checks differ between root and nested atoms.
    case ondemand::json_type::boolean: {
      const auto token = trim(token_of(v));
      if (token == "true" || token == "false") return simdjson::SUCCESS;
      return !token.empty() && token.front() == 't' ? simdjson::T_ATOM_ERROR
                                                    : simdjson::F_ATOM_ERROR;
    }
    case ondemand::json_type::null:
      return trim(token_of(v)) == "null" ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    default:
      return simdjson::INCORRECT_TYPE;
  }
}

// Consumes `v` completely, checking every scalar: on-demand parsing only looks at what is asked
// for, so this is what turns "skipped" into "valid".
error_code walk(ondemand::value& v, int depth) noexcept {
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  ondemand::json_type type;
  if (auto e = v.type().get(type)) return e;
  switch (type) {
    case ondemand::json_type::object:
      return walk_object(v, depth);
    case ondemand::json_type::array:
      return walk_array(v, depth);
    case ondemand::json_type::number:
      return is_json_number(trim(v.raw_json_token())) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
    default:
      return check_atom(v, type);
  }
}

// After the root value was consumed: anything but the end of input is trailing content.
error_code check_end(ondemand::document& doc) noexcept {
  const char* where = nullptr;
  const auto e = doc.current_location().get(where);
  if (e == simdjson::OUT_OF_BOUNDS) return simdjson::SUCCESS;
  return e ? e : simdjson::TRAILING_CONTENT;
}

// Validates a whole document; `text` is its trimmed source.
error_code validate(ondemand::document& doc, std::string_view text) noexcept {
  ondemand::json_type type;
  if (auto e = doc.type().get(type)) return e;
  if (type == ondemand::json_type::object || type == ondemand::json_type::array) {
    const auto e = type == ondemand::json_type::object ? walk_object(doc, 1) : walk_array(doc, 1);
    return e ? e : check_end(doc);
  }
  // A scalar root: its token has to be all there is.
  std::string_view token;
  if (auto e = doc.raw_json_token().get(token)) return e;
  token = trim(token);
  if (token.size() != text.size()) return simdjson::TRAILING_CONTENT;
  if (type == ondemand::json_type::number)
    return is_json_number(token) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
  return check_atom(doc, type);
}

// Raw text of `v` without the whitespace that follows it.
error_code raw_text(ondemand::value& v, std::string_view& out) noexcept {
  ondemand::json_type type;
  if (auto e = v.type().get(type)) return e;
  if (type == ondemand::json_type::object) {
    ondemand::object object;
    if (auto e = v.get_object().get(object)) return e;
    if (auto e = object.raw_json().get(out)) return e;
  } else if (type == ondemand::json_type::array) {
    ondemand::array array;
    if (auto e = v.get_array().get(array)) return e;
    if (auto e = array.raw_json().get(out)) return e;
  } else {
    out = v.raw_json_token();
    // A string must be consumed here: when on-demand skips an unread string that is followed
    // by ':' it takes it for a key and skips on, hiding malformed text ({"data":"a":1}).
    if (type == ondemand::json_type::string) {
      ondemand::raw_json_string ignored;
      if (auto e = v.get_raw_json_string().get(ignored)) return e;
    }
  }
  out = trim(out);
  return simdjson::SUCCESS;
}

enum class field_state : unsigned char { absent, ok, wrong_type };

error_code read_string(ondemand::value& v, std::string_view& out, field_state& state,
                       bool null_is_absent = false) noexcept {
  ondemand::json_type type;
  if (auto e = v.type().get(type)) return e;
  if (type == ondemand::json_type::null && null_is_absent) {
    state = field_state::absent;
    out = {};
    return walk(v, 2);
  }
  if (type != ondemand::json_type::string) {
    state = field_state::wrong_type;
    return walk(v, 2);
  }
  state = field_state::ok;
  return v.get_string().get(out);
}

}  // namespace

struct documented_codec::fields {
  std::string_view event_type, topic, timestamp, data, type, action, status, code, message;
  field_state event_type_s = field_state::absent, topic_s = field_state::absent,
              timestamp_s = field_state::absent, data_s = field_state::absent,
              type_s = field_state::absent, action_s = field_state::absent,
              status_s = field_state::absent, code_s = field_state::absent,
              message_s = field_state::absent, topics_s = field_state::absent;
  std::size_t data_member = 0;  // fast path: the 0-based member index of the last "data"
};

void append_json_string_array(std::string& out, const std::vector<std::string>& items) {
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, items[i]);
  }
  out += ']';
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20) {
          const char escaped[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
          out.append(escaped, sizeof escaped);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

std::string documented_codec::encode(std::string_view action,
                                     const std::vector<std::string>& topics) {
  std::string out;
  std::size_t size = 32 + action.size();
  for (const auto& t : topics) size += t.size() + 3;
  out.reserve(size);
  out.append("{\"type\":");
  append_json_string(out, action);
  out.append(",\"topics\":[");
  for (std::size_t i = 0; i < topics.size(); ++i) {
    if (i != 0) out.push_back(',');
    append_json_string(out, topics[i]);
  }
  out.append("]}");
  return out;
}

namespace {

// Frames nested deeper than this take the on-demand path, whose own limit (kMaxDepth) decides.
constexpr std::size_t kFastDepth = 256;

// `p` is at the opening quote of a string in valid JSON; returns just past its closing quote.
// The prefilter's scanning, 16 bytes at a time where the build has SSE2.
const char* skip_string(const char* p, const char* end) noexcept {
  bool escaped = false;
  const char* const close = prefilter_scan::string_end<detail::prefilter_uses_sse2>(p + 1, end, escaped);
  return close ? close + 1 : nullptr;
}

// `p` is at the first byte of a value in valid JSON that starts at `begin`; returns just past
// the value's last byte.
const char* skip_value(const char* begin, const char* p, const char* end) noexcept {
  if (p >= end) return nullptr;
  if (*p == '"') return skip_string(p, end);
  if (*p == '{' || *p == '[') return prefilter_scan::skip_nested<detail::prefilter_uses_sse2>(begin, p, end);
  while (p < end && *p != ',' && *p != '}' && *p != ']' && !is_json_space(*p)) ++p;
  return p;
}

// The raw text of member `index` of `count` in the already validated object `frame` (trimmed).
// Keys are not compared, so escaped keys need no decoding: the DOM walk found the index.
bool member_text(std::string_view frame, std::size_t index, std::size_t count, std::string_view& out) noexcept {
  const char* p = frame.data() + 1;
  const char* const end = frame.data() + frame.size();
  for (std::size_t m = 0;; ++m) {
    p = skip_space(p, end);
    if (p >= end || *p != '"' || !(p = skip_string(p, end))) return false;
    p = skip_space(p, end);
    if (p >= end || *p != ':') return false;
    p = skip_space(p + 1, end);
    const char* const value = p;
    if (m == index && index + 1 == count) {
      // The last member ends where the object does.
      out = trim(std::string_view(value, static_cast<std::size_t>(end - 1 - value)));
      return !out.empty();
    }
    if (!(p = skip_value(frame.data(), p, end))) return false;
    if (m == index) {
      out = std::string_view(value, static_cast<std::size_t>(p - value));
      return true;
    }
    p = skip_space(p, end);
    if (p >= end || *p != ',') return false;
    ++p;
  }
}

void dom_string(simdjson::dom::element v, std::string_view& out, field_state& state,
                bool null_is_absent = false) noexcept {
  if (v.is_string()) {
    state = field_state::ok;
    out = v.get_string().value_unsafe();
  } else if (null_is_absent && v.is_null()) {
    state = field_state::absent;
    out = {};
  } else {
    state = field_state::wrong_type;
  }
}

}  // namespace

documented_codec::documented_codec() {
  // On failure max_depth() stays unset, and classify_fast sends every frame to the on-demand path.
  const auto e = dom_.allocate(4096, kFastDepth);
  static_cast<void>(e);
}

// Fields are reset one by one so that `topics` and `reason` keep their capacity.
void documented_codec::reset() noexcept {
  frame_view& out = out_;
  out.kind = frame_kind::malformed;
  out.event_type = out.timestamp = out.topic = out.data = {};
  out.action = out.code = out.message = out.raw = {};
  out.alt_topic = out.resource = {};
  out.dedupe_key = 0;
  out.topics.clear();
  out.reason.clear();
}

void release_frame(frame_view& out) noexcept {
  // Swapped out rather than assigned: a moved-in empty string would leave the old buffer in place.
  frame_view empty;
  std::swap(out, empty);
}

void documented_codec::release_memory() noexcept {
  release_frame(out_);
  shrink_parser(dom_, 0);
  shrink_parser(parser_, 0);
  shrink_parser(validator_, 0);
}

// Runs on the io thread of whoever reads frames (a client or the emulator).
const frame_view& documented_codec::classify(const char* data, std::size_t size,
                                             std::size_t capacity) {
  reset();
  const std::string_view frame = trim(std::string_view(data, size));
  if (frame.empty()) {
    out_.reason.assign("empty frame");
    return out_;
  }
  if (capacity < size + simdjson::SIMDJSON_PADDING) {
    out_.reason.assign("frame buffer is not padded");
    return out_;
  }
  shrink_parser(dom_, size);
  shrink_parser(parser_, size);
  shrink_parser(validator_, size);
  if (classify_fast(data, size, frame)) return out_;
  reset();
  return classify_slow(data, size, capacity, frame);
}

// Valid frames within kFastDepth: one DOM parse validates everything, and `data` is located
// in the source by a scan that may trust the JSON to be well formed. Returns false to hand the
// frame to the on-demand path (invalid JSON, too deep, numbers no double can hold).
bool documented_codec::classify_fast(const char* data, std::size_t size, std::string_view frame) {
  if (dom_.max_depth() != kFastDepth) return false;
  simdjson::dom::element root;
  if (dom_.parse(data, size, false).get(root)) return false;
  frame_view& out = out_;
  if (frame.front() != '{') {
    out.reason.assign("not a JSON object");
    return true;
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) return false;
  fields f;
  std::vector<std::string>& topics = out.topics;
  std::size_t count = 0;
  for (auto [key, value] : object) {
    if (key == "event_type") {
      dom_string(value, f.event_type, f.event_type_s);
    } else if (key == "topic") {
      dom_string(value, f.topic, f.topic_s);
    } else if (key == "timestamp") {
      dom_string(value, f.timestamp, f.timestamp_s, true);
    } else if (key == "type") {
      dom_string(value, f.type, f.type_s);
    } else if (key == "action") {
      dom_string(value, f.action, f.action_s);
    } else if (key == "status") {
      dom_string(value, f.status, f.status_s);
    } else if (key == "code") {
      dom_string(value, f.code, f.code_s);
    } else if (key == "message") {
      dom_string(value, f.message, f.message_s);
    } else if (key == "data") {
      f.data_s = field_state::ok;
      f.data_member = count;
    } else if (key == "topics") {
      simdjson::dom::array array;
      if (value.get_array().get(array)) {
        f.topics_s = field_state::wrong_type;
      } else {
        topics.clear();
        f.topics_s = field_state::ok;
        for (auto element : array) {
          if (element.is_string()) {
            topics.emplace_back(element.get_string().value_unsafe());
          } else {
            f.topics_s = field_state::wrong_type;
          }
        }
      }
    }
    ++count;
  }
  if (f.data_s == field_state::ok && !member_text(frame, f.data_member, count, f.data)) return false;
  finish(f, frame);
  return true;
}

const frame_view& documented_codec::classify_slow(const char* data, std::size_t size,
                                                  std::size_t capacity, std::string_view frame) {
  frame_view& out = out_;
  const auto malformed = [&](std::string_view reason) -> const frame_view& {
    reset();
    out.reason.assign(reason);
    return out;
  };
  const auto invalid = [&](error_code e) -> const frame_view& {
    reset();
    out.reason.assign("invalid JSON: ").append(simdjson::error_message(e));
    return out;
  };

  ondemand::document doc;
  if (auto e = parser_.iterate(simdjson::padded_string_view(data, size, capacity)).get(doc))
    return invalid(e);

  if (frame.front() != '{') {
    if (auto e = validate(doc, frame)) return invalid(e);
    return malformed("not a JSON object");
  }

  ondemand::object object;
  if (auto e = doc.get_object().get(object)) return invalid(e);
  fields f;
  std::vector<std::string>& topics = out.topics;
  for (auto item : object) {
    ondemand::field field;
    if (auto e = std::move(item).get(field)) return invalid(e);
    std::string_view key;
    if (auto e = field.unescaped_key(false).get(key)) return invalid(e);
    ondemand::value value = field.value();
    error_code e = simdjson::SUCCESS;
    if (key == "event_type") {
      e = read_string(value, f.event_type, f.event_type_s);
    } else if (key == "topic") {
      e = read_string(value, f.topic, f.topic_s);
    } else if (key == "timestamp") {
      e = read_string(value, f.timestamp, f.timestamp_s, true);
    } else if (key == "type") {
      e = read_string(value, f.type, f.type_s);
    } else if (key == "action") {
      e = read_string(value, f.action, f.action_s);
    } else if (key == "status") {
      e = read_string(value, f.status, f.status_s);
    } else if (key == "code") {
      e = read_string(value, f.code, f.code_s);
    } else if (key == "message") {
      e = read_string(value, f.message, f.message_s);
    } else if (key == "data") {
      std::string_view text;
      if ((e = raw_text(value, text))) return invalid(e);
      // The span lies inside the caller's buffer, so the rest of it serves as padding.
      const auto offset = static_cast<std::size_t>(text.data() - data);
      ondemand::document inner;
      e = validator_
              .iterate(simdjson::padded_string_view(text.data(), text.size(), capacity - offset))
              .get(inner);
      if (!e) e = validate(inner, text);
      f.data = text;
      f.data_s = field_state::ok;
    } else if (key == "topics") {
      ondemand::json_type type;
      if ((e = value.type().get(type))) return invalid(e);
      if (type != ondemand::json_type::array) {
        f.topics_s = field_state::wrong_type;
        e = walk(value, 2);
      } else {
        topics.clear();
        f.topics_s = field_state::ok;
        ondemand::array array;
        if ((e = value.get_array().get(array))) return invalid(e);
        for (auto element : array) {
          ondemand::value v;
          if ((e = element.get(v))) return invalid(e);
          std::string_view s;
          field_state state = field_state::absent;
          if ((e = read_string(v, s, state))) return invalid(e);
          if (state == field_state::ok)
            topics.emplace_back(s);
          else
            f.topics_s = field_state::wrong_type;
        }
      }
    } else {
      e = walk(value, 2);
    }
    if (e) return invalid(e);
  }
  if (auto e = check_end(doc)) return invalid(e);

  return finish(f, frame);
}

const frame_view& documented_codec::finish(fields& f, std::string_view frame) {
  frame_view& out = out_;
  std::vector<std::string>& topics = out.topics;
  const auto malformed = [&](std::string_view reason) -> const frame_view& {
    reset();
    out.reason.assign(reason);
    return out;
  };

  // Checks a field every shape of this kind needs; returns false after setting the reason.
  const auto need = [&](field_state state, std::string_view name, std::string_view what) {
    if (state == field_state::ok) return true;
    reset();
    out.reason.assign(name);
    if (state == field_state::absent)
      out.reason.append(" is missing");
    else
      out.reason.append(" is not ").append(what);
    return false;
  };
  const auto optional = [&](field_state state, std::string_view name, std::string_view what) {
    return state == field_state::absent || need(state, name, what);
  };

  if (f.type_s == field_state::ok && (f.type == "ack" || f.type == "error")) {
    const bool ack = f.type == "ack";
    if (!optional(f.action_s, "action", "a string") ||
        !optional(f.topics_s, "topics", "an array of strings") ||
        !optional(f.status_s, "status", "a string"))
      return out;
    if (ack) {
      if (!need(f.action_s, "action", "a string") ||
          !need(f.topics_s, "topics", "an array of strings"))
        return out;
    } else if (!need(f.code_s, "code", "a string") ||
               !need(f.message_s, "message", "a string")) {
      return out;
    }
    out.kind = ack ? frame_kind::ack : frame_kind::error;
    out.action = f.action;
    if (!ack) {
      out.code = f.code;
      out.message = f.message;
    }
    out.raw = frame;
    return out;
  }

  if (f.event_type_s != field_state::absent) {
    if (!need(f.event_type_s, "event_type", "a string") ||
        !need(f.topic_s, "topic", "a string") ||
        !optional(f.timestamp_s, "timestamp", "a string") || !need(f.data_s, "data", ""))
      return out;
    // Every event's payload is an object (the README's event reference lists its fields).
    if (f.data.empty() || f.data.front() != '{') return malformed("data is not an object");
    topics.clear();
    out.kind = frame_kind::event;
    out.event_type = f.event_type;
    out.topic = f.topic;
    out.timestamp = f.timestamp;
    out.data = f.data;
    return out;
  }

  topics.clear();
  if (f.type_s == field_state::wrong_type) return malformed("type is not a string");
  // A frame of an unknown type is a message this client does not know yet: skipped quietly.
  // Without any type it is of no known shape, and is reported.
  if (f.type_s != field_state::ok) return malformed("no event_type or type field");
  out.kind = frame_kind::ignored;
  out.reason = "unknown type ";
  append_json_string(out.reason, f.type);
  return out;
}

}  // namespace vr
