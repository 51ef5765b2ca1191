// ns per frame for the top-level topic peek against the full classification, on the frame shape
// of workload 3, where nine frames in ten are events no subscription wants. The peek is what
// such a frame costs once it is dropped before the full parse.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/prefilter.h"
#include "core/topic.h"

namespace {

const std::string kFrame =
    R"({"type":"event","event_type":"call_updated","topic":"customer_id:5e4a0680-804e-11ec-8477-2fbfd4c2d1c5:call:9c1f2a3e-0b4d-4c5e-8f6a-7b8c9d0e1f2a",)"
    R"("data":{"id":"9c1f2a3e-0b4d-4c5e-8f6a-7b8c9d0e1f2a","status":"progressing",)"
    R"("source":{"type":"tel","target":"+15551234567"},"destination":{"type":"tel","target":"+15559876543"}}})";

// A live-dialect frame: the bare call of the emulator's blast, ten top-level strings.
const std::string kLiveFrame =
    R"({"id":"b1a57000-0000-4000-8000-000000000007","customer_id":"5e4a0b1c-1f2d-4c3b-9a8e-7d6c5b4a3f21",)"
    R"("hangup_by":"","owner_type":"","owner_id":"00000000-0000-0000-0000-000000000000","type":"flow",)"
    R"("direction":"incoming","tm_create":"2026-01-15T10:30:00.000000Z","status":"progressing",)"
    R"("pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})";

// The transport hands frames over with readable padding behind them; the codec needs it.
std::string padded_frame() {
  std::string buffer = kFrame;
  buffer.append(simdjson::SIMDJSON_PADDING, ' ');
  return buffer;
}

void report(benchmark::State& state) {
  state.counters["bytes"] = static_cast<double>(kFrame.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kFrame.size()));
}

// The SSE2 peek and its portable walk, on the same frame.
template <vr::topic_peek (*Peek)(const char*, std::size_t) noexcept>
void bm_peek_with(benchmark::State& state) {
  const std::string buffer = padded_frame();
  std::size_t sink = 0;
  for (auto _ : state) {
    const char* data = buffer.data();
    benchmark::DoNotOptimize(data);
    const auto p = Peek(data, kFrame.size());
    sink += p.topic.size();
  }
  if (sink == 0) state.SkipWithError("the frame did not peek as an event");
  benchmark::DoNotOptimize(sink);
  report(state);
}

void bm_peek(benchmark::State& state) { bm_peek_with<vr::peek_event_topic>(state); }
void bm_peek_scalar(benchmark::State& state) { bm_peek_with<vr::detail::peek_event_topic_scalar>(state); }

// The live dialect's peek: the keys a resource's topics derive from.
void bm_peek_live(benchmark::State& state) {
  const std::string buffer = kLiveFrame + std::string(simdjson::SIMDJSON_PADDING, ' ');
  std::size_t sink = 0;
  for (auto _ : state) {
    const char* data = buffer.data();
    benchmark::DoNotOptimize(data);
    const auto p = vr::peek_live_resource(data, kLiveFrame.size());
    sink += p.id.size();
  }
  if (sink == 0) state.SkipWithError("the frame did not peek as a resource");
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void bm_classify(benchmark::State& state) {
  const std::string buffer = padded_frame();
  vr::documented_codec codec;
  std::size_t sink = 0;
  for (auto _ : state) {
    const char* data = buffer.data();
    benchmark::DoNotOptimize(data);
    const auto& out = codec.classify(data, kFrame.size(), buffer.size());
    sink += out.kind == vr::frame_kind::event ? out.topic.size() : 0;
  }
  if (sink == 0) state.SkipWithError("the frame did not classify as an event");
  benchmark::DoNotOptimize(sink);
  report(state);
}


// Workload 3's patterns: ten calls the blast sends and 990 it never does, all under one
// customer. Each id is a UUID that differs from the others in its last digits.
std::string call_id(const char* head, int i) {
  char tail[13];
  std::snprintf(tail, sizeof tail, "%012x", i);
  return std::string(head) + tail;
}

// What a frame no pattern wants costs the io thread before it is dropped: the peek and one
// probe of a 1,000-pattern set that misses (workload 3's unmatched nine in ten).
void bm_drop(benchmark::State& state) {
  const std::string buffer = padded_frame();
  vr::topic_matcher matcher;
  const std::string prefix = "customer_id:5e4a0680-804e-11ec-8477-2fbfd4c2d1c5:call:";
  for (int i = 90; i < 100; ++i) matcher.add(prefix + call_id("b1a57000-0000-4000-8000-", i));
  for (int i = 0; i < 990; ++i) matcher.add(prefix + call_id("0ddba11d-0000-4000-8000-", i));
  std::size_t dropped = 0;
  for (auto _ : state) {
    const char* data = buffer.data();
    benchmark::DoNotOptimize(data);
    const auto p = vr::peek_event_topic(data, kFrame.size());
    dropped += (p.event && !matcher.matches(p.topic)) ? 1 : 0;
  }
  if (dropped != state.iterations()) state.SkipWithError("the frame was not dropped");
  report(state);
}

// Workload 3's unmatched frames as the emulator's blast sends them: the documented envelope
// around a flat call, 90 distinct ids, 290 to 294 bytes as the status varies. The same probe of
// the 1,000-pattern set, one frame after the other, so that the branches see changing frames,
// as on the wire.
void bm_drop_pool(benchmark::State& state) {
  const std::string customer = "5e4a0680-804e-11ec-8477-2fbfd4c2d1c5";
  const char* const statuses[] = {"dialing", "ringing", "progressing", "terminating", "hangup"};
  std::vector<std::string> frames;
  std::vector<std::size_t> sizes;
  for (int i = 0; i < 90; ++i) {
    const std::string id = call_id("b1a57000-0000-4000-8000-", i);
    std::string f = R"({"event_type":"call.status","timestamp":"2026-12-07T04:44:07.123456Z","topic":"customer_id:)" +
                    customer + ":call:" + id + R"(","data":{"id":")" + id + R"(","customer_id":")" + customer +
                    R"(","status":")" + statuses[i % 5] + R"("}})";
    sizes.push_back(f.size());
    f.append(simdjson::SIMDJSON_PADDING, ' ');
    frames.push_back(std::move(f));
  }
  vr::topic_matcher matcher;
  const std::string prefix = "customer_id:" + customer + ":call:";
  for (int i = 90; i < 100; ++i) matcher.add(prefix + call_id("b1a57000-0000-4000-8000-", i));
  for (int i = 0; i < 990; ++i) matcher.add(prefix + call_id("0ddba11d-0000-4000-8000-", i));
  std::size_t dropped = 0, next = 0;
  for (auto _ : state) {
    const char* data = frames[next].data();
    benchmark::DoNotOptimize(data);
    const auto p = vr::peek_event_topic(data, sizes[next]);
    dropped += (p.event && !matcher.matches(p.topic)) ? 1 : 0;
    if (++next == frames.size()) next = 0;
  }
  if (dropped != state.iterations()) state.SkipWithError("a frame was not dropped");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

}  // namespace

BENCHMARK(bm_peek);
BENCHMARK(bm_peek_scalar);
BENCHMARK(bm_peek_live);
BENCHMARK(bm_classify);
BENCHMARK(bm_drop);
BENCHMARK(bm_drop_pool);

BENCHMARK_MAIN();
