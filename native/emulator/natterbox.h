// Internal to the emulator: the Natterbox CTI world every session shares
// (docs/protocol-natterbox.md). Users' current presence elements answer subscribes with
// snapshots; groups map to members.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace vr::emu::detail {

struct natterbox_world {
  std::mutex mu;
  std::map<std::string, std::string> users;             // "org:user" -> element JSON (whole state)
  std::map<std::string, std::set<std::string>> groups;  // "org:group" -> user ids

  static std::string key(const std::string& org, const std::string& id) { return org + ":" + id; }
};

}  // namespace vr::emu::detail
