// libFuzzer target for the documented codec and the topic grammar. Besides "no crash, no
// sanitizer report" it checks the answers against independent oracles: simdjson's DOM parser
// (which validates everything) for the codec, and round trips for the topic functions. The
// codec's topic peek has its own target (fuzz_prefilter.cpp).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "core/topic.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view view, const std::string& buffer) {
  return view.empty() ||
         (view.data() >= buffer.data() && view.data() + view.size() <= buffer.data() + buffer.size());
}

// The errors on which the DOM parser and the codec may disagree: numbers that are valid JSON but
// that the DOM cannot represent: no double can hold 1e400 (NUMBER_ERROR), and an integer past 64
// bits is refused before it would be read as a double (BIGINT_ERROR). The codec accepts both, as
// JSON.parse does.
bool representation_limit(simdjson::error_code e) {
  return e == simdjson::NUMBER_ERROR || e == simdjson::BIGINT_ERROR;
}

// JSON.parse keeps the last of repeated keys, and so does the codec; DOM lookup finds the first.
// Only the last one counts: an earlier one may have any type. It must be a string here, since
// the codec answered with it.
bool last_member(simdjson::dom::element root, std::string_view key, simdjson::dom::element& last) {
  bool seen = false;
  for (auto field : simdjson::dom::object(root)) {
    if (field.key != key) continue;
    last = field.value;
    seen = true;
  }
  return seen;
}

std::string_view last_string(simdjson::dom::element root, std::string_view key) {
  simdjson::dom::element last;
  std::string_view found;
  if (last_member(root, key, last)) require(last.get(found) == simdjson::SUCCESS);
  return found;
}

void check_codec(const std::uint8_t* bytes, std::size_t size) {
  static vr::documented_codec codec;
  static simdjson::dom::parser dom;

  // Whatever follows the frame in the caller's buffer must not change the answer.
  std::string buffer(reinterpret_cast<const char*>(bytes), size);
  for (std::size_t i = 0; i < simdjson::SIMDJSON_PADDING; ++i) buffer.push_back("\"]}1 \\"[i % 6]);
  const auto& out = codec.classify(buffer.data(), size, buffer.size());

  simdjson::dom::element root;
  const auto dom_error = dom.parse(buffer.data(), size, false).get(root);

  switch (out.kind) {
    case vr::frame_kind::event: {
      require(inside(out.data, buffer) && !out.data.empty());
      require(dom_error == simdjson::SUCCESS || representation_limit(dom_error));
      // `data` is a complete JSON value on its own.
      simdjson::dom::parser inner;
      simdjson::dom::element value;
      const auto e = inner.parse(std::string(out.data)).get(value);
      require(e == simdjson::SUCCESS || representation_limit(e));
      if (dom_error == simdjson::SUCCESS) {
        require(last_string(root, "event_type") == out.event_type);
        require(last_string(root, "topic") == out.topic);
        // ... and it is the text of the last "data" member: the same value once both are minified.
        simdjson::dom::element data;
        require(last_member(root, "data", data));
        if (e == simdjson::SUCCESS) require(simdjson::minify(data) == simdjson::minify(value));
      }
      break;
    }
    case vr::frame_kind::ack:
    case vr::frame_kind::error: {
      require(inside(out.raw, buffer) && !out.raw.empty());
      require(dom_error == simdjson::SUCCESS || representation_limit(dom_error));
      if (dom_error == simdjson::SUCCESS) {
        require(last_string(root, "type") == (out.kind == vr::frame_kind::ack ? "ack" : "error"));
      }
      break;
    }
    case vr::frame_kind::ignored:
      require(!out.reason.empty());
      require(dom_error == simdjson::SUCCESS || representation_limit(dom_error));
      break;
    case vr::frame_kind::malformed:
      require(!out.reason.empty());
      // Valid JSON objects are never malformed for syntax reasons below the depth limit.
      if (dom_error == simdjson::SUCCESS && root.is_object() &&
          out.reason.rfind("invalid JSON: ", 0) == 0) {
        require(out.reason == std::string("invalid JSON: ") +
                                  simdjson::error_message(simdjson::DEPTH_ERROR));
      }
      break;
  }

}

void check_topic(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(bytes), size);
  std::string normalized, error;
  vr::topic_matcher matcher;
  // Concrete topics that are not patterns: matching must simply answer.
  (void)matcher.matches(in);
  if (!vr::normalize_pattern(in, normalized, error)) {
    require(!error.empty());
    return;
  }
  require(error.empty());
  std::string again, error_again;
  require(vr::normalize_pattern(normalized, again, error_again) && again == normalized);

  vr::topic_parts parts;
  require(vr::split_topic(normalized, parts));
  require(matcher.add(normalized) && !matcher.add(normalized) && matcher.contains(normalized));

  // The same pattern with the wildcards filled in and the UUIDs upper-cased must match.
  auto upper = [](std::string_view s) {
    std::string out(s);
    if (vr::is_uuid(s))
      for (auto& c : out) c = (c >= 'a' && c <= 'z') ? char(c - 32) : c;
    return out;
  };
  const std::string concrete = std::string(parts.scope) + ":" + upper(parts.scope_id) + ":" +
                               (parts.resource == "*" ? "call" : std::string(parts.resource)) +
                               ":" +
                               (parts.resource_id == "*" ? "x" : upper(parts.resource_id));
  require(matcher.matches(concrete));
  require(!matcher.matches(concrete + ":"));

  // Encoding for the wire gives JSON that reads back to the same string.
  const std::string frame = vr::documented_codec::encode("subscribe", {normalized});
  simdjson::dom::parser dom;
  simdjson::dom::element root;
  if (simdjson::validate_utf8(normalized.data(), normalized.size())) {
    require(dom.parse(frame).get(root) == simdjson::SUCCESS);
    std::string_view topic;
    require(root["topics"].at(0).get(topic) == simdjson::SUCCESS && topic == normalized);
  }
  require(matcher.remove(normalized) && matcher.size() == 0 && !matcher.matches(concrete));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_codec(data, size);
  check_topic(data, size);
  return 0;
}
