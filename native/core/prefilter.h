// A cheap look at the top level of a documented-dialect frame, so that events no subscription
// wants can be dropped before the full parse (codec.h) validates them.
#pragma once

#include <cstddef>
#include <string_view>

// The SSE2 walk runs wherever the compiler targets SSE2 (every x86-64). Other targets, and builds
// with VR_FORCE_SCALAR (a second Catch2 binary, so the portable path stays tested on x86-64),
// take the portable walk.
#if defined(__SSE2__) && !defined(VR_FORCE_SCALAR)
#define VR_PREFILTER_SSE2 1
#else
#define VR_PREFILTER_SSE2 0
#endif

namespace vr {

// Result of peek_event_topic.
struct topic_peek {
  bool event = false;        // true: the frame is an event frame (as far as its top level shows)
  std::string_view topic;    // valid when event: the raw topic string (no escapes in it), points into the frame
};

// Walks the top-level members of a documented-dialect frame without validating it.
// Runs on the io thread. Reads only [data, data + size).
//
// event is true only when the frame is `{...}` (JSON whitespace around it) whose members can be
// walked to the closing brace, no key has a backslash, there is exactly one "topic" member and
// its value is a string without backslashes, every "event_type" member (at least one) is a
// string, and every "type" member is a string without backslashes that is neither "ack" nor
// "error". For valid JSON documented_codec::classify then answers event with the same topic, or
// malformed (missing data, bad timestamp, too deep); it never answers ack, error or ignored.
topic_peek peek_event_topic(const char* data, std::size_t size) noexcept;

namespace detail {
// The same walk without SIMD: what builds without SSE2 run. Tests compare the two.
topic_peek peek_event_topic_scalar(const char* data, std::size_t size) noexcept;
// Whether peek_event_topic takes the SSE2 walk in this build.
constexpr bool prefilter_uses_sse2 = VR_PREFILTER_SSE2 != 0;
}  // namespace detail

}  // namespace vr
