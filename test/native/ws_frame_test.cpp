#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/websocket/error.hpp>

#include "core/ws_frame.h"

namespace {

using vr::ws::message_reader;
using result = message_reader::result;
using websocket_error = boost::beast::websocket::error;

// What the reader produced, in order, as comparable text.
struct seen {
  std::vector<std::string> items;
  boost::system::error_code ec;
};

std::string describe(result r, const message_reader::item& it) {
  switch (r) {
    case result::message:
      return (it.text ? "text:" : "binary:") + std::string(it.payload);
    case result::ping:
      return "ping:" + std::string(it.payload);
    case result::pong:
      return "pong:" + std::string(it.payload);
    case result::close:
      return "close:" + std::to_string(it.close_code) + ":" + std::string(it.close_reason);
    case result::error:
      return "error";
    case result::more:
      return "more";
  }
  return "?";
}

void drain(message_reader& reader, seen& out) {
  message_reader::item it;
  for (;;) {
    const result r = reader.next(it);
    if (r == result::more) return;
    if (r == result::error) {
      out.ec = it.ec;
      out.items.push_back("error");
      return;
    }
    if (r == result::message) {
      // The padding promised to simdjson is readable (ASan checks this in the sanitizer build).
      volatile char past = it.payload.data()[it.payload.size() + message_reader::kPadding - 1];
      static_cast<void>(past);
    }
    out.items.push_back(describe(r, it));
  }
}

// Feeds `wire` in pieces of `step` bytes, draining after each.
seen feed(const std::string& wire, std::size_t step, std::uint64_t max = 1 << 20, std::size_t chunk = 1024) {
  message_reader reader(max, chunk);
  seen out;
  for (std::size_t at = 0; at < wire.size(); at += step) {
    const std::size_t n = std::min(step, wire.size() - at);
    reader.append(wire.data() + at, n);
    drain(reader, out);
    if (out.ec) break;
  }
  return out;
}

std::string frame(std::uint8_t first, std::string_view payload) {
  std::string f = vr::ws::encode_frame(first & 0x0f, payload);
  f[0] = static_cast<char>(first);
  return f;
}

}  // namespace

TEST_CASE("ws_frame: header lengths round-trip at every encoding boundary", "[ws_frame]") {
  const std::uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  for (std::size_t n : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 70000u}) {
    INFO("length " << n);
    std::string payload(n, '\0');
    for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>('a' + i % 26);
    for (bool masked : {false, true}) {
      const std::string wire = vr::ws::encode_frame(vr::ws::text, payload, masked ? mask : nullptr);
      vr::ws::frame_header h;
      const auto* p = reinterpret_cast<const unsigned char*>(wire.data());
      REQUIRE(vr::ws::parse_header(p, wire.size(), h));
      CHECK(h.fin);
      CHECK(h.op == vr::ws::text);
      CHECK(h.rsv == 0);
      CHECK(h.masked == masked);
      CHECK(h.minimal);
      CHECK(h.length == n);
      CHECK(h.size == (n < 126 ? 2u : n <= 0xffff ? 4u : 10u) + (masked ? 4u : 0u));
      CHECK(wire.size() == h.size + n);
      // Every shorter prefix of the header asks for more bytes.
      vr::ws::frame_header partial;
      for (std::size_t k = 0; k < h.size; ++k) CHECK_FALSE(vr::ws::parse_header(p, k, partial));
      std::string back = wire.substr(h.size);
      if (masked) {
        for (std::size_t i = 0; i < n; ++i) back[i] = static_cast<char>(back[i] ^ h.mask[i & 3]);
      }
      CHECK(back == payload);
    }
  }
}

TEST_CASE("ws_frame: accept key and base64 follow RFC 6455 and RFC 4648", "[ws_frame]") {
  CHECK(vr::ws::accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const auto b64 = [](std::string_view s) {
    return vr::ws::base64_encode(reinterpret_cast<const unsigned char*>(s.data()), s.size());
  };
  CHECK(b64("") == "");
  CHECK(b64("f") == "Zg==");
  CHECK(b64("fo") == "Zm8=");
  CHECK(b64("foo") == "Zm9v");
  CHECK(b64("foob") == "Zm9vYg==");
  CHECK(b64("fooba") == "Zm9vYmE=");
  CHECK(b64("foobar") == "Zm9vYmFy");
}

TEST_CASE("ws_frame: close codes a peer may send", "[ws_frame]") {
  for (std::uint16_t ok : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999}) {
    CHECK(vr::ws::valid_close_code(ok));
  }
  for (std::uint16_t bad : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535}) {
    CHECK_FALSE(vr::ws::valid_close_code(bad));
  }
  CHECK(vr::ws::close_payload(1000, "bye") == std::string("\x03\xe8" "bye", 5));
}

TEST_CASE("message_reader: messages and control frames in order, whatever the read sizes", "[ws_frame]") {
  std::string wire;
  wire += vr::ws::encode_frame(vr::ws::text, R"({"a":1})");
  wire += vr::ws::encode_frame(vr::ws::ping, "p1");
  wire += vr::ws::encode_frame(vr::ws::binary, std::string("\x00\x01", 2));
  wire += frame(0x01, "frag-");  // text, not final
  wire += vr::ws::encode_frame(vr::ws::pong, "");  // control frames may come between fragments
  wire += frame(0x00, "men");
  wire += frame(0x80, "ted");
  wire += vr::ws::encode_frame(vr::ws::text, std::string(3000, 'x'));
  wire += vr::ws::encode_frame(vr::ws::text, "");
  wire += vr::ws::encode_frame(vr::ws::close, vr::ws::close_payload(1001, "going away"));
  const std::vector<std::string> expected = {
      R"(text:{"a":1})", "ping:p1",   std::string("binary:\x00\x01", 9), "pong:", "text:frag-mented",
      "text:" + std::string(3000, 'x'), "text:", "close:1001:going away"};
  for (std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{100},
                           std::size_t{1023}, wire.size()}) {
    INFO("step " << step);
    const seen s = feed(wire, step);
    CHECK_FALSE(s.ec);
    CHECK(s.items == expected);
  }
}

TEST_CASE("message_reader: an unfragmented message is handed over in place", "[ws_frame]") {
  message_reader reader(1 << 20);
  const std::string wire = vr::ws::encode_frame(vr::ws::text, "in place") + vr::ws::encode_frame(vr::ws::text, "next");
  char* at = reader.space();
  REQUIRE(reader.space_size() >= wire.size());
  std::copy(wire.begin(), wire.end(), at);
  reader.commit(wire.size());
  message_reader::item it;
  REQUIRE(reader.next(it) == result::message);
  CHECK(it.payload == "in place");
  CHECK(it.payload.data() == at + 2);
  REQUIRE(reader.next(it) == result::message);
  CHECK(it.payload.data() == at + 12);
  CHECK(reader.next(it) == result::more);
  CHECK(reader.buffered() == 0);
}

TEST_CASE("message_reader: a message larger than the buffer grows it and is whole", "[ws_frame]") {
  std::string big(200000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('A' + i % 23);
  const std::string wire = vr::ws::encode_frame(vr::ws::text, big) + vr::ws::encode_frame(vr::ws::text, "after");
  for (std::size_t step : {std::size_t{4096}, std::size_t{65536}, wire.size()}) {
    const seen s = feed(wire, step, 1 << 20, 1024);
    REQUIRE(s.items.size() == 2);
    CHECK(s.items[0] == "text:" + big);
    CHECK(s.items[1] == "text:after");
  }
}

TEST_CASE("message_reader: protocol violations are typed errors and stay errors", "[ws_frame]") {
  struct bad_case {
    const char* name;
    std::string wire;
    websocket_error expected;
  };
  const std::uint8_t mask[4] = {1, 2, 3, 4};
  std::string non_minimal16 = "\x81\x7e";
  non_minimal16 += std::string("\x00\x05", 2) + "hello";
  std::string non_minimal64 = "\x81\x7f";
  non_minimal64 += std::string("\x00\x00\x00\x00\x00\x00\x00\x05", 8) + "hello";
  std::string top_bit = "\x81\x7f";
  top_bit += std::string("\x80\x00\x00\x00\x00\x01\x00\x00", 8);
  std::string bad_utf8_reason = vr::ws::close_payload(1000) + "\xff\xfe";
  const std::vector<bad_case> cases = {
      {"reserved bit", frame(0xC1, "x"), websocket_error::bad_reserved_bits},
      {"unknown opcode", frame(0x83, "x"), websocket_error::bad_opcode},
      {"masked server frame", vr::ws::encode_frame(vr::ws::text, "x", mask), websocket_error::bad_masked_frame},
      {"fragmented ping", frame(0x09, "x"), websocket_error::bad_control_fragment},
      {"long ping", vr::ws::encode_frame(vr::ws::ping, std::string(126, 'p')), websocket_error::bad_control_size},
      {"continuation first", frame(0x80, "x"), websocket_error::bad_continuation},
      {"text inside a fragmented message", frame(0x01, "a") + frame(0x81, "b"), websocket_error::bad_data_frame},
      {"16-bit length below 126", non_minimal16, websocket_error::bad_size},
      {"64-bit length below 65536", non_minimal64, websocket_error::bad_size},
      {"64-bit length with the top bit", top_bit, websocket_error::bad_size},
      {"too big", vr::ws::encode_frame(vr::ws::text, std::string(101, 'x')), websocket_error::message_too_big},
      {"too big in fragments", frame(0x01, std::string(60, 'x')) + frame(0x80, std::string(41, 'x')),
       websocket_error::message_too_big},
      {"one-byte close", vr::ws::encode_frame(vr::ws::close, "\x03"), websocket_error::bad_close_size},
      {"close code 1005", vr::ws::encode_frame(vr::ws::close, vr::ws::close_payload(1005)), websocket_error::bad_close_code},
      {"close reason not UTF-8", vr::ws::encode_frame(vr::ws::close, bad_utf8_reason), websocket_error::bad_close_payload},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    // A good message first: it arrives, then the violation ends the stream.
    const std::string wire = vr::ws::encode_frame(vr::ws::text, "ok") + c.wire + vr::ws::encode_frame(vr::ws::text, "lost");
    const seen s = feed(wire, wire.size(), 100);
    CHECK(s.items == std::vector<std::string>{"text:ok", "error"});
    CHECK(s.ec == boost::system::error_code(c.expected));
  }
  // Exactly at the limit is fine, in one frame or in fragments.
  const seen at_limit = feed(vr::ws::encode_frame(vr::ws::text, std::string(100, 'x')) +
                                 frame(0x01, std::string(50, 'y')) + frame(0x80, std::string(50, 'y')),
                             4096, 100);
  CHECK_FALSE(at_limit.ec);
  CHECK(at_limit.items == std::vector<std::string>{"text:" + std::string(100, 'x'), "text:" + std::string(100, 'y')});
}

TEST_CASE("message_reader: an empty close frame has no code", "[ws_frame]") {
  const seen s = feed(vr::ws::encode_frame(vr::ws::close, ""), 1);
  CHECK(s.items == std::vector<std::string>{"close:0:"});
}

TEST_CASE("message_reader: the buffer grows with the bytes that arrive, not with what a header announces",
          "[ws_frame]") {
  constexpr std::size_t chunk = 1024;
  constexpr std::size_t announced = 60u << 20;
  vr::ws::message_reader reader(64u << 20, chunk);
  // A 10-byte header claiming 60 MiB, then 10 KiB of its payload.
  std::string header = vr::ws::encode_frame(vr::ws::text, std::string(1, 'x'));
  header.resize(2);
  header[1] = 127;
  for (int shift = 56; shift >= 0; shift -= 8) header += static_cast<char>((announced >> shift) & 0xff);
  reader.append(header.data(), header.size());
  vr::ws::message_reader::item item;
  REQUIRE(reader.next(item) == vr::ws::message_reader::result::more);
  CHECK(reader.buffered() + reader.space_size() <= chunk);
  std::size_t received = header.size();
  for (int i = 0; i < 10; ++i) {
    const std::string part(1024, 'a');
    reader.append(part.data(), part.size());
    received += part.size();
    REQUIRE(reader.next(item) == vr::ws::message_reader::result::more);
    // At most about twice what arrived (doubling), never the announced size.
    CHECK(reader.buffered() + reader.space_size() <= 2 * received + chunk);
  }
}

TEST_CASE("message_reader: appended bytes grow the buffer to at most about twice their size", "[ws_frame]") {
  constexpr std::size_t chunk = 1024;
  vr::ws::message_reader reader(1u << 20, chunk);
  const std::string frame = vr::ws::encode_frame(vr::ws::text, std::string(5000, 'b'));
  reader.append(frame.data(), frame.size());
  vr::ws::message_reader::item item;
  REQUIRE(reader.next(item) == vr::ws::message_reader::result::message);
  CHECK(item.payload.size() == 5000);
  CHECK(reader.space_size() + frame.size() <= 2 * frame.size() + chunk);
}

namespace {

// A socket stand-in for commit_read: `wire` is what the kernel holds, read into the room the
// reader offers, `limit` bytes at most per read (0: as much as fits). Returns the bytes read.
struct socket_feed {
  std::string wire;
  std::size_t at = 0;
  std::size_t read(message_reader& reader, seen& out, std::size_t limit = 0) {
    // A read's two arguments may be evaluated in either order: the room space() leaves is never
    // less than what space_size() said before it.
    const std::size_t said = reader.space_size();
    char* room = reader.space();
    CHECK(reader.space_size() >= said);
    std::size_t n = std::min(reader.space_size(), wire.size() - at);
    if (limit != 0) n = std::min(n, limit);
    std::copy(wire.data() + at, wire.data() + at + n, room);
    at += n;
    reader.commit_read(n);
    drain(reader, out);
    return n;
  }
};

// The i-th of a run of 100-byte text messages, each telling its number.
std::string numbered_payload(std::size_t i) {
  std::string payload = "event " + std::to_string(i) + " ";
  payload.resize(100, 'x');
  return payload;
}

std::string numbered_frames(std::size_t count) {
  std::string wire;
  for (std::size_t i = 0; i < count; ++i) wire += vr::ws::encode_frame(vr::ws::text, numbered_payload(i));
  return wire;
}

std::vector<std::string> numbered_items(std::size_t count) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back("text:" + numbered_payload(i));
  return out;
}

// Reads that fill the room, until it is the largest there is (kMaxReadChunks chunks).
void read_until_room_is_largest(message_reader& reader, socket_feed& sock, seen& out, std::size_t chunk) {
  for (int i = 0; i < 4; ++i) sock.read(reader, out);
  REQUIRE(reader.read_size() == message_reader::kMaxReadChunks * chunk);
}

}  // namespace

TEST_CASE("message_reader: reads that fill the room double it up to eight chunks", "[ws_frame]") {
  constexpr std::size_t chunk = 1024;
  message_reader reader(1 << 20, chunk);
  socket_feed sock{numbered_frames(2000)};  // 204 KB: the kernel always holds more than the room
  seen out;
  std::vector<std::size_t> sizes;
  while (sock.at < sock.wire.size()) {
    sizes.push_back(reader.read_size());
    sock.read(reader, out);
    CHECK(reader.buffered() + reader.space_size() <= message_reader::kMaxReadChunks * chunk);
  }
  CHECK_FALSE(out.ec);
  CHECK(out.items == numbered_items(2000));
  REQUIRE(sizes.size() > 4);
  CHECK(std::vector<std::size_t>(sizes.begin(), sizes.begin() + 5) ==
        std::vector<std::size_t>{chunk, 2 * chunk, 4 * chunk, 8 * chunk, 8 * chunk});
  CHECK(reader.read_size() == message_reader::kMaxReadChunks * chunk);
}

TEST_CASE("message_reader: after enough small reads in a row the room is one chunk again", "[ws_frame]") {
  constexpr std::size_t chunk = 1024;
  message_reader reader(1 << 20, chunk);
  socket_feed sock{numbered_frames(1000)};
  seen out;
  read_until_room_is_largest(reader, sock, out, chunk);
  // Reads of 50 bytes, under an eighth of the room: one short of the limit keeps the room...
  for (unsigned i = 0; i + 1 < message_reader::kShrinkAfter; ++i) sock.read(reader, out, 50);
  CHECK(reader.read_size() == 8 * chunk);
  // ...and a read of a quarter of the room starts the count again.
  sock.read(reader, out, 2 * chunk);
  for (unsigned i = 0; i + 1 < message_reader::kShrinkAfter; ++i) sock.read(reader, out, 50);
  CHECK(reader.read_size() == 8 * chunk);
  sock.read(reader, out, 50);
  CHECK(reader.read_size() == chunk);
  // Once the buffer is empty its memory goes back to one chunk.
  while (sock.at < sock.wire.size()) sock.read(reader, out, 50);
  CHECK_FALSE(out.ec);
  CHECK(out.items == numbered_items(1000));
  CHECK(reader.buffered() == 0);
  reader.space();
  CHECK(reader.space_size() == chunk);
}

TEST_CASE("message_reader: a room cut short by a large frame's end does not grow the reads", "[ws_frame]") {
  constexpr std::size_t chunk = 1024;
  message_reader reader(1 << 20, chunk);
  // A frame that fills the buffer but for 30 bytes; the room left then is its last 30 bytes.
  const std::string big = vr::ws::encode_frame(vr::ws::text, std::string(chunk - 4, 'b'));
  REQUIRE(big.size() == chunk);
  socket_feed sock{big + vr::ws::encode_frame(vr::ws::text, "after")};
  seen out;
  CHECK(sock.read(reader, out, chunk - 30) == chunk - 30);
  CHECK(reader.read_size() == chunk);
  CHECK(reader.space_size() == 30);
  CHECK(sock.read(reader, out, 30) == 30);  // fills the room, which was only the frame's end
  CHECK(reader.read_size() == chunk);
  sock.read(reader, out);
  CHECK(out.items == std::vector<std::string>{"text:" + std::string(chunk - 4, 'b'), "text:after"});
}

TEST_CASE("message_reader: space() never leaves less room than space_size() said before it", "[ws_frame]") {
  constexpr std::size_t chunk = 1024;
  message_reader reader(1 << 20, chunk);
  socket_feed sock{numbered_frames(3000)};
  seen out;
  read_until_room_is_largest(reader, sock, out, chunk);
  // Small reads until the room is one chunk again, while the buffer still holds 8 chunks; then
  // reads that end on a frame's end, so the buffer empties with its end near the front: the
  // moment its memory goes back. The next read must not be told the old room.
  for (unsigned i = 0; i < message_reader::kShrinkAfter; ++i) sock.read(reader, out, 50);
  REQUIRE(reader.read_size() == chunk);
  const std::size_t frame = numbered_frames(1).size();
  sock.read(reader, out, frame - (sock.at % frame));
  REQUIRE(reader.buffered() == 0);
  CHECK(reader.space_size() <= chunk);  // given back by next(), before the next read asks
  // Reads that fill the room, each followed by one that ends on a frame's end: the room grows
  // and empties again and again; read() checks the room at every step.
  for (int i = 0; i < 20 && sock.at < sock.wire.size(); ++i) {
    sock.read(reader, out);
    sock.read(reader, out, frame - (sock.at % frame));
    REQUIRE(reader.buffered() == 0);
  }
  while (sock.at < sock.wire.size()) sock.read(reader, out);
  CHECK_FALSE(out.ec);
  CHECK(out.items == numbered_items(3000));
}
