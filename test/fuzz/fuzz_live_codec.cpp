// libFuzzer target for the live dialect's codec (native/core/live_codec.h), which reads every
// frame a production server sends. Oracles:
//   - the exact-size path (the frame is copied into padded storage) and the padded path (parsed
//     in place) give the same answer, whatever bytes follow the frame in the caller's buffer; the
//     exact-size input is its own heap block, so ASan reports a read past its end;
//   - an event's data is a complete JSON value and its topic names its resource;
//   - invalid JSON is malformed;
//   - with kDuplicateKeys (or VR_FUZZ_DUPLICATE_KEYS=1 in the environment): an object with
//     repeated keys reads as JSON.parse reads it, the last of the repeated keys winning, which is
//     what the documented codec does.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/live_codec.h"
#include "fuzz_support.h"

namespace {

using vr::fuzz::require;

// Off until the live codec reads repeated keys as JSON.parse does (it keeps the first today).
constexpr bool kDuplicateKeys = false;

bool check_duplicate_keys() {
  static const bool on = kDuplicateKeys || (std::getenv("VR_FUZZ_DUPLICATE_KEYS") &&
                                            std::string(std::getenv("VR_FUZZ_DUPLICATE_KEYS")) == "1");
  return on;
}

// Everything a classification says, copied out of the codec's views.
struct answer {
  vr::frame_kind kind;
  std::string event_type, timestamp, topic, data, action, code, message, raw, reason, alt_topic, resource, server_event_type;
  std::vector<std::string> topics;
  std::uint64_t dedupe_key;
  bool operator==(const answer&) const = default;
};

answer copy(const vr::frame_view& f) {
  return {f.kind,
          std::string(f.event_type),
          std::string(f.timestamp),
          std::string(f.topic),
          std::string(f.data),
          std::string(f.action),
          std::string(f.code),
          std::string(f.message),
          std::string(f.raw),
          f.reason,
          std::string(f.alt_topic),
          std::string(f.resource),
          std::string(f.server_event_type),
          f.topics,
          f.dedupe_key};
}

// The value as JSON.parse holds it, written back without whitespace: of repeated keys the last
// value stays, at the place of the first. Sets `repeated` when any object repeats a key.
void canonical(simdjson::dom::element e, std::string& out, bool& repeated) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      std::vector<std::pair<std::string_view, simdjson::dom::element>> fields;
      for (auto field : simdjson::dom::object(e)) {
        bool seen = false;
        for (auto& kept : fields)
          if (kept.first == field.key) kept.second = field.value, seen = repeated = true;
        if (!seen) fields.emplace_back(field.key, field.value);
      }
      out += '{';
      for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i) out += ',';
        vr::append_json_string(out, fields[i].first);
        out += ':';
        canonical(fields[i].second, out, repeated);
      }
      out += '}';
      return;
    }
    case simdjson::dom::element_type::ARRAY: {
      out += '[';
      bool first = true;
      for (auto item : simdjson::dom::array(e)) {
        if (!first) out += ',';
        first = false;
        canonical(item, out, repeated);
      }
      out += ']';
      return;
    }
    case simdjson::dom::element_type::STRING:
      vr::append_json_string(out, std::string_view(e));
      return;
    default:
      out += simdjson::minify(e);
      return;
  }
}

std::string canonical_text(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(std::string(json)).get(root) != simdjson::SUCCESS) return "<invalid>";
  std::string out;
  bool repeated = false;
  canonical(root, out, repeated);
  return out;
}

const vr::frame_view& classify_padded(vr::live_codec& codec, std::string& buffer, std::string_view frame,
                                      const char* filler) {
  buffer.assign(frame);
  for (std::size_t i = 0; i < simdjson::SIMDJSON_PADDING; ++i) buffer.push_back(filler[i % 6]);
  return codec.classify(buffer.data(), frame.size(), buffer.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  static vr::live_codec exact_codec, padded_codec, quiet_codec, dedup_codec;
  static simdjson::dom::parser dom;
  const std::string_view frame(reinterpret_cast<const char*>(bytes), size);

  auto exact_bytes = std::make_unique<char[]>(size ? size : 1);
  if (size) std::memcpy(exact_bytes.get(), bytes, size);
  const answer exact = copy(exact_codec.classify(exact_bytes.get(), size, size));

  std::string loud_buffer, quiet_buffer;
  const answer padded = copy(classify_padded(padded_codec, loud_buffer, frame, "\"]}1 \\"));
  const answer quiet = copy(classify_padded(quiet_codec, quiet_buffer, frame, "      "));
  require(exact == padded, "exact-size and padded paths differ");
  require(padded == quiet, "bytes after the frame changed the answer");

  std::string copy_for_dom(frame);
  simdjson::dom::element root;
  const auto dom_error = dom.parse(copy_for_dom).get(root);
  if (dom_error != simdjson::SUCCESS) require(exact.kind == vr::frame_kind::malformed, "invalid JSON accepted");

  switch (exact.kind) {
    case vr::frame_kind::event: {
      require(canonical_text(exact.data) != "<invalid>", "event data is not JSON");
      // An envelope's topic is the server's word; a well-formed one names the resource.
      vr::topic_parts parts;
      if (vr::split_topic(exact.topic, parts)) require(parts.resource == exact.resource, "topic and resource");
      break;
    }
    case vr::frame_kind::ack:
    case vr::frame_kind::error:
      require(!exact.raw.empty(), "control frame without its text");
      break;
    case vr::frame_kind::malformed:
    case vr::frame_kind::ignored:
      require(!exact.reason.empty(), "no reason given");
      break;
  }

  if (!check_duplicate_keys() || dom_error != simdjson::SUCCESS) return 0;
  std::string deduped;
  bool repeated = false;
  canonical(root, deduped, repeated);
  if (!repeated) return 0;
  const answer once = copy(classify_padded(dedup_codec, quiet_buffer, deduped, "      "));
  require(once.kind == exact.kind && once.event_type == exact.event_type && once.topic == exact.topic &&
              once.alt_topic == exact.alt_topic && once.timestamp == exact.timestamp &&
              once.resource == exact.resource && once.dedupe_key == exact.dedupe_key &&
              once.action == exact.action && once.code == exact.code && once.topics == exact.topics,
          "repeated keys are not read as JSON.parse reads them");
  if (exact.kind == vr::frame_kind::event)
    require(canonical_text(once.data) == canonical_text(exact.data), "repeated keys change the data");
  return 0;
}
