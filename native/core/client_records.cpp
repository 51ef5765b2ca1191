// Why an attempt or a connection ended, and the records that tell JS (client_impl.h): failures
// classified from the transport's errors, and the state, token request and close records.
#include "core/client_impl.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <locale>
#include <sstream>
#include <string>

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>

#include "core/codec.h"

namespace vr::client_detail {

void append_number(std::string& out, double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_error(std::string& out, const failure& f) {
  out += "{\"code\":";
  append_json_string(out, f.code);
  out += ",\"message\":";
  append_json_string(out, f.message);
  if (f.status) {
    out += ",\"status\":";
    append_number(out, f.status);
  }
  if (f.retry_after >= 0) {
    out += ",\"retryAfter\":";
    append_number(out, f.retry_after);
  }
  if (f.reported) out += ",\"reported\":true";
  if (f.cause) {
    out += ",\"cause\":\"";
    out += f.cause;
    out += '"';
  }
  if (f.count > 1) {
    out += ",\"count\":";
    append_number(out, static_cast<double>(f.count));
  }
  out += '}';
}

// Retry-After is either delay-seconds or an HTTP-date (RFC 9110 10.2.3). Returns ms, or -1.
double parse_retry_after(const std::string& value) {
  if (value.empty()) return -1;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    double seconds = 0;
    std::from_chars(value.data(), value.data() + value.size(), seconds);
    return seconds * 1000;
  }
  std::tm tm{};
  std::istringstream in(value);
  in.imbue(std::locale::classic());
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S");
  if (in.fail()) return -1;
  const std::time_t at = timegm(&tm);
  const auto now = std::chrono::system_clock::now();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::system_clock::from_time_t(at) - now).count();
  return std::max(0.0, std::floor(ms));
}

std::string host_header(const client_config& c) {
  const bool ipv6 = c.host.find(':') != std::string::npos;
  std::string h = ipv6 ? "[" + c.host + "]" : c.host;
  const bool default_port = (c.secure && c.port == "443") || (!c.secure && c.port == "80");
  if (!default_port) h += ":" + c.port;
  return h;
}

bool is_terminal_code(std::string_view code) { return code == "AUTH_FAILED" || code == "TLS_ERROR"; }

failure client_impl::classify_connect_error(const error_code& ec, connect_stage stage) const {
  const std::string where = config_.host + ":" + config_.port;
  switch (stage) {
    case connect_stage::tcp:
      return {"CONNECT_FAILED", "could not connect to " + where + ": " + ec.message()};
    case connect_stage::tls:
      if (!transport_->verify_failure().empty()) {
        return {"TLS_ERROR", "certificate verification failed for " + where + ": " + transport_->verify_failure(),
                0, -1, true};
      }
      return {"TLS_ERROR", "TLS handshake with " + where + " failed: " + ec.message()};
    case connect_stage::upgrade:
      break;
  }
  const auto& res = transport_->response();
  const unsigned status = res.status;
  if (status == 401 || status == 403) {
    return {"AUTH_FAILED", "the server refused the credential (HTTP " + std::to_string(status) + ")", status, -1,
            true, true};
  }
  if (status == 429) {
    return {"RATE_LIMITED", "the server is rate limiting connections (HTTP 429)", status,
            parse_retry_after(res.retry_after)};
  }
  if (status >= 500 && status <= 599) {
    return {"CONNECT_FAILED", "the server failed the upgrade (HTTP " + std::to_string(status) + ")", status};
  }
  if (status == 101) {
    return {"PROTOCOL_ERROR", "invalid WebSocket upgrade response: " + ec.message(), status};
  }
  if (status == 200) {
    return {"PROTOCOL_ERROR", "the server answered HTTP 200 without upgrading to WebSocket", status};
  }
  if (status != 0) {
    return {"PROTOCOL_ERROR", "unexpected HTTP " + std::to_string(status) + " to the WebSocket upgrade", status};
  }
  if (ec.category() == asio::error::get_ssl_category() || ec == asio::ssl::error::stream_truncated) {
    return {"TLS_ERROR", "TLS failure during the WebSocket upgrade: " + ec.message()};
  }
  if (ec.category() == boost::beast::http::make_error_code(boost::beast::http::error::bad_version).category()) {
    return {"PROTOCOL_ERROR", "the server did not answer the upgrade with HTTP: " + ec.message()};
  }
  return {"CONNECT_FAILED", "connection lost during the WebSocket upgrade: " + ec.message()};
}

failure client_impl::classify_read_error(const error_code& ec) const {
  namespace websocket = boost::beast::websocket;
  if (ec == websocket::error::message_too_big) {
    return {"PAYLOAD_TOO_LARGE",
            "a message exceeded maxPayload (" + std::to_string(config_.max_payload) + " bytes)"};
  }
  // The frame reader reports every broken framing rule (masked or reserved frames, bad close
  // codes, ...) in the WebSocket error category.
  if (ec != websocket::error::closed && ec.category() == websocket::make_error_code(websocket::error::closed).category()) {
    return {"PROTOCOL_ERROR", "the server broke the WebSocket protocol: " + ec.message()};
  }
  if (ec == websocket::error::closed) {
    std::string message = "the server closed the connection with code " + std::to_string(transport_->close_code());
    const std::string reason = transport_->close_reason();
    if (!reason.empty()) message += " (" + reason + ")";
    return {"CLOSED", std::move(message)};
  }
  if (ec == boost::system::errc::not_enough_memory) {
    return {"CLOSED",
            "out of memory: no buffer could be allocated for a message from the server; the connection was dropped"};
  }
  return {"CLOSED", "connection lost: " + ec.message()};
}

// --- control records -------------------------------------------------------------------
void client_impl::push_state(const char* state) {
  std::string json = "{\"type\":\"state\",\"state\":\"";
  json += state;
  json += "\"}";
  push_control(json);
}

void client_impl::push_token_request(bool refused) {
  push_control(refused ? "{\"type\":\"token_request\",\"refused\":true}"
                              : "{\"type\":\"token_request\",\"refused\":false}");
}

void client_impl::push_close(std::uint16_t code, const std::string& reason, bool will_reconnect, std::uint32_t attempt,
                  double delay, const failure* f) {
  push_close(code, reason, will_reconnect, attempt, delay, f, was_open_);
}

void client_impl::push_close(std::uint16_t code, const std::string& reason, bool will_reconnect, std::uint32_t attempt,
                  double delay, const failure* f, bool was_open) {
  std::string json = "{\"type\":\"close\",\"code\":";
  append_number(json, code);
  json += ",\"reason\":";
  append_json_string(json, reason);
  json += was_open ? ",\"wasOpen\":true" : ",\"wasOpen\":false";
  json += will_reconnect ? ",\"willReconnect\":true" : ",\"willReconnect\":false,\"final\":true";
  json += ",\"attempt\":";
  append_number(json, attempt);
  json += ",\"delay\":";
  append_number(json, delay);
  json += ",\"error\":";
  if (f && !f->code.empty()) {
    append_error(json, *f);
  } else {
    json += "null";
  }
  json += '}';
  push_control(json);
}

}  // namespace vr::client_detail
