// Credentials and the decision taken at the upgrade: HS256 JWTs (verified with the OpenSSL the
// process already has), access keys, frozen accounts, the upgrade rate limit and refusal faults.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cctype>
#include <cstring>
#include <random>

#include "core/codec.h"
#include "emulator/state.h"

namespace vr::emu::detail {

namespace {


int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// First value of `name` in a query string or a cookie header (separator ';' with spaces).
bool find_param(std::string_view list, char sep, std::string_view name, std::string& value) {
  while (!list.empty()) {
    auto end = list.find(sep);
    auto item = list.substr(0, end);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    auto eq = item.find('=');
    if (item.substr(0, eq) == name) {
      value = eq == std::string_view::npos ? std::string() : url_decode(item.substr(eq + 1));
      return true;
    }
    if (end == std::string_view::npos) break;
    list.remove_prefix(end + 1);
  }
  return false;
}

std::string_view reason_of(unsigned status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

std::string request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 2; ++i) {
    auto v = rng();
    for (int j = 0; j < 16; ++j) out += hex[(v >> (j * 4)) & 15];
  }
  return out;
}

upgrade_decision refuse(unsigned status, std::string_view message, std::uint32_t retry_after = 0) {
  upgrade_decision d;
  d.status = status;
  d.retry_after_s = retry_after;
  d.body = "{\"error\":{\"status\":" + std::to_string(status) + ",\"reason\":";
  vr::append_json_string(d.body, reason_of(status));
  d.body += ",\"message\":";
  vr::append_json_string(d.body, message);
  d.body += ",\"request_id\":\"" + request_id() + "\"}}";
  return d;
}

// The token of an `Authorization: Bearer <token>` value (the scheme is case-insensitive, RFC 7235);
// empty for any other value.
std::string_view bearer_token(std::string_view value) {
  constexpr std::string_view scheme = "bearer ";
  if (value.size() <= scheme.size()) return {};
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != scheme[i]) return {};
  }
  value.remove_prefix(scheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return value;
}

}  // namespace

std::string base64url_decode(std::string_view in, bool& ok) {
  ok = false;
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return {};
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = b64url_value(c);
    if (v < 0) return {};
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  ok = true;
  return out;
}

token_status verify_jwt(std::string_view token, std::string_view secret, principal& who, bool& delegate) {
  delegate = false;
  auto d1 = token.find('.');
  if (d1 == std::string_view::npos) return token_status::invalid;
  auto d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return token_status::invalid;

  bool ok = false;
  std::string sig = base64url_decode(token.substr(d2 + 1), ok);
  if (!ok || sig.size() != 32) return token_status::invalid;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  auto signed_part = token.substr(0, d2);
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac, &mac_len) ||
      mac_len != 32 || CRYPTO_memcmp(mac, sig.data(), 32) != 0)
    return token_status::invalid;

  simdjson::dom::parser parser;
  std::string header = base64url_decode(token.substr(0, d1), ok);
  if (!ok) return token_status::invalid;
  simdjson::dom::element h;
  std::string_view alg;
  if (parser.parse(header).get(h) || h["alg"].get(alg) || alg != "HS256") return token_status::invalid;

  std::string payload = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1), ok);
  if (!ok) return token_status::invalid;
  simdjson::dom::element p;
  if (parser.parse(payload).get(p) || !p.is_object()) return token_status::invalid;
  std::string_view customer;
  if (p["customer_id"].get(customer) || !vr::is_uuid(customer)) return token_status::invalid;
  who = principal{};
  who.customer_id = lower(customer);
  std::string_view agent;
  if (!p["agent_id"].get(agent) && !agent.empty()) {
    if (!vr::is_uuid(agent)) return token_status::invalid;
    who.agent_id = lower(agent);
  }
  simdjson::dom::array perms;
  if (!p["permissions"].get(perms)) {
    for (auto item : perms) {
      std::string_view name;
      if (item.get(name)) return token_status::invalid;
      if (name == "admin") who.admin = true;
      if (name == "manager") who.manager = true;
    }
  }
  bool is_delegate = false;
  if (!p["delegate"].get(is_delegate)) delegate = is_delegate;
  double exp = 0;
  if (!p["exp"].get(exp)) {
    auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (exp <= now) return token_status::expired;
  }
  return token_status::ok;
}

upgrade_decision decide_upgrade(server_state& st, const upgrade_request& req) {
  auto& o = st.opts;
  if (auto status = st.refuse_status.load(); status != 0)
    return refuse(status, "upgrade refused (emulator fault switch)", st.refuse_retry_after.load());

  if (o.upgrade_rate_limit > 0) {
    std::lock_guard lock(st.auth_mu);
    auto now = clock::now();
    while (!st.upgrade_times.empty() && now - st.upgrade_times.front() >= std::chrono::seconds(1))
      st.upgrade_times.pop_front();
    if (st.upgrade_times.size() >= o.upgrade_rate_limit)
      return refuse(429, "too many requests", o.retry_after_s);
    st.upgrade_times.push_back(now);
  }

  // Natterbox's CTI socket takes its credential in the first frame (natterbox.cpp), on any path
  // but /messages: the messages socket, whose `?token=` is checked here.
  if (o.dialect == wire_dialect::natterbox) {
    if (!req.websocket) return refuse(400, "expected a WebSocket upgrade request");
    upgrade_decision d;
    d.who.customer_id = o.natterbox.org;
    const auto q = req.target.find('?');
    if (req.target.substr(0, q) != "/messages") return d;
    // The token may be `?token=` or `Authorization: Bearer`; either one valid is enough.
    std::string token;
    const auto query = q == std::string_view::npos ? std::string_view() : req.target.substr(q + 1);
    const bool in_query = find_param(query, '&', "token", token) && !token.empty();
    std::string why = in_query ? natterbox_token_refusal(o.natterbox, token)
                               : "missing token: pass ?token=<jwt> or Authorization: Bearer <jwt>";
    if (why.empty()) {
      d.who.token_in = "query";
    } else if (auto bearer = bearer_token(req.authorization); !bearer.empty()) {
      why = natterbox_token_refusal(o.natterbox, bearer);
      if (why.empty()) d.who.token_in = "header";
    }
    if (!why.empty()) return refuse(401, why);
    d.who.natterbox_messages = true;
    return d;
  }

  auto target = req.target;
  auto q = target.find('?');
  auto path = target.substr(0, q);
  auto query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (path != "/v1.0/ws") return refuse(404, "no such endpoint; use /v1.0/ws");

  std::string token, key;
  bool has_token = find_param(query, '&', "token", token) && !token.empty();
  bool has_key = find_param(query, '&', "accesskey", key) && !key.empty();
  if (!has_key && o.dialect == wire_dialect::live)
    has_key = find_param(req.cookie, ';', "accesskey", key) && !key.empty();
  // The docs put access keys in ?token= as well; the live server takes only JWTs there.
  if (has_token && o.dialect == wire_dialect::documented && token.find('.') == std::string::npos) {
    key = token;
    has_key = true;
    has_token = false;
  }
  if (!has_token && !has_key) return refuse(401, "missing credentials: pass ?token=<jwt> or ?accesskey=<key>");

  upgrade_decision d;
  bool delegate = false;
  if (has_token) {
    switch (verify_jwt(token, o.secret, d.who, delegate)) {
      case token_status::invalid: return refuse(401, "invalid token");
      case token_status::expired: return refuse(401, "token expired");
      case token_status::ok: break;
    }
  } else {
    std::lock_guard lock(st.auth_mu);
    auto it = st.access_keys.find(key);
    if (it == st.access_keys.end()) return refuse(401, "invalid access key");
    d.who.customer_id = it->second;
    d.who.admin = true;
    d.who.access_key = true;
  }
  {
    std::lock_guard lock(st.auth_mu);
    if (st.frozen.count(d.who.customer_id)) return refuse(403, "the account is frozen");
  }
  if (delegate) {
    d.status = 200;
    d.body = "{}";
    return d;
  }
  if (!req.websocket) return refuse(400, "expected a WebSocket upgrade request");
  d.status = 101;
  return d;
}

}  // namespace vr::emu::detail
