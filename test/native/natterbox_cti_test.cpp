#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <simdjson.h>

#include "core/natterbox_cti.h"

namespace {

// Records what the protocol asks of its connection.
struct fake_host final : vr::protocol_host {
  std::vector<std::string> sent, control, server, events, faults, unknowns;
  int ready_calls = 0;
  std::string refused;
  int received = 0, filtered = 0;

  void send_text(std::string text) override { sent.push_back(std::move(text)); }
  void push_control(std::string_view json) override { control.emplace_back(json); }
  void push_server(std::string_view json) override { server.emplace_back(json); }
  void push_event(std::string_view type, std::string_view topic, std::string_view, std::string_view data,
                  std::string_view, std::string_view) override {
    events.push_back(std::string(type) + " " + std::string(topic) + " " + std::string(data));
  }
  void flush_events() override {}
  void count_received() override { ++received; }
  void count_filtered() override { ++filtered; }
  void count_duplicate() override {}
  void malformed(std::string reason) override { faults.push_back(std::move(reason)); }
  void unknown(std::string reason) override { unknowns.push_back(std::move(reason)); }
  void ready() override { ++ready_calls; }
  void refuse_credential(std::string message) override { refused = std::move(message); }
  std::shared_ptr<void> keep_alive() override { return nullptr; }
};

void feed(vr::protocol& p, const std::string& frame) {
  std::string padded = frame;
  padded.append(simdjson::SIMDJSON_PADDING, '\0');
  p.on_frame(padded.data(), frame.size(), padded.size());
}

vr::client_config config() {
  vr::client_config c;
  c.protocol = vr::protocol_kind::natterbox_cti;
  c.credential = "tok\"en";
  c.natterbox.client_name = "CTI 2.0";
  c.natterbox.client_version = "1.2.3";
  c.natterbox.snapshot_window_ms = 100;
  return c;
}

// A protocol past its welcome, with an open connection.
std::unique_ptr<vr::protocol> welcomed(boost::asio::io_context& io, const vr::client_config& cfg, fake_host& host) {
  auto p = vr::make_natterbox_cti(io.get_executor(), cfg, host);
  p->on_upgraded();
  feed(*p, R"({"type":"tick","message":"welcome"})");
  REQUIRE(p->on_open().empty());
  return p;
}

// Runs the io_context until `done` or a second passes.
template <class F>
void run_until(boost::asio::io_context& io, F done) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

TEST_CASE("natterbox patterns and paths", "[natterbox]") {
  vr::natterbox_pattern p;
  REQUIRE(vr::parse_natterbox_pattern("org:0012:user:067890:presence", p));
  CHECK(p.org == "12");
  CHECK_FALSE(p.group);
  CHECK(p.id == "67890");
  CHECK(vr::natterbox_path(p, false) == "/organisation/12/user/67890");
  CHECK(vr::natterbox_path(p, true) == "/org/12/user/67890/presence");
  REQUIRE(vr::parse_natterbox_pattern("org:1:group:100:presence", p));
  CHECK(vr::natterbox_path(p, true) == "/organisation/1/user-group/100");
  CHECK(vr::natterbox_pattern_text(p) == "org:1:group:100:presence");
  CHECK_FALSE(vr::parse_natterbox_pattern("org:1:user:*:presence", p));
  CHECK_FALSE(vr::parse_natterbox_pattern("org:1:user:2:messages", p));
  CHECK_FALSE(vr::parse_natterbox_pattern("org:1:team:2:presence", p));
  REQUIRE(vr::parse_natterbox_path("/org/5/user/7/presence", p));
  CHECK(vr::natterbox_pattern_text(p) == "org:5:user:7:presence");
  REQUIRE(vr::parse_natterbox_path("/organisation/5/user-group/9", p));
  CHECK(vr::natterbox_pattern_text(p) == "org:5:group:9:presence");
  CHECK_FALSE(vr::parse_natterbox_path("/organisation/5/user-group/x", p));
  CHECK_FALSE(vr::parse_natterbox_path("/org/5/user/7", p));
}

TEST_CASE("natterbox presence_book derives changes only against a known state", "[natterbox]") {
  vr::presence_book book;
  vr::presence_book::element e;
  e.presence = "";
  e.availability_state_id = 1;
  auto c = book.apply(7, e);
  CHECK(c.first);
  CHECK(c.presence_event.empty());
  CHECK_FALSE(c.availability);
  c = book.apply(7, e);  // unchanged
  CHECK_FALSE(c.first);
  CHECK(c.presence_event.empty());
  CHECK_FALSE(c.availability);
  vr::presence_book::element ring;
  ring.presence = "RINGING";  // partial: availability unchanged
  c = book.apply(7, ring);
  CHECK(c.presence_event == "presence_ringing");
  CHECK_FALSE(c.availability);
  vr::presence_book::element idle;
  idle.presence = "";
  idle.availability = "Available";
  c = book.apply(7, idle);
  CHECK(c.presence_event == "presence_idle");
  CHECK_FALSE(c.availability);  // first availability text seen: nothing to compare with
  idle.availability = "Break";
  c = book.apply(7, idle);
  CHECK(c.presence_event.empty());
  CHECK(c.availability);
}

TEST_CASE("natterbox cti: auth first, ready at welcome, refusals before it", "[natterbox]") {
  boost::asio::io_context io;
  fake_host host;
  const auto cfg = config();
  auto p = vr::make_natterbox_cti(io.get_executor(), cfg, host);
  p->subscribe({"org:1:user:7:presence"}, false);
  CHECK_FALSE(p->on_upgraded());
  REQUIRE(host.sent.size() == 1);
  CHECK(host.sent[0] == R"({"type":"auth","accessToken":"tok\"en","client":{"name":"CTI 2.0","version":"1.2.3"}})");
  feed(*p, R"({"type":"tick"})");
  CHECK(host.ready_calls == 0);
  feed(*p, R"({"type":"tick","message":"welcome"})");
  CHECK(host.ready_calls == 1);
  feed(*p, R"({"type":"tick","message":"welcome"})");
  CHECK(host.ready_calls == 1);

  fake_host other;
  auto q = vr::make_natterbox_cti(io.get_executor(), cfg, other);
  q->on_upgraded();
  feed(*q, R"({"type":"error","message":"invalid token"})");
  CHECK(other.refused == "the server refused the credential: invalid token");
  CHECK(q->refused_by_close(1006));
  CHECK(p->refused_by_close(4001));
  CHECK_FALSE(p->refused_by_close(1006));
}

TEST_CASE("natterbox cti: a group snapshot gives members, the ack, then events, and changes derive", "[natterbox]") {
  boost::asio::io_context io;
  fake_host host;
  const auto cfg = config();
  auto p = welcomed(io, cfg, host);
  p->subscribe({"org:1:group:100:presence"}, true);
  p->after_open();
  REQUIRE(host.sent.size() == 2);
  CHECK(host.sent[1] == R"({"type":"subscribe","path":"/organisation/1/user-group/100"})");
  REQUIRE(host.control.size() == 1);
  CHECK(host.control[0] == R"({"type":"sent","action":"subscribe","topics":["org:1:group:100:presence"],"request":1})");
  feed(*p, R"({"type":"response","data":[{"userId":7,"presence":"","availabilityStateId":1},{"userId":"8","presence":"RINGING"}]})");
  CHECK(host.events.empty());  // held until the window closes
  run_until(io, [&] { return !host.server.empty(); });
  REQUIRE(host.server.size() == 1);
  CHECK(host.server[0] ==
        R"({"type":"ack","action":"subscribe","topics":["org:1:group:100:presence"],"request":1,"synthetic":true})");
  REQUIRE(host.control.size() == 2);
  CHECK(host.control[1] ==
        R"({"type":"members","pattern":"org:1:group:100:presence","topics":["org:1:user:7:presence","org:1:user:8:presence"]})");
  REQUIRE(host.events.size() == 2);
  CHECK(host.events[0] == R"(presence_updated org:1:user:7:presence {"userId":7,"presence":"","availabilityStateId":1})");
  CHECK(host.events[1] == R"(presence_updated org:1:user:8:presence {"userId":"8","presence":"RINGING"})");

  feed(*p, R"({"type":"response","data":[{"userId":7,"presence":"RINGING","availabilityStateId":3},{"userId":9,"presence":""}]})");
  REQUIRE(host.events.size() == 5);
  CHECK(host.events[2].rfind("presence_updated org:1:user:7:presence ", 0) == 0);
  CHECK(host.events[3].rfind("presence_ringing org:1:user:7:presence ", 0) == 0);
  CHECK(host.events[4].rfind("availability_changed org:1:user:7:presence ", 0) == 0);
  CHECK(host.filtered == 1);  // user 9 is in no group or user pattern

  feed(*p, R"({"type":"mystery"})");
  feed(*p, R"({"type":"response","data":[{"presence":""}]})");
  feed(*p, "not json");
  CHECK(host.unknowns.size() == 1);
  CHECK(host.faults.size() == 2);

  // After a reconnect the group is resubscribed; an unchanged snapshot derives nothing.
  CHECK_FALSE(p->on_lost(false));  // a Natterbox loss is never a subscribe's refusal
  p->on_upgraded();
  feed(*p, R"({"type":"tick","message":"welcome"})");
  const auto resent = p->on_open();
  REQUIRE(resent == std::vector<std::string>{"org:1:group:100:presence"});
  p->after_open();
  feed(*p, R"({"type":"response","data":[{"userId":7,"presence":"RINGING","availabilityStateId":3}]})");
  run_until(io, [&] { return host.server.size() == 2; });
  REQUIRE(host.events.size() == 6);
  CHECK(host.events[5].rfind("presence_updated org:1:user:7:presence ", 0) == 0);
}

TEST_CASE("natterbox cti: an error naming the path refuses only that subscribe", "[natterbox]") {
  boost::asio::io_context io;
  fake_host host;
  const auto cfg = config();
  auto p = welcomed(io, cfg, host);
  p->subscribe({"org:2:user:5:presence", "org:1:user:6:presence"}, true);
  feed(*p, R"({"type":"error","message":"not allowed","path":"/organisation/2/user/5"})");
  REQUIRE(host.server.size() == 1);
  CHECK(host.server[0].find(R"("type":"error","action":"subscribe","topics":["org:2:user:5:presence"],"request":1,"code":"PERMISSION_DENIED","message":"not allowed")") !=
        std::string::npos);
  // The next subscribe went out at once.
  REQUIRE(host.sent.size() == 3);
  CHECK(host.sent[2] == R"({"type":"subscribe","path":"/organisation/1/user/6"})");
  run_until(io, [&] { return host.server.size() == 2; });
  CHECK(host.server[1].find(R"("type":"ack","action":"subscribe","topics":["org:1:user:6:presence"],"request":2)") !=
        std::string::npos);
  p->unsubscribe({"org:1:user:6:presence"}, true);
  REQUIRE(host.sent.size() == 4);
  CHECK(host.sent[3] == R"({"type":"unsubscribe","path":"/organisation/1/user/6"})");
  CHECK(host.server.back().find(R"("type":"ack","action":"unsubscribe")") != std::string::npos);
}

TEST_CASE("natterbox cti: an element the minifier would change is delivered minified", "[natterbox]") {
  boost::asio::io_context io;
  fake_host host;
  const auto cfg = config();
  auto p = welcomed(io, cfg, host);
  p->subscribe({"org:1:user:7:presence"}, true);
  run_until(io, [&] { return !host.server.empty(); });
  feed(*p, R"({"type":"response","data":[ {"userId": 7, "presence":"RING\u0049NG","x":1.50,"y":-0,"z":[1, 2]} ,)"
           R"({"userId":"007","presence":"","n":-12,"s":"a/b"}]})");
  REQUIRE(host.events.size() == 3);
  CHECK(host.events[0] ==
        R"(presence_updated org:1:user:7:presence {"userId":7,"presence":"RINGING","x":1.5,"y":0,"z":[1,2]})");
  // Taken from the frame as it is.
  CHECK(host.events[1] == R"(presence_updated org:1:user:7:presence {"userId":"007","presence":"","n":-12,"s":"a/b"})");
  CHECK(host.events[2] == R"(presence_idle org:1:user:7:presence {"userId":"007","presence":"","n":-12,"s":"a/b"})");
}

TEST_CASE("natterbox cti: a user pattern covers its user before a group, a group after it is gone", "[natterbox]") {
  boost::asio::io_context io;
  fake_host host;
  const auto cfg = config();
  auto p = welcomed(io, cfg, host);
  p->subscribe({"org:2:user:7:presence"}, true);
  run_until(io, [&] { return host.server.size() == 1; });
  p->subscribe({"org:1:group:100:presence"}, true);
  feed(*p, R"({"type":"response","data":[{"userId":7,"presence":""},{"userId":8,"presence":""}]})");
  run_until(io, [&] { return host.server.size() == 2; });
  // In the group's window both are its members, reported under its org.
  REQUIRE(host.events.size() == 2);
  CHECK(host.events[0] == R"(presence_updated org:1:user:7:presence {"userId":7,"presence":""})");
  CHECK(host.events[1] == R"(presence_updated org:1:user:8:presence {"userId":8,"presence":""})");
  const std::string frame = R"({"type":"response","data":[{"userId":7},{"userId":8},{"userId":9}]})";
  feed(*p, frame);
  REQUIRE(host.events.size() == 4);
  CHECK(host.events[2] == R"(presence_updated org:2:user:7:presence {"userId":7})");
  CHECK(host.events[3] == R"(presence_updated org:1:user:8:presence {"userId":8})");
  CHECK(host.filtered == 1);
  p->unsubscribe({"org:2:user:7:presence"}, true);
  feed(*p, frame);
  REQUIRE(host.events.size() == 6);
  CHECK(host.events[4] == R"(presence_updated org:1:user:7:presence {"userId":7})");
  CHECK(host.events[5] == R"(presence_updated org:1:user:8:presence {"userId":8})");
  p->unsubscribe({"org:1:group:100:presence"}, true);
  feed(*p, frame);
  CHECK(host.events.size() == 6);
  CHECK(host.filtered == 5);
}

TEST_CASE("natterbox receive clock: ISO 8601 UTC with milliseconds, the date formatted once a second", "[natterbox]") {
  vr::receive_clock clock;
  CHECK(clock.at(1765000000123) == "2025-12-06T05:46:40.123Z");
  CHECK(clock.at(1765000000999) == "2025-12-06T05:46:40.999Z");
  CHECK(clock.at(1765000001000) == "2025-12-06T05:46:41.000Z");
  CHECK(clock.at(1765000061007) == "2025-12-06T05:47:41.007Z");
  CHECK(clock.at(0) == "1970-01-01T00:00:00.000Z");
  CHECK(clock.at(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(clock.now().size() == 24);
}
