// The client's reading of the server's answer to the WebSocket upgrade request (RFC 6455 4.2.2):
// the facts the client reports (status, Retry-After, Upgrade) and whether the connection is
// accepted. Pure code over a parsed header, so the fuzzer (test/fuzz/fuzz_upgrade.cpp) runs the
// same rules on bytes Beast's parser read, without a socket. Private to native/core.
#pragma once

#include <string>
#include <string_view>

#include <boost/beast/http.hpp>
#include <boost/beast/websocket/error.hpp>

#include "core/transport.h"
#include "core/ws_frame.h"

namespace vr::detail {

// Fills `out` from `res` and answers why the upgrade failed (a beast::websocket::error), or
// nothing when the server accepted it for the request that carried Sec-WebSocket-Key `key`.
inline error_code read_upgrade_response(const boost::beast::http::response_header<>& res, std::string_view key,
                                        upgrade_response& out) {
  namespace http = boost::beast::http;
  using websocket_error = boost::beast::websocket::error;
  out.status = res.result_int();
  out.retry_after = std::string(res[http::field::retry_after]);
  out.upgrade_header = std::string(res[http::field::upgrade]);
  if (res.version() != 11) return websocket_error::bad_http_version;
  if (res.result_int() != 101) return websocket_error::upgrade_declined;
  if (!http::token_list(res[http::field::connection]).exists("upgrade")) return websocket_error::no_connection_upgrade;
  if (!http::token_list(res[http::field::upgrade]).exists("websocket")) return websocket_error::no_upgrade_websocket;
  const auto accept = res[http::field::sec_websocket_accept];
  if (accept.empty()) return websocket_error::no_sec_accept;
  if (accept != ws::accept_key(key)) return websocket_error::bad_sec_accept;
  return {};
}

}  // namespace vr::detail
