// A cheap look at the top level of a frame, so that events no subscription wants can be dropped
// before the full parse validates them: the documented dialect's topic (codec.h), and the few
// keys a live-dialect resource's topics derive from (live_codec.h).
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

// Result of peek_live_resource. Views point into the frame.
struct live_peek {
  std::string_view resource;     // the live resource (kind table of live_codec.h); empty: no answer
  std::string_view customer_id;  // raw values, as the frame spells them
  std::string_view id;
  std::string_view owner_type;   // empty when absent
  std::string_view owner_id;
};

// Walks the top-level members of a live-dialect frame without validating it. Runs on the io
// thread. Reads only [data, data + size).
//
// resource is set only when the frame is `{...}` whose members can be walked to the closing
// brace, no key has a backslash, there is no "event_type" member (envelopes take the full
// parse), "customer_id" and "id" are each present once (so not a wrapper or control frame)
// and "owner_type" and "owner_id" at most once, all four strings without backslashes, and the
// other keys name a resource in the kind table. For valid JSON live_codec::classify then answers
// an event whose topic and alt_topic are what live_resource_topics derives from these values, or
// malformed when they derive none; it never answers ignored, ack or error.
live_peek peek_live_resource(const char* data, std::size_t size) noexcept;

namespace detail {
// The same walks without SIMD: what builds without SSE2 run. Tests compare the two.
topic_peek peek_event_topic_scalar(const char* data, std::size_t size) noexcept;
live_peek peek_live_resource_scalar(const char* data, std::size_t size) noexcept;

// The ways a frame's top level can be walked. The SSE2 build takes an indexed walk (the whole
// frame's quotes and brackets classified first, with AVX2 where the processor has it, chosen when
// the library loads) for frames of 64 to 2,048 bytes without a backslash, and the chunked walk
// for the others; every walk gives the same answer.
enum class prefilter_walk { scalar, chunked, indexed_sse2, indexed_avx2 };
bool prefilter_walk_available(prefilter_walk walk) noexcept;
// What peek_event_topic and peek_live_resource take on this processor.
prefilter_walk prefilter_walk_in_use() noexcept;
// The peeks through one walk, for tests and the fuzzer to compare.
topic_peek peek_event_topic_with(prefilter_walk walk, const char* data, std::size_t size) noexcept;
live_peek peek_live_resource_with(prefilter_walk walk, const char* data, std::size_t size) noexcept;
// Whether peek_event_topic takes the SSE2 walk in this build.
constexpr bool prefilter_uses_sse2 = VR_PREFILTER_SSE2 != 0;
}  // namespace detail

}  // namespace vr
