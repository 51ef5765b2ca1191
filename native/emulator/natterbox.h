// Internal to the emulator: the Natterbox world every session shares (docs/protocol-natterbox.md).
// Users' current presence elements answer CTI subscribes with snapshots; groups map to members.
// Unread counts are pushed to messages sockets as they change (nothing is replayed).
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "emulator/emulator.h"

namespace vr::emu::detail {

// Why a Natterbox token is refused (not in the configured list, expired), or empty when it is
// accepted. Shared by the CTI `auth` frame and the messages socket's upgrade.
std::string natterbox_token_refusal(const natterbox_options& o, std::string_view token);

struct natterbox_world {
  std::mutex mu;
  std::map<std::string, std::string> users;             // "org:user" -> element JSON (whole state)
  std::map<std::string, std::set<std::string>> groups;  // "org:group" -> user ids

  static std::string key(const std::string& org, const std::string& id) { return org + ":" + id; }
};

}  // namespace vr::emu::detail
