// libFuzzer target for the client's reading of the server's upgrade response: Beast's HTTP
// response parser, configured and fed as the transport feeds it (http::async_read_header into a
// 16 KiB buffer), then the client's checks (native/core/upgrade_check.h), then the bytes that
// came behind the header into the message reader. Oracles: the answer does not depend on how the
// bytes were split across reads; an accepted upgrade is HTTP/1.1 101 with the right accept key;
// the reported status is the parsed one.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstring>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>

#include "core/upgrade_check.h"
#include "fuzz_support.h"

namespace {

namespace http = boost::beast::http;
using vr::fuzz::require;

// What the transport sees after reading the header.
struct outcome {
  int read_error = 0;     // from the HTTP parser (or buffer_overflow), 0 when the header was read
  int upgrade_error = 0;  // from read_upgrade_response
  bool header_done = false;
  unsigned status = 0;
  std::string retry_after, upgrade_header, rest;
  bool operator==(const outcome&) const = default;
};

outcome read(std::string_view bytes, vr::fuzz::chunker* pieces, std::string_view key) {
  outcome o;
  http::response_parser<http::empty_body> parser;
  // The transport's handshake buffer holds at most 16 KiB.
  boost::beast::flat_buffer buffer{16 * 1024};
  std::size_t at = 0;
  for (;;) {
    boost::system::error_code ec;
    if (buffer.size() > 0) {
      const std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec && ec != http::error::need_more) {
        o.read_error = ec.value();
        return o;
      }
      if (parser.is_header_done()) break;
    }
    if (at == bytes.size()) {
      o.read_error = -1;  // the connection ended first
      return o;
    }
    std::size_t n = std::min(pieces ? pieces->next() : bytes.size(), bytes.size() - at);
    const std::size_t room = buffer.max_size() - buffer.size();
    if (room == 0) {
      o.read_error = static_cast<int>(http::error::buffer_overflow);
      return o;
    }
    n = std::min(n, room);
    auto space = buffer.prepare(n);
    std::memcpy(space.data(), bytes.data() + at, n);
    buffer.commit(n);
    at += n;
  }
  o.header_done = true;
  vr::detail::upgrade_response response;
  o.upgrade_error = vr::detail::read_upgrade_response(parser.get(), key, response).value();
  o.status = response.status;
  o.retry_after = response.retry_after;
  o.upgrade_header = response.upgrade_header;
  require(o.status == parser.get().result_int(), "status differs from the parsed one");
  if (o.upgrade_error == 0) {
    require(o.status == 101 && parser.get().version() == 11, "accepted a response that is no upgrade");
    require(parser.get()[http::field::sec_websocket_accept] == vr::ws::accept_key(key), "accept key");
    // What followed the header in this read is the start of the frame stream.
    o.rest.assign(static_cast<const char*>(buffer.data().data()), buffer.size());
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  vr::fuzz::chunker pieces(in.ConsumeIntegral<std::uint16_t>());
  // Half of the inputs use the key of the seed corpus, so correct accept values stay reachable.
  const std::string key = in.ConsumeBool() ? std::string("dGhlIHNhbXBsZSBub25jZQ==") : in.ConsumeRandomLengthString(32);
  const std::string bytes = in.ConsumeRemainingBytesAsString();

  const outcome whole = read(bytes, nullptr, key);
  const outcome pieced = read(bytes, &pieces, key);
  // Where the header is malformed, a parser may notice before or only after the end of the
  // stream, so the failures may differ in kind; whether the header was read may not.
  require(whole.header_done == pieced.header_done, "splitting the response changed whether it was read");
  require(!whole.header_done || (whole.upgrade_error == pieced.upgrade_error && whole.status == pieced.status &&
                                 whole.retry_after == pieced.retry_after &&
                                 whole.upgrade_header == pieced.upgrade_header),
          "splitting the response changed the answer");
  require(whole.rest.size() >= pieced.rest.size() &&
              whole.rest.compare(0, pieced.rest.size(), pieced.rest) == 0,
          "bytes behind the header differ");

  // The frames behind an accepted upgrade go to the message reader, as in the transport.
  if (whole.header_done && whole.upgrade_error == 0) {
    vr::ws::message_reader reader(1 << 16);
    reader.append(whole.rest.data(), whole.rest.size());
    vr::ws::message_reader::item item;
    for (int i = 0; i < 64; ++i) {
      const auto r = reader.next(item);
      if (r == vr::ws::message_reader::result::more || r == vr::ws::message_reader::result::error) break;
    }
  }
  return 0;
}
