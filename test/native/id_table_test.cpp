#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "core/id_table.h"

TEST_CASE("id_table: ids added once, found again across growth, values kept", "[id_table]") {
  vr::id_table<std::string> t;
  CHECK(t.find(0) == nullptr);
  bool added = false;
  t.get(0, added) = "zero";
  CHECK(added);
  // Ids in sequence, ids sharing their low bits and their high bits, and the largest allowed.
  std::vector<std::uint64_t> ids;
  for (std::uint64_t i = 1; i <= 5000; ++i) ids.push_back(i);
  for (std::uint64_t i = 1; i <= 500; ++i) ids.push_back(i << 40);
  for (std::uint64_t i = 1; i <= 500; ++i) ids.push_back((i << 50) | 7);
  ids.push_back(vr::id_table<std::string>::kNone - 1);
  for (const auto id : ids) {
    t.get(id, added) = std::to_string(id);
    REQUIRE(added);
  }
  CHECK(t.size() == ids.size() + 1);
  for (const auto id : ids) {
    const std::string* v = t.find(id);
    REQUIRE(v != nullptr);
    CHECK(*v == std::to_string(id));
    std::string& again = t.get(id, added);
    CHECK_FALSE(added);
    CHECK(&again == v);
  }
  CHECK(*t.find(0) == "zero");
  CHECK(t.find(5001) == nullptr);
  CHECK(t.find(3) != nullptr);
  CHECK(t.size() == ids.size() + 1);
  t.clear();
  CHECK(t.size() == 0);
  CHECK(t.find(3) == nullptr);
  CHECK(t.get(3, added).empty());
  CHECK(added);
}
