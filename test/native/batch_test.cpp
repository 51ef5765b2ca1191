#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "core/batch.h"
#include "utf16.h"

// The batch's text layout (native/core/batch.h): names written once per segment, segments of
// at most kMaxSegmentUnits, and what a merge keeps. JS relies on two facts checked here: equal
// spans within a segment are equal names, and no record refers to text outside its segment.

namespace {

constexpr int S = vr::kMetaStride;

using vr_test::to_utf16;

// What a test appended, to compare the batch against.
struct expected_record {
  std::int32_t kind;
  std::vector<std::string> fields;  // event: 6 fields; control/server: the JSON
};

// Decodes every record of `b` and checks it against `want`, and checks the segment rules.
void check_batch(const vr::batch& b, const std::vector<expected_record>& want) {
  const std::u16string text = to_utf16(b.text);
  REQUIRE(std::size_t(b.units) == text.size());
  REQUIRE(b.meta.size() == want.size() * S);
  if (want.empty()) {
    CHECK(b.segments.empty());
    return;
  }
  REQUIRE(!b.segments.empty());
  CHECK(b.segments[0].record == 0);
  CHECK(b.segments[0].unit == 0);
  std::size_t events = 0;
  for (std::size_t s = 0; s < b.segments.size(); ++s) {
    const std::size_t first = b.segments[s].record;
    const std::size_t last = s + 1 < b.segments.size() ? b.segments[s + 1].record : b.meta.size();
    const std::int64_t begin = b.segments[s].unit;
    const std::int64_t end = s + 1 < b.segments.size() ? b.segments[s + 1].unit : b.units;
    REQUIRE(first % S == 0);
    REQUIRE(first < last);  // no empty segment
    REQUIRE(begin < end);
    // At most the limit, unless the segment is one record.
    if (last - first > std::size_t(S)) CHECK(end - begin <= vr::batch::kMaxSegmentUnits);
    for (std::size_t i = first; i < last; i += S) {
      const expected_record& w = want[i / S];
      REQUIRE(b.meta[i] == w.kind);
      const int spans = w.kind == vr::record_event ? 6 : 1;
      for (int f = 0; f < spans; ++f) {
        const std::int32_t a = b.meta[i + 1 + 2 * f];
        const std::int32_t z = b.meta[i + 2 + 2 * f];
        INFO("record " << i / S << " field " << f);
        REQUIRE(a <= z);
        if (a < z) {
          // Every span lies inside its record's segment.
          CHECK(a >= begin);
          CHECK(z <= end);
        }
        CHECK(text.substr(a, z - a) == to_utf16(w.fields[f]));
      }
      for (int k = 1 + 2 * spans; k < S; ++k) CHECK(b.meta[i + k] == 0);
      if (w.kind == vr::record_event) ++events;
    }
  }
  CHECK(b.events == events);
}

void add_event(vr::batch& b, std::vector<expected_record>& want, const std::string& type, const std::string& topic,
               const std::string& ts, const std::string& data, const std::string& server = {},
               const std::string& second = {}) {
  b.append_event(type, topic, ts, data, server, second);
  want.push_back({vr::record_event, {type, topic, ts, data, server, second}});
}

void add_record(vr::batch& b, std::vector<expected_record>& want, vr::record_kind kind, const std::string& json) {
  b.append_record(kind, json);
  want.push_back({kind, {json}});
}

}  // namespace

TEST_CASE("batch: a name is written once per segment, both as event_type and as the server's name", "[batch]") {
  vr::batch b;
  std::vector<expected_record> want;
  add_event(b, want, "call.status", "t1", "ts", "{}", "call_ringing");
  add_event(b, want, "call.status", "t2", "ts", "{}", "call_progressing");
  add_event(b, want, "call_ringing", "t3", "ts", "{}");
  add_record(b, want, vr::record_control, "{\"type\":\"x\"}");
  add_event(b, want, "call.status", "t4", "ts", "{}", "call_ringing");
  check_batch(b, want);
  CHECK(b.text ==
        "call.statust1ts{}call_ringing"
        "t2ts{}call_progressing"
        "t3ts{}"
        "{\"type\":\"x\"}"
        "t4ts{}");
  // event_type spans of records 0, 1 and 4 are one; record 2's name is record 0's server name.
  CHECK(b.meta[S + 1] == b.meta[1]);
  CHECK(b.meta[4 * S + 1] == b.meta[1]);
  CHECK(b.meta[2 * S + 1] == b.meta[9]);
  CHECK(b.meta[2 * S + 2] == b.meta[10]);
  CHECK(b.meta[4 * S + 9] == b.meta[9]);
  // Topics, timestamps and data are never shared, however equal.
  CHECK(b.meta[S + 5] != b.meta[5]);
  CHECK(b.meta[S + 7] != b.meta[7]);
  CHECK(b.segments.size() == 1);
}

TEST_CASE("batch: empty names and names past kMaxSharedName are not shared", "[batch]") {
  vr::batch b;
  std::vector<expected_record> want;
  const std::string longest(vr::batch::kMaxSharedName, 'n');
  const std::string longer(vr::batch::kMaxSharedName + 1, 'n');
  add_event(b, want, longest, "a", "", "1");
  add_event(b, want, longest, "b", "", "2");
  add_event(b, want, longer, "c", "", "3");
  add_event(b, want, longer, "d", "", "4");
  check_batch(b, want);
  CHECK(b.meta[S + 1] == b.meta[1]);
  CHECK(b.meta[3 * S + 1] != b.meta[2 * S + 1]);
  CHECK(b.text == longest + "a1b2" + longer + "c3" + longer + "d4");
}

TEST_CASE("batch: eight names are kept per segment, the oldest replaced first", "[batch]") {
  vr::batch b;
  std::vector<expected_record> want;
  for (int i = 0; i < 9; ++i) add_event(b, want, "n" + std::to_string(i), "t", "", "1");
  // n0 was replaced by n8: written again (replacing n1); n2..n8 are found.
  add_event(b, want, "n0", "t", "", "2");
  for (int i = 2; i < 9; ++i) add_event(b, want, "n" + std::to_string(i), "t", "", "3");
  add_event(b, want, "n1", "t", "", "4");
  check_batch(b, want);
  CHECK(b.meta[9 * S + 1] != b.meta[1]);
  for (int i = 2; i < 9; ++i) CHECK(b.meta[(8 + i) * S + 1] == b.meta[i * S + 1]);
  CHECK(b.meta[17 * S + 1] != b.meta[S + 1]);
  std::string text;
  for (int i = 0; i < 9; ++i) text += "n" + std::to_string(i) + "t1";
  text += "n0t2";
  for (int i = 2; i < 9; ++i) text += "t3";
  text += "n1t4";
  CHECK(b.text == text);
}

TEST_CASE("batch: non-ASCII names are shared with their UTF-16 offsets", "[batch]") {
  vr::batch b;
  std::vector<expected_record> want;
  add_event(b, want, "r\u00e9sum\u00e9", "\U0001F600", "", "1", "\u4e2d");
  add_event(b, want, "r\u00e9sum\u00e9", "x", "", "2", "\u4e2d");
  add_event(b, want, "\u4e2d", "y", "", "3");
  check_batch(b, want);
  CHECK_FALSE(b.ascii);
  CHECK(b.meta[S + 1] == 0);
  CHECK(b.meta[S + 2] == 6);
  CHECK(b.meta[2 * S + 1] == b.meta[9]);
}

TEST_CASE("batch: segments end before kMaxSegmentUnits, and a name is written again in the next", "[batch]") {
  vr::batch b;
  std::vector<expected_record> want;
  const std::string data(10000, 'd');
  const std::size_t per = std::string("call.status").size() + 1 + data.size();
  for (int i = 0; i < 30; ++i) add_event(b, want, "call.status", "t", "", data);
  check_batch(b, want);
  // The first event writes the name (11 + 1 + 10000 units), the rest 10001 each.
  const std::int64_t limit = vr::batch::kMaxSegmentUnits;
  REQUIRE(b.segments.size() >= 3);
  for (std::size_t s = 0; s < b.segments.size(); ++s) {
    const std::size_t first = b.segments[s].record / S;
    // Each segment's first record writes the name; the others point at it.
    CHECK(b.meta[first * S + 2] - b.meta[first * S + 1] == 11);
    CHECK(b.meta[first * S + 1] == b.segments[s].unit);
    if (s + 1 < b.segments.size()) {
      const std::int64_t size = b.segments[s + 1].unit - b.segments[s].unit;
      CHECK(size <= limit);
      // The next record (written as the first of a segment could be) would not have fitted.
      CHECK(size + std::int64_t(per) > limit);
    }
  }
}

TEST_CASE("batch: a record larger than a segment is a segment of its own", "[batch]") {
  vr::batch b;
  std::vector<expected_record> want;
  const std::string big(vr::batch::kMaxSegmentUnits + 10, 'x');
  add_event(b, want, "a", "t", "", "1");
  add_record(b, want, vr::record_server, "\"" + big + "\"");
  add_event(b, want, "a", "t", "", "2");
  add_event(b, want, "a", "t", "", "3");
  check_batch(b, want);
  REQUIRE(b.segments.size() == 3);
  CHECK(b.segments[1].record == std::size_t(S));
  CHECK(b.segments[2].record == std::size_t(2 * S));
  CHECK(b.meta[3 * S + 1] == b.meta[2 * S + 1]);  // shared again inside the third
  CHECK(b.meta[2 * S + 1] == b.segments[2].unit);
}

TEST_CASE("batch: append joins segments that fit and keeps sharing the appended names", "[batch]") {
  vr::batch a, other;
  std::vector<expected_record> want;
  std::vector<expected_record> other_want;
  add_event(a, want, "p", "t", "", "0");
  add_event(other, other_want, "s", "t", "", "1");
  add_event(other, other_want, "s", "t", "", "2");
  a.append(other);
  want.insert(want.end(), other_want.begin(), other_want.end());
  CHECK(other.meta.empty());
  CHECK(other.segments.empty());
  CHECK(other.units == 0);
  // After the merge "s" is found where the other batch wrote it; "p" is written again.
  add_event(a, want, "s", "t", "", "3");
  add_event(a, want, "p", "t", "", "4");
  check_batch(a, want);
  CHECK(a.segments.size() == 1);
  CHECK(a.text == "pt0st1t2t3pt4");
  CHECK(a.meta[3 * S + 1] == 3);
  CHECK(a.events == 5);

  // Into an empty batch, append takes the other's buffers and names as they are.
  vr::batch empty;
  other_want.clear();
  add_event(other, other_want, "q", "t", "", "5");
  empty.append(other);
  std::vector<expected_record> empty_want = other_want;
  add_event(empty, empty_want, "q", "t", "", "6");
  check_batch(empty, empty_want);
  CHECK(empty.text == "qt5t6");
}

TEST_CASE("batch: append does not join segments that would pass the limit", "[batch]") {
  vr::batch a, other;
  std::vector<expected_record> want;
  const std::string data(70000, 'd');
  add_event(a, want, "a", "t", "", data);
  std::vector<expected_record> other_want;
  add_event(other, other_want, "a", "t", "", data);
  add_event(other, other_want, "a", "t", "", "x");
  a.append(other);
  want.insert(want.end(), other_want.begin(), other_want.end());
  check_batch(a, want);
  REQUIRE(a.segments.size() == 2);
  CHECK(a.segments[1].record == std::size_t(S));
  CHECK(a.segments[1].unit == 1 + 1 + 70000);
  CHECK(a.meta[2 * S + 1] == a.segments[1].unit);  // the other's name, rebased
  CHECK(a.text == "at" + data + "at" + data + "tx");
}

TEST_CASE("batch: random appends, records and merges decode to what was appended", "[batch]") {
  std::mt19937 gen(20261208);
  const std::vector<std::string> names = {"call.status", "call_ringing", "call_progressing", "x",
                                          "presence_updated", "r\u00e9sum\u00e9", "\U0001F600", "",
                                          "a.b", "c.d", "e.f", "g.h", std::string(70, 'n')};
  const std::vector<std::string> pieces = {"a", "\u00e9", "\u4e2d", "\U0001F600", "0123456789"};
  auto text = [&](std::size_t max_pieces) {
    std::string s;
    const std::size_t n = std::uniform_int_distribution<std::size_t>(0, max_pieces)(gen);
    for (std::size_t i = 0; i < n; ++i) s += pieces[gen() % pieces.size()];
    return s;
  };
  for (int round = 0; round < 40; ++round) {
    vr::batch b, staged;
    std::vector<expected_record> want, staged_want;
    const int steps = std::uniform_int_distribution<int>(1, 400)(gen);
    for (int step = 0; step < steps; ++step) {
      const unsigned what = gen() % 10;
      // Now and then a large field, so that segments fill.
      const std::size_t size = gen() % 16 == 0 ? 6000 : 12;
      vr::batch& into = what < 4 ? staged : b;
      auto& into_want = what < 4 ? staged_want : want;
      if (what < 8) {
        add_event(into, into_want, names[gen() % names.size()], text(4), text(2), text(size),
                  gen() % 2 ? names[gen() % names.size()] : "", gen() % 8 == 0 ? text(3) : "");
      } else if (what == 8) {
        add_record(into, into_want, gen() % 2 ? vr::record_control : vr::record_server, text(size));
      } else {
        b.append(staged);
        want.insert(want.end(), staged_want.begin(), staged_want.end());
        staged_want.clear();
      }
    }
    b.append(staged);
    want.insert(want.end(), staged_want.begin(), staged_want.end());
    INFO("round " << round);
    check_batch(b, want);
    CHECK(staged.meta.empty());
    b.clear();
    CHECK(b.segments.empty());
    CHECK(b.units == 0);
    // A cleared batch shares nothing with what it held.
    std::vector<expected_record> again;
    add_event(b, again, "call.status", "t", "", "1");
    check_batch(b, again);
    CHECK(b.text == "call.statust1");
  }
}
