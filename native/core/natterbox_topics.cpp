// Natterbox topics and paths, and the presence book behind derived events (natterbox_cti.h).
#include "core/natterbox_cti.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace vr {

namespace {

bool decimal(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string strip_zeros(std::string_view s) {
  std::size_t i = 0;
  while (i + 1 < s.size() && s[i] == '0') ++i;
  return std::string(s.substr(i));
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = s.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, at - start));
    start = at + 1;
  }
}

}  // namespace

bool parse_natterbox_pattern(std::string_view pattern, natterbox_pattern& out) {
  const auto parts = split(pattern, ':');
  if (parts.size() != 5 || parts[0] != "org" || parts[4] != "presence") return false;
  if (parts[2] != "user" && parts[2] != "group") return false;
  if (!decimal(parts[1]) || !decimal(parts[3])) return false;
  out.org = strip_zeros(parts[1]);
  out.group = parts[2] == "group";
  out.id = strip_zeros(parts[3]);
  return true;
}

std::string natterbox_pattern_text(const natterbox_pattern& p) {
  return "org:" + p.org + (p.group ? ":group:" : ":user:") + p.id + ":presence";
}

std::string natterbox_path(const natterbox_pattern& p, bool seed_paths) {
  if (p.group) return "/organisation/" + p.org + "/user-group/" + p.id;
  if (seed_paths) return "/org/" + p.org + "/user/" + p.id + "/presence";
  return "/organisation/" + p.org + "/user/" + p.id;
}

bool parse_natterbox_path(std::string_view path, natterbox_pattern& out) {
  const auto parts = split(path, '/');
  // "", "organisation", O, "user"|"user-group", id   or   "", "org", O, "user", id, "presence"
  if (parts.size() == 5 && parts[0].empty() && parts[1] == "organisation" &&
      (parts[3] == "user" || parts[3] == "user-group") && decimal(parts[2]) && decimal(parts[4])) {
    out = {strip_zeros(parts[2]), parts[3] == "user-group", strip_zeros(parts[4])};
    return true;
  }
  if (parts.size() == 6 && parts[0].empty() && parts[1] == "org" && parts[3] == "user" && parts[5] == "presence" &&
      decimal(parts[2]) && decimal(parts[4])) {
    out = {strip_zeros(parts[2]), false, strip_zeros(parts[4])};
    return true;
  }
  return false;
}

presence_book::change presence_book::apply(std::uint64_t user, const element& e) {
  change c;
  bool inserted = false;
  state& s = users_.get(user, inserted);
  c.first = inserted;
  if (e.presence) {
    const std::string_view p = *e.presence;
    if (!inserted && s.has_presence && s.presence != p) {
      if (p.empty()) {
        c.presence_event = "presence_idle";
      } else if (p == "RINGING") {
        c.presence_event = "presence_ringing";
      } else if (p == "ANSWERED") {
        c.presence_event = "presence_answered";
      } else if (p == "BRIDGED") {
        c.presence_event = "presence_bridged";
      } else {
        event_ = "presence_";
        for (char ch : p) event_ += (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
        c.presence_event = event_;
      }
    }
    s.presence.assign(p);
    s.has_presence = true;
  }
  if (e.availability_state_id) {
    if (!inserted && s.has_state_id && s.availability_state_id != *e.availability_state_id) c.availability = true;
    s.availability_state_id = *e.availability_state_id;
    s.has_state_id = true;
  }
  if (e.availability) {
    if (!inserted && s.has_availability && s.availability != *e.availability) c.availability = true;
    s.availability.assign(*e.availability);
    s.has_availability = true;
  }
  if (c.first) c.presence_event = {};
  return c;
}

bool natterbox_user_id(simdjson::dom::element value, std::uint64_t& out) {
  std::int64_t n = 0;
  if (!value.get_int64().get(n)) {
    if (n < 0) return false;
    out = static_cast<std::uint64_t>(n);
    return true;
  }
  std::string_view s;
  return !value.get_string().get(s) && natterbox_decimal_id(s, out);
}

bool natterbox_decimal_id(std::string_view s, std::uint64_t& out) {
  if (!decimal(s)) return false;
  std::uint64_t v = 0;
  for (char c : s) v = v * 10 + static_cast<std::uint64_t>(c - '0');
  out = v;
  return true;
}

bool natterbox_frame_object(simdjson::dom::parser& parser, const char* data, std::size_t size, std::size_t capacity,
                            protocol_host& host, simdjson::dom::object& out) {
  simdjson::dom::element root;
  auto error = capacity >= size + simdjson::SIMDJSON_PADDING ? parser.parse(data, size, false).get(root)
                                                              : parser.parse(data, size, true).get(root);
  if (error) {
    host.malformed(std::string("a frame that is not JSON: ") + simdjson::error_message(error));
    return false;
  }
  if (root.get_object().get(out)) {
    host.unknown("a frame that is not a JSON object");
    return false;
  }
  return true;
}

std::string_view receive_clock::now() {
  const auto now = std::chrono::system_clock::now();
  return at(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
}

std::string_view receive_clock::at(std::int64_t unix_ms) {
  std::int64_t second = unix_ms / 1000;
  int ms = static_cast<int>(unix_ms % 1000);
  if (ms < 0) {
    ms += 1000;
    --second;
  }
  if (second != second_ || size_ == 0) {
    const std::time_t secs = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    const int n = std::snprintf(text_, sizeof text_, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n < 5 || static_cast<std::size_t>(n) >= sizeof text_) return {};
    size_ = static_cast<std::size_t>(n);
    second_ = second;
  }
  text_[size_ - 4] = static_cast<char>('0' + ms / 100);
  text_[size_ - 3] = static_cast<char>('0' + ms / 10 % 10);
  text_[size_ - 2] = static_cast<char>('0' + ms % 10);
  return {text_, size_};
}

}  // namespace vr
