// libFuzzer target for the Natterbox CTI presence protocol (native/core/natterbox_cti.h), which
// reads every frame the CTI socket sends. The input is frames, one per line, fed to a fresh
// protocol after the upgrade: with the first byte odd, a `welcome` tick and a user and a group
// subscribe come first, so the subscribe and snapshot paths run too. Every frame is in its own
// heap block of exactly its size, the padded capacity being claimed only when the caller has it,
// so ASan reports a read past a frame. Oracles: every event goes to a presence topic that reads
// back as a pattern, and nothing is pushed before the exchange finished unless it was refused;
// the element texts taken from a frame (response_element_texts) are one per element of its data
// array, each the same JSON value as the element, byte for byte its minified form when they
// claim to be.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <simdjson.h>

#include "core/natterbox_cti.h"
#include "core/protocol.h"
#include "fuzz_support.h"

namespace {

using vr::fuzz::require;

class host final : public vr::protocol_host {
 public:
  bool is_ready = false;
  void send_text(std::string) override {}
  void push_control(std::string_view json) override { require(!json.empty(), "empty control record"); }
  void push_server(std::string_view json) override { require(!json.empty(), "empty server record"); }
  void push_event(std::string_view event_type, std::string_view topic, std::string_view,
                  std::string_view, std::string_view, std::string_view) override {
    require(is_ready, "an event before the exchange finished");
    require(!event_type.empty(), "an event without a type");
    vr::natterbox_pattern p;
    require(vr::parse_natterbox_pattern(topic, p) && !p.group, "an event topic that is no user presence topic");
  }
  void flush_events() override {}
  void count_received() override {}
  void count_filtered() override {}
  void count_duplicate() override {}
  void malformed(std::string reason) override { require(!reason.empty(), "malformed without a reason"); }
  void unknown(std::string reason) override { require(!reason.empty(), "unknown without a reason"); }
  void ready() override { is_ready = true; }
  void refuse_credential(std::string) override {}
  std::shared_ptr<void> keep_alive() override { return nullptr; }
};

void check_element_texts(std::string_view frame, const char* exact) {
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  simdjson::dom::array data;
  if (parser.parse(frame.data(), frame.size()).get_object().get(root) || root["data"].get_array().get(data)) return;
  std::vector<vr::element_text> texts;
  if (!vr::response_element_texts(std::string_view(exact, frame.size()), texts)) return;
  require(texts.size() == data.size(), "element texts do not match the data array's elements");
  simdjson::dom::parser again;
  std::size_t i = 0;
  for (simdjson::dom::element el : data) {
    const std::string minified = simdjson::minify(el);
    const auto& t = texts[i++];
    if (t.minified) require(t.text == minified, "an element text claimed minified is not");
    simdjson::dom::element reparsed;
    require(!again.parse(std::string(t.text)).get(reparsed), "an element text that is not JSON");
    require(simdjson::minify(reparsed) == minified, "an element text that is another value");
  }
}

void feed(vr::protocol& p, std::string_view frame) {
  auto exact = std::make_unique<char[]>(frame.size() + 1);
  std::memcpy(exact.get(), frame.data(), frame.size());
  check_element_texts(frame, exact.get());
  p.on_frame(exact.get(), frame.size(), frame.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  boost::asio::io_context io;
  vr::client_config config;
  config.protocol = vr::protocol_kind::natterbox_cti;
  config.credential = "token";
  host h;
  auto p = vr::make_natterbox_cti(io.get_executor(), config, h);
  p->on_upgraded();
  const bool subscribed = data[0] & 1;
  if (subscribed) {
    feed(*p, R"({"type":"tick","message":"welcome"})");
    if (h.is_ready) {
      p->on_open();
      p->subscribe({"org:1:user:7:presence", "org:1:group:3:presence"}, true);
    }
  }
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    feed(*p, rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  // Timers the frames started (snapshot windows) run out now.
  io.poll();
  p->on_lost(false);
  p->on_teardown();
  p.reset();
  io.poll();
  return 0;
}
