// ns per frame on the io thread for the Natterbox CTI row of the dialect comparison
// (bench/dialects.js): the emulator's blast frames (native/emulator/natterbox.cpp), a `response`
// of one presence element each, 300 bytes with the WebSocket header, for the 6,400 members of one
// group the protocol is subscribed to. Each frame goes through the protocol's on_frame as the
// connection hands it over: parse, user id, the covering pattern, the presence book, the topic,
// the element's text and the events pushed (to a host that only counts them).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <simdjson.h>

#include "core/natterbox_cti.h"

namespace {

constexpr int kPool = 6400;
constexpr std::size_t kPayload = 296;  // a 300-byte frame less its 4-byte header

// The element of the emulator's blast for user i + 1, padded so that the frame is kPayload bytes.
std::string blast_frame(int i) {
  static constexpr const char* presences[] = {"RINGING", "ANSWERED", "BRIDGED", ""};
  char channel[40];
  std::snprintf(channel, sizeof channel, "b1a57000-0000-4000-8000-%012x", i);
  std::string element = "{\"userId\":" + std::to_string(i + 1) + ",\"presence\":\"" + presences[i % 4] +
                        "\",\"logicalDirection\":\"Inbound\",\"callChannelUUID\":\"" + channel +
                        "\",\"availability\":\"On Call\",\"availabilityStateId\":3,\"availabilityProfileId\":1";
  const std::string open = "{\"type\":\"response\",\"data\":[";
  const std::size_t frame = open.size() + element.size() + 3;
  const std::string pad = ",\"pad\":\"";
  if (kPayload >= frame + pad.size() + 1) element += pad + std::string(kPayload - frame - pad.size() - 1, 'x') + '"';
  return open + element + "}]}";
}

struct counting_host final : vr::protocol_host {
  std::size_t events = 0, bytes = 0, faults = 0;
  void send_text(std::string) override {}
  void push_control(std::string_view) override {}
  void push_server(std::string_view) override {}
  void push_event(std::string_view type, std::string_view topic, std::string_view timestamp, std::string_view data,
                  std::string_view, std::string_view) override {
    ++events;
    bytes += type.size() + topic.size() + timestamp.size() + data.size();
  }
  void flush_events() override {}
  void count_received() override {}
  void count_filtered() override { ++faults; }
  void count_duplicate() override {}
  void malformed(std::string) override { ++faults; }
  void unknown(std::string) override { ++faults; }
  void ready() override {}
  void refuse_credential(std::string) override {}
  std::shared_ptr<void> keep_alive() override { return nullptr; }
};

struct frame {
  std::string buffer;  // the frame and the padding the transport leaves behind it
  std::size_t size;
};

void feed(vr::protocol& p, const frame& f) { p.on_frame(f.buffer.data(), f.size, f.buffer.size()); }

// The measured frames only (callgrind: --toggle-collect='*measured_frame*').
[[gnu::noinline]] void measured_frame(vr::protocol& p, const frame& f) { feed(p, f); }

void bm_natterbox(benchmark::State& state) {
  std::vector<frame> frames;
  for (int i = 0; i < kPool; ++i) {
    std::string f = blast_frame(i);
    const std::size_t size = f.size();
    f.append(simdjson::SIMDJSON_PADDING, ' ');
    frames.push_back({std::move(f), size});
  }
  boost::asio::io_context io;
  vr::client_config config;
  config.protocol = vr::protocol_kind::natterbox_cti;
  config.credential = "token";
  config.natterbox.snapshot_window_ms = 1;
  counting_host host;
  auto p = vr::make_natterbox_cti(io.get_executor(), config, host);
  p->on_upgraded();
  std::string welcome = R"({"type":"tick","message":"welcome"})";
  const std::size_t welcome_size = welcome.size();
  welcome.append(simdjson::SIMDJSON_PADDING, ' ');
  feed(*p, {welcome, welcome_size});
  p->on_open();
  p->subscribe({"org:1:group:100:presence"}, true);
  // The snapshot: every member once, then the window closes.
  for (const auto& f : frames) feed(*p, f);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (host.events < static_cast<std::size_t>(kPool) && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  if (host.events != static_cast<std::size_t>(kPool) || host.faults) {
    state.SkipWithError("the snapshot did not deliver every member");
    return;
  }
  // One round outside the measurement: the steady state, every member known and indexed.
  for (const auto& f : frames) feed(*p, f);
  std::size_t i = 0;
  const std::size_t before = host.events;
  for (auto _ : state) {
    measured_frame(*p, frames[i]);
    if (++i == frames.size()) i = 0;
  }
  // Every frame gives presence_updated (each member's state repeats, so nothing else derives).
  if (host.faults || host.events - before < static_cast<std::size_t>(state.iterations())) {
    state.SkipWithError("a frame gave no event");
  }
  benchmark::DoNotOptimize(host.bytes);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

}  // namespace

BENCHMARK(bm_natterbox);
BENCHMARK_MAIN();
