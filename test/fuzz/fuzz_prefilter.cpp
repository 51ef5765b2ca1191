// libFuzzer target for the documented dialect's prefilter (native/core/prefilter.h), which looks
// at the top level of every frame on the io thread before anything validates it. Oracles: it
// reads only [data, data + size) (the input is the fuzzer's own buffer, ending exactly there, so
// ASan reports any read past it), every walk (scalar, chunked SSE2, indexed SSE2 and AVX2) agrees
// to the byte, and what it calls
// an event the documented codec reads as an event with the same topic, or as malformed; never as
// an ack, an error or an ignored frame. The same for the live dialect's peek: a resource it routes
// is one the live codec reads as an event under the same topics, or as malformed.
#include <string>

#include "core/codec.h"
#include "core/live_codec.h"
#include "core/prefilter.h"
#include "fuzz_support.h"

using vr::fuzz::require;

namespace {

// Every walk the peeks can take (a walk this processor lacks is answered by the scalar one).
constexpr vr::detail::prefilter_walk kWalks[] = {vr::detail::prefilter_walk::chunked,
                                                 vr::detail::prefilter_walk::indexed_sse2,
                                                 vr::detail::prefilter_walk::indexed_avx2};

void check_live(const char* text, std::size_t size) {
  static vr::live_codec codec;
  const vr::live_peek peeked = vr::peek_live_resource(text, size);
  const vr::live_peek scalar = vr::detail::peek_live_resource_scalar(text, size);
  const auto same = [&](const vr::live_peek& a) {
    return a.resource == scalar.resource && a.customer_id.data() == scalar.customer_id.data() &&
           a.id.data() == scalar.id.data() && a.owner_type == scalar.owner_type && a.owner_id == scalar.owner_id;
  };
  require(same(peeked), "SIMD and scalar live walks differ");
  for (const auto walk : kWalks) require(same(vr::detail::peek_live_resource_with(walk, text, size)), "live walks differ");
  std::string topic, alt;
  if (peeked.resource.empty() || !vr::live_resource_topics(peeked.customer_id, peeked.resource, peeked.id,
                                                           peeked.owner_type, peeked.owner_id, topic, alt))
    return;
  std::string padded(text, size);
  padded.append(simdjson::SIMDJSON_PADDING, ' ');
  const auto& out = codec.classify(padded.data(), size, padded.size());
  require(out.kind == vr::frame_kind::malformed ||
              (out.kind == vr::frame_kind::event && out.topic == topic && out.alt_topic == alt),
          "the live codec disagrees with the live peek");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  static vr::documented_codec codec;
  const char* text = reinterpret_cast<const char*>(bytes);
  check_live(text, size);
  const vr::topic_peek peeked = vr::peek_event_topic(text, size);
  const vr::topic_peek scalar = vr::detail::peek_event_topic_scalar(text, size);
  require(peeked.event == scalar.event && peeked.topic.data() == scalar.topic.data() &&
              peeked.topic.size() == scalar.topic.size(),
          "SIMD and scalar walks differ");
  for (const auto walk : kWalks) {
    const vr::topic_peek other = vr::detail::peek_event_topic_with(walk, text, size);
    require(other.event == scalar.event && other.topic.data() == scalar.topic.data() &&
                other.topic.size() == scalar.topic.size(),
            "walks differ");
  }
  if (!peeked.event) {
    require(peeked.topic.empty(), "a topic without an event");
    return 0;
  }
  require(peeked.topic.data() >= text && peeked.topic.data() + peeked.topic.size() <= text + size,
          "topic outside the frame");
  require(peeked.topic.find('\\') == std::string_view::npos, "topic with an escape");

  std::string padded(text, size);
  padded.append(simdjson::SIMDJSON_PADDING, ' ');
  const auto& out = codec.classify(padded.data(), size, padded.size());
  require(out.kind == vr::frame_kind::malformed ||
              (out.kind == vr::frame_kind::event && out.topic == peeked.topic),
          "the codec disagrees with the peek");
  return 0;
}
