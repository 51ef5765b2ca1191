// The emulator's Natterbox CTI socket (docs/protocol-natterbox.md): `auth` first (any
// token, or one of a configured list; an expired unsigned JWT is refused; strict mode also wants a
// known client name), `tick welcome`, subscribe/unsubscribe by path in either style answered with
// snapshots of the world's users, `error{message,path}` for a path outside the session's org.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "core/codec.h"
#include "core/natterbox_cti.h"
#include "emulator/state.h"

namespace vr::emu::detail {

namespace {

bool known_client(std::string_view name) {
  return name == "FreedomWeb" || name == "CTI 2.0" || name == "FreedomCTI";
}

// An unsigned or signed JWT's `exp` (seconds), when it has one; the signature is not checked.
bool jwt_expired(std::string_view token) {
  const auto a = token.find('.');
  if (a == std::string_view::npos) return false;
  const auto b = token.find('.', a + 1);
  if (b == std::string_view::npos) return false;
  bool ok = false;
  const std::string payload = base64url_decode(token.substr(a + 1, b - a - 1), ok);
  if (!ok) return false;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(payload).get(root)) return false;
  double exp = 0;
  std::int64_t iexp = 0;
  if (!root["exp"].get_int64().get(iexp)) {
    exp = static_cast<double>(iexp);
  } else if (root["exp"].get_double().get(exp)) {
    return false;
  }
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return exp <= now;
}

std::string response_frame(const std::vector<std::string>& elements) {
  std::string json = "{\"type\":\"response\",\"data\":[";
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (i) json += ',';
    json += elements[i];
  }
  json += "]}";
  return json;
}

}  // namespace

std::shared_ptr<const publication> natterbox_blast_event(server_state& state, std::uint32_t i, std::size_t payload) {
  static constexpr const char* presences[] = {"RINGING", "ANSWERED", "BRIDGED", ""};
  const std::string org = state.opts.natterbox.org;
  const std::string user = std::to_string(std::uint64_t{i} + 1);
  char channel[40];
  std::snprintf(channel, sizeof channel, "b1a57000-0000-4000-8000-%012x", i);
  std::string element = "{\"userId\":" + user + ",\"presence\":\"" + presences[i % 4] +
                        "\",\"logicalDirection\":\"Inbound\",\"callChannelUUID\":\"" + channel +
                        "\",\"availability\":\"On Call\",\"availabilityStateId\":3,\"availabilityProfileId\":1";
  // The frame is {"type":"response","data":[element]}: pad the element to fill `payload`.
  const std::size_t frame = response_frame({element + "}"}).size();
  constexpr std::string_view pad_open = ",\"pad\":\"";
  if (payload >= frame + pad_open.size() + 1) {
    element += pad_open;
    element.append(payload - frame - pad_open.size() - 1, 'x');
    element += '"';
  }
  element += '}';
  auto wire = std::make_shared<const std::string>(encode_frame(0x1, response_frame({element})));
  auto pub = std::make_shared<publication>();
  pub->routes.push_back({"org:" + org + ":user:" + user + ":presence", wire});
  std::lock_guard lock(state.natterbox.mu);
  const std::string prefix = org + ":";
  for (const auto& [key, members] : state.natterbox.groups) {
    if (key.compare(0, prefix.size(), prefix) != 0 || !members.count(user)) continue;
    pub->routes.push_back({"org:" + org + ":group:" + key.substr(prefix.size()) + ":presence", wire});
  }
  return pub;
}

std::string natterbox_token_refusal(const natterbox_options& o, std::string_view token) {
  if (!o.tokens.empty() && std::find(o.tokens.begin(), o.tokens.end(), token) == o.tokens.end()) {
    return "invalid token";
  }
  if (jwt_expired(token)) return "token expired";
  return {};
}

// The messages socket: `{"request":"subscribe","clientRequestId":..,"data":{"users":["org:O:user:U"]}}`
// subscribes the connection to those users' unread counts; the answer echoes the clientRequestId
// (unless silent). Anything else is ignored, as API Gateway routes unknown requests nowhere.
void session_base::handle_natterbox_messages(std::string_view text) {
  simdjson::dom::element root;
  std::string_view request;
  std::string_view id;
  simdjson::dom::array users;
  if (parser_.parse(text.data(), text.size()).get(root) || root["request"].get_string().get(request) ||
      request != "subscribe" || root["clientRequestId"].get_string().get(id) ||
      root["data"]["users"].get_array().get(users)) {
    return;
  }
  std::vector<std::string> topics;
  for (auto u : users) {
    std::string_view key;
    if (u.get_string().get(key)) continue;
    std::string pattern;
    vr::natterbox_pattern p;
    // "org:O:user:U" is a presence pattern without its resource.
    if (!vr::parse_natterbox_pattern(std::string(key) + ":presence", p) || p.group) continue;
    topics.push_back("org:" + p.org + ":user:" + p.id + ":messages");
  }
  for (const auto& t : topics)
    if (nb_subs_.insert(t).second) state_->subscriptions++;
  std::string rec = "{\"type\":\"subscribe\",\"connection\":" + std::to_string(id_) + ",\"topics\":";
  vr::append_json_string_array(rec, topics);
  rec += ",\"clientRequestId\":";
  vr::append_json_string(rec, id);
  rec += '}';
  state_->notify(std::move(rec));
  if (state_->opts.natterbox.silent_messages) return;
  std::string reply = "{\"clientRequestId\":";
  vr::append_json_string(reply, id);
  reply += ",\"status\":\"subscribed\"}";
  send_control(encode_frame(0x1, reply));
}

void session_base::natterbox_refuse(std::string_view message, std::uint16_t code) {
  std::string json = "{\"type\":\"error\",\"message\":";
  vr::append_json_string(json, message);
  json += '}';
  state_->errors_sent++;
  send_control(encode_frame(0x1, json));
  begin_close(code, true);
}

void session_base::handle_natterbox(std::string_view text) {
  simdjson::dom::element root;
  std::string_view type;
  if (parser_.parse(text.data(), text.size()).get(root) || root["type"].get_string().get(type)) return;
  const auto& o = state_->opts.natterbox;
  if (!nb_authed_) {
    if (type != "auth") return natterbox_refuse("authenticate first: the first frame must be auth", 4001);
    std::string_view token;
    std::string_view name;
    if (root["accessToken"].get_string().get(token) || token.empty()) {
      return natterbox_refuse("auth without an accessToken", 4001);
    }
    if (root["client"]["name"].get_string().get(name)) name = {};
    if (auto why = natterbox_token_refusal(o, token); !why.empty()) return natterbox_refuse(why, 4001);
    if (o.strict && !known_client(name)) return natterbox_refuse("unknown client", 4001);
    nb_authed_ = true;
    send_control(encode_frame(0x1, "{\"type\":\"tick\",\"message\":\"welcome\"}"));
    std::string rec = "{\"type\":\"auth\",\"connection\":" + std::to_string(id()) + ",\"client\":";
    vr::append_json_string(rec, name);
    rec += '}';
    state_->notify(std::move(rec));
    return;
  }
  if (type != "subscribe" && type != "unsubscribe") return;
  std::string_view path;
  if (root["path"].get_string().get(path)) path = {};
  vr::natterbox_pattern p;
  if (!vr::parse_natterbox_path(path, p) || p.org != o.org) {
    std::string json = "{\"type\":\"error\",\"message\":";
    vr::append_json_string(json, vr::parse_natterbox_path(path, p) ? "not allowed: another organisation"
                                                                  : "no such path");
    json += ",\"path\":";
    vr::append_json_string(json, path);
    json += '}';
    state_->errors_sent++;
    send_control(encode_frame(0x1, json));
    return;
  }
  const std::string topic = vr::natterbox_pattern_text(p);
  if (type == "unsubscribe") {
    if (nb_subs_.erase(topic) && state_->subscriptions > 0) state_->subscriptions--;
    notify_topics("unsubscribe", {topic});
    return;
  }
  if (nb_subs_.insert(topic).second) state_->subscriptions++;
  notify_topics("subscribe", {topic});
  std::vector<std::string> elements;
  {
    auto& w = state_->natterbox;
    std::lock_guard lock(w.mu);
    std::vector<std::string> users;
    if (p.group) {
      auto g = w.groups.find(natterbox_world::key(p.org, p.id));
      if (g != w.groups.end()) users.assign(g->second.begin(), g->second.end());
    } else {
      users.push_back(p.id);
    }
    for (const auto& u : users) {
      auto it = w.users.find(natterbox_world::key(p.org, u));
      if (it != w.users.end()) elements.push_back(it->second);
    }
  }
  if (elements.empty()) return;
  if (o.per_member_snapshot) {
    for (const auto& e : elements) send_control(encode_frame(0x1, response_frame({e})));
  } else {
    send_control(encode_frame(0x1, response_frame(elements)));
  }
}

}  // namespace vr::emu::detail

namespace vr::emu {

using detail::natterbox_world;
using detail::publication;
using detail::encode_frame;
using detail::response_frame;

// ---- the emulator's entry points ----

void emulator::natterbox_presence(const std::string& org, const std::string& user, std::string state_json,
                                  const std::string& push_json) {
  if (state_->opts.dialect != wire_dialect::natterbox) {
    throw std::invalid_argument("natterbox_presence needs an emulator started with protocol natterbox");
  }
  auto pub = std::make_shared<publication>();
  auto wire = std::make_shared<const std::string>(encode_frame(0x1, response_frame({push_json})));
  {
    auto& w = state_->natterbox;
    std::lock_guard lock(w.mu);
    w.users[natterbox_world::key(org, user)] = std::move(state_json);
    pub->routes.push_back({"org:" + org + ":user:" + user + ":presence", wire});
    const std::string prefix = org + ":";
    for (const auto& [key, members] : w.groups) {
      if (key.compare(0, prefix.size(), prefix) != 0 || !members.count(user)) continue;
      pub->routes.push_back({"org:" + org + ":group:" + key.substr(prefix.size()) + ":presence", wire});
    }
  }
  state_->events_published++;
  for (auto& s : state_->all_sessions()) s->deliver(pub);
}

void emulator::natterbox_messages(const std::string& org, const std::string& user, const std::string& push_json) {
  if (state_->opts.dialect != wire_dialect::natterbox) {
    throw std::invalid_argument("natterbox_messages needs an emulator started with protocol natterbox");
  }
  auto pub = std::make_shared<publication>();
  pub->routes.push_back(
      {"org:" + org + ":user:" + user + ":messages", std::make_shared<const std::string>(encode_frame(0x1, push_json))});
  state_->events_published++;
  for (auto& s : state_->all_sessions()) s->deliver(pub);
}

void emulator::natterbox_group(const std::string& org, const std::string& group, std::vector<std::string> users) {
  auto& w = state_->natterbox;
  std::lock_guard lock(w.mu);
  w.groups[natterbox_world::key(org, group)] = std::set<std::string>(users.begin(), users.end());
}

}  // namespace vr::emu
