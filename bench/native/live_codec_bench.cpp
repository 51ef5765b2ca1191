// ns per frame on the io thread's matched path, live dialect against documented, on the frames of
// the dialect comparison (bench/dialects.js): the same call data, bare (live) or in the
// documented envelope (a 300-byte frame in the live dialect), cycling over 6,400 distinct calls. The live case
// does all a matched live frame costs before the hand-over: classification (kind and event
// inference, topics, dedupe key), the match and the de-duplication window.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/live_codec.h"
#include "core/topic.h"

namespace {

constexpr int kPool = 6400;
constexpr std::size_t kPayload = 296;  // a 300-byte frame less its 4-byte header
constexpr const char* kCustomer = "5e4a0b1c-1f2d-4c3b-9a8e-7d6c5b4a3f21";
constexpr const char* kStatuses[] = {"dialing", "ringing", "progressing", "terminating", "hangup"};

std::string call_id(int i) {
  char id[40];
  std::snprintf(id, sizeof id, "b1a57000-0000-4000-8000-%012x", i);
  return id;
}

// The call data of the emulator's blast (native/emulator/server.cpp) in a 300-byte live frame:
// the bare resource, padded to kPayload bytes. The documented frame wraps the very same data.
std::string call_data(int i) {
  std::string d = "{\"id\":\"" + call_id(i) + "\",\"customer_id\":\"" + kCustomer + "\",\"hangup_by\":\"\"";
  d += ",\"owner_type\":\"\",\"owner_id\":\"00000000-0000-0000-0000-000000000000\",\"type\":\"flow\"";
  d += ",\"direction\":\"incoming\",\"tm_create\":\"2026-01-15T10:30:00.000000Z\"";
  d += std::string(",\"status\":\"") + kStatuses[i % 5] + "\",\"pad\":\"";
  d.append(kPayload - d.size() - 2, 'x');
  return d + "\"}";
}

std::string documented_frame(int i) {
  return std::string("{\"event_type\":\"call.status\",\"timestamp\":\"2026-12-07T04:44:07.123456Z\",") +
         "\"topic\":\"customer_id:" + kCustomer + ":call:" + call_id(i) + "\",\"data\":" + call_data(i) + "}";
}

struct frame {
  std::string buffer;  // the frame and the padding the transport leaves behind it
  std::size_t size;
};

std::vector<frame> pool(bool live) {
  std::vector<frame> out;
  for (int i = 0; i < kPool; ++i) {
    std::string f = live ? call_data(i) : documented_frame(i);
    const std::size_t size = f.size();
    f.append(simdjson::SIMDJSON_PADDING, ' ');
    out.push_back({std::move(f), size});
  }
  return out;
}

const std::string kPattern = std::string("customer_id:") + kCustomer + ":call:*";

// One frame of the pool per iteration through `wanted`, which must take every frame for a
// wanted event.
template <class Wanted>
void run(benchmark::State& state, bool live, Wanted wanted) {
  const auto frames = pool(live);
  std::size_t i = 0, matched = 0;
  for (auto _ : state) {
    matched += wanted(frames[i]) ? 1 : 0;
    if (++i == frames.size()) i = 0;
  }
  if (matched != static_cast<std::size_t>(state.iterations())) state.SkipWithError("a frame was not a wanted event");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void bm_documented(benchmark::State& state) {
  vr::documented_codec codec;
  vr::topic_matcher matcher;
  matcher.add(kPattern);
  run(state, false, [&](const frame& f) {
    const auto& out = codec.classify(f.buffer.data(), f.size, f.buffer.size());
    return out.kind == vr::frame_kind::event && matcher.matches(out.topic);
  });
}

// A duplicate would be dropped: none of the pool's frames may be taken for one.
void bm_live(benchmark::State& state) {
  vr::live_codec codec;
  vr::dedupe_window window;
  vr::topic_matcher matcher;
  matcher.add(kPattern);
  run(state, true, [&](const frame& f) {
    const auto& out = codec.classify(f.buffer.data(), f.size, f.buffer.size());
    std::string_view second;
    return out.kind == vr::frame_kind::event && !vr::live_matched_topic(matcher, out, second).empty() &&
           !window.seen_recently(out.dedupe_key);
  });
}

}  // namespace

BENCHMARK(bm_documented);
BENCHMARK(bm_live);
BENCHMARK_MAIN();
