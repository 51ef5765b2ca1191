#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "core/event_queue.h"
#include "utf16.h"

namespace {

using vr_test::to_utf16;

std::u16string slice(const vr::batch& b, std::size_t record, int field) {
  const auto text = to_utf16(b.text);
  const auto begin = b.meta.at(record * vr::kMetaStride + 1 + field * 2);
  const auto end = b.meta.at(record * vr::kMetaStride + 2 + field * 2);
  REQUIRE(begin <= end);
  REQUIRE(std::size_t(end) <= text.size());
  return text.substr(begin, end - begin);
}

}  // namespace

TEST_CASE("event_queue: ASCII records and their offsets", "[event_queue]") {
  int wakes = 0;
  vr::event_queue q(10, [&] { ++wakes; });
  CHECK(q.push_event("call.status", "customer_id:a:call:b", "2024-01-15T10:30:05.000000Z",
                     R"({"id":"b"})"));
  q.push_control(R"({"type":"state","state":"connected"})");
  q.push_server(R"({"type":"ack"})");
  CHECK(q.depth() == 1);

  vr::batch b;
  CHECK(q.drain(b) == 1);
  CHECK(b.events == 1);
  CHECK(b.ascii);
  CHECK(b.text ==
        "call.statuscustomer_id:a:call:b2024-01-15T10:30:05.000000Z{\"id\":\"b\"}"
        "{\"type\":\"state\",\"state\":\"connected\"}{\"type\":\"ack\"}");
  CHECK(b.meta == std::vector<std::int32_t>{
                      1, 0, 11, 11, 31, 31, 58, 58, 68, 68, 68, 68, 68,  //
                      2, 68, 104, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,      //
                      3, 104, 118, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                  });
  CHECK(q.depth() == 0);
  CHECK(wakes == 1);
}

TEST_CASE("event_queue: UTF-16 offsets for non-ASCII text", "[event_queue]") {
  vr::event_queue q(10, [] {});
  const std::string data = "{\"t\":\"caf\u00e9 \u20ac \U0001F600 \U0001F44D\U0001F3FD x\"}";
  const std::string topic = "customer_id:a:call:\u00fc\U00010348";
  q.push_event("call.status", topic, "", data);
  q.push_control("{\"type\":\"fault\",\"m\":\"\u00e9\"}");
  q.push_event("a\U0001F600", "", "t", "\"\u00e9\"");

  vr::batch b;
  REQUIRE(q.drain(b) == 2);
  CHECK_FALSE(b.ascii);
  REQUIRE(b.meta.size() == 3 * vr::kMetaStride);
  CHECK(b.meta[0] == vr::record_event);
  CHECK(b.meta[vr::kMetaStride] == vr::record_control);
  CHECK(b.meta[2 * vr::kMetaStride] == vr::record_event);
  CHECK(slice(b, 0, 0) == u"call.status");
  CHECK(slice(b, 0, 1) == to_utf16(topic));
  CHECK(slice(b, 0, 1) == u"customer_id:a:call:\u00fc\U00010348");
  CHECK(slice(b, 0, 2).empty());
  CHECK(slice(b, 0, 3) == u"{\"t\":\"caf\u00e9 \u20ac \U0001F600 \U0001F44D\U0001F3FD x\"}");
  CHECK(slice(b, 1, 0) == u"{\"type\":\"fault\",\"m\":\"\u00e9\"}");
  CHECK(slice(b, 2, 0) == u"a\U0001F600");
  CHECK(slice(b, 2, 1).empty());
  CHECK(slice(b, 2, 2) == u"t");
  CHECK(slice(b, 2, 3) == u"\"\u00e9\"");
  CHECK(std::size_t(b.meta[3 * vr::kMetaStride - 1]) == to_utf16(b.text).size());

  // The next batch starts again at 0 and is ASCII again.
  q.push_event("x", "y", "z", "1");
  REQUIRE(q.drain(b) == 1);
  CHECK(b.ascii);
  CHECK(b.meta == std::vector<std::int32_t>{1, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 4});
}

TEST_CASE("event_queue: one wake per outstanding period", "[event_queue]") {
  int wakes = 0;
  vr::event_queue q(100, [&] { ++wakes; });
  vr::batch b;
  CHECK(q.drain(b) == 0);
  CHECK(wakes == 0);
  q.push_event("a", "t", "", "1");
  q.push_event("a", "t", "", "2");
  q.push_control("{}");
  CHECK(wakes == 1);
  CHECK(q.drain(b) == 2);
  q.push_server("{}");
  CHECK(wakes == 2);
  q.push_event("a", "t", "", "3");
  CHECK(wakes == 2);
  CHECK(q.drain(b) == 1);
  CHECK(b.meta.size() == 2 * vr::kMetaStride);
  // A drain that finds nothing still ends the outstanding period.
  CHECK(q.drain(b) == 0);
  CHECK(b.text.empty());
  CHECK(b.meta.empty());
  q.push_control("{}");
  CHECK(wakes == 3);
}

TEST_CASE("event_queue: wake runs outside the lock", "[event_queue]") {
  std::size_t seen = 0;
  bool answered = false;
  vr::event_queue* queue = nullptr;
  vr::event_queue q(100, [&] {
    // Asked from another thread so that a held lock shows up as a timeout, not a hang.
    auto depth = std::async(std::launch::async, [&] { return queue->depth(); });
    answered = depth.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
    if (answered) seen = depth.get();
  });
  queue = &q;
  q.push_event("a", "t", "", "1");
  CHECK(answered);
  CHECK(seen == 1);
}

TEST_CASE("event_queue: backpressure at max_events", "[event_queue]") {
  vr::event_queue q(3, [] {});
  CHECK(q.max_events() == 3);
  CHECK(q.push_event("a", "t", "", "1"));
  CHECK(q.push_control("{}"));  // control records count towards the bound too
  CHECK_FALSE(q.push_event("a", "t", "", "3"));
  CHECK_FALSE(q.push_event("a", "t", "", "4"));
  CHECK(q.depth() == 3);
  CHECK(q.records() == 4);
  vr::batch b;
  CHECK(q.drain(b) == 3);
  CHECK(b.text == "at1{}t3t4");  // the name "a" is written once (batch.h, shared names)
  CHECK(b.reader_stopped);
  CHECK(q.push_event("a", "t", "", "5"));
}

TEST_CASE("event_queue: control and server records alone stop the reader at the bound", "[event_queue]") {
  vr::event_queue q(3, [] {});
  CHECK(q.push_server("{}"));
  CHECK(q.push_control("{}"));
  CHECK_FALSE(q.push_server("{}"));
  CHECK_FALSE(q.push_control("{}"));
  // Staged events see the published records as well.
  vr::batch b;
  CHECK(q.drain(b) == 0);
  CHECK(b.reader_stopped);
  CHECK(b.meta.size() == 4 * vr::kMetaStride);
  CHECK(q.push_control("{}"));
  CHECK(q.push_control("{}"));
  CHECK_FALSE(q.stage_event("a", "t", "", "1"));
  CHECK(q.records() == 3);
}

TEST_CASE("event_queue: only the drain after a stop tells the consumer to resume the reader", "[event_queue]") {
  vr::event_queue q(2, [] {});
  vr::batch b;
  // Below the bound: the reader never stopped, so no resume (it would only wake the io thread).
  CHECK(q.push_event("a", "t", "", "1"));
  CHECK(q.drain(b) == 1);
  CHECK_FALSE(b.reader_stopped);
  // Staged events reaching the bound are published with the stop, under the same lock.
  CHECK(q.stage_event("a", "t", "", "2"));
  CHECK_FALSE(q.stage_event("a", "t", "", "3"));
  CHECK(q.drain(b) == 2);
  CHECK(b.text == "at2t3");
  CHECK(b.reader_stopped);
  // Reported once: the next drain has nothing to resume.
  q.push_control("{}");
  CHECK(q.drain(b) == 0);
  CHECK_FALSE(b.reader_stopped);
  // push_event's refusal counts the same way.
  CHECK(q.push_event("a", "t", "", "4"));
  CHECK_FALSE(q.push_event("a", "t", "", "5"));
  CHECK(q.drain(b) == 2);
  CHECK(b.reader_stopped);
}

TEST_CASE("event_queue: a huge batch also asks the reader to pause", "[event_queue]") {
  vr::event_queue q(1000, [] {});
  CHECK(q.push_event("a", "t", "", std::string(1000, 'x')));
  CHECK_FALSE(q.push_event("a", "t", "", std::string(std::size_t{1} << 26, 'x')));
  vr::batch b;
  CHECK(q.drain(b) == 2);
  CHECK(q.push_event("a", "t", "", "1"));
}

TEST_CASE("event_queue: drain reuses the buffers", "[event_queue]") {
  vr::event_queue q(10, [] {});
  vr::batch b;
  q.push_event("a", "t", "", std::string(100000, 'x'));
  REQUIRE(q.drain(b) == 1);
  const auto big = b.text.capacity();
  REQUIRE(big >= 100000);
  q.push_event("a", "t", "", "small");
  REQUIRE(q.drain(b) == 1);  // the big buffer goes back to the queue...
  CHECK(b.text == "atsmall");
  q.push_event("a", "t", "", "again");
  REQUIRE(q.drain(b) == 1);  // ...and comes back with the next batch
  CHECK(b.text == "atagain");
  CHECK(b.text.capacity() >= big);
}

TEST_CASE("event_queue: a big buffer is freed once it is cleared nearly empty", "[event_queue]") {
  vr::event_queue q(10, [] {});
  vr::batch b;
  const std::size_t huge = 4 * vr::batch::kRetainTextBytes;
  q.push_event("a", "t", "", std::string(huge, 'x'));
  REQUIRE(q.drain(b) == 1);
  const auto big = b.text.capacity();
  REQUIRE(big >= huge + 2);
  // Cleared while full (the next drain clears `b` first), the buffer is kept: steady large
  // batches allocate nothing. It goes back to the queue and returns with the third batch.
  q.push_event("a", "t", "", "small");
  REQUIRE(q.drain(b) == 1);
  CHECK(b.text == "atsmall");
  q.push_event("a", "t", "", "again");
  REQUIRE(q.drain(b) == 1);
  CHECK(b.text == "atagain");
  CHECK(b.text.capacity() == big);
  // Cleared holding 7 bytes of it: freed.
  b.clear();
  CHECK(b.text.capacity() < 4096);
  CHECK(b.text.empty());

  // A buffer at the bound or below is kept however little it holds.
  b.text.reserve(vr::batch::kRetainTextBytes);
  const auto kept = b.text.capacity();
  b.text = "x";
  b.clear();
  CHECK(b.text.capacity() == kept);

  // Meta too: more records than kRetainMetaEntries / kMetaStride in one batch.
  vr::event_queue many(1u << 20, [] {});
  const std::size_t records = vr::batch::kRetainMetaEntries / vr::kMetaStride + 1;
  for (std::size_t i = 0; i < records; ++i) many.push_event("a", "t", "", "1");
  REQUIRE(many.drain(b) == records);
  const auto meta_cap = b.meta.capacity();
  REQUIRE(meta_cap > vr::batch::kRetainMetaEntries);
  b.clear();  // full: kept
  CHECK(b.meta.capacity() == meta_cap);
  b.meta.assign(vr::kMetaStride, 0);
  b.clear();  // one record in it: freed
  CHECK(b.meta.capacity() == 0);
  CHECK(b.events == 0);
}

TEST_CASE("event_queue: producer and consumer threads", "[event_queue]") {
  constexpr int kEvents = 100000;
  std::mutex m;
  std::condition_variable cv;
  bool woken = false;
  vr::event_queue q(512, [&] {
    std::lock_guard<std::mutex> lock(m);
    woken = true;
    cv.notify_one();
  });
  std::thread producer([&] {
    for (int i = 0; i < kEvents; ++i) {
      if (!q.push_event("e", "t", "", std::to_string(i))) {
        while (q.depth() >= q.max_events()) std::this_thread::yield();
      }
    }
  });
  int next = 0;
  vr::batch b;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (next < kEvents && std::chrono::steady_clock::now() < deadline) {
    {
      std::unique_lock<std::mutex> lock(m);
      cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return woken; });
      woken = false;
    }
    const auto n = q.drain(b);
    REQUIRE(b.meta.size() == n * vr::kMetaStride);
    for (std::size_t r = 0; r < n; ++r) {
      const auto* rec = &b.meta[r * vr::kMetaStride];
      const std::string data = b.text.substr(rec[7], rec[8] - rec[7]);
      if (data != std::to_string(next)) FAIL("expected " << next << " got " << data);
      ++next;
    }
  }
  producer.join();
  CHECK(next == kEvents);
  CHECK(q.depth() == 0);
}

TEST_CASE("event_queue: staged events stay invisible until publish, which wakes once", "[event_queue][stage]") {
  int wakes = 0;
  vr::event_queue q(100, [&] { ++wakes; });
  vr::batch b;
  CHECK(q.stage_event("e", "t", "", "1"));
  CHECK(q.stage_event("e", "t", "", "2"));
  CHECK(q.stage_event("e", "t", "", "3"));
  CHECK(wakes == 0);
  CHECK(q.depth() == 3);  // staged events count towards the depth
  CHECK(q.drain(b) == 0);
  CHECK(b.text.empty());
  CHECK(b.meta.empty());
  CHECK(q.depth() == 3);

  q.publish();
  CHECK(wakes == 1);
  CHECK(q.depth() == 3);
  q.publish();  // nothing staged: no second wake
  CHECK(wakes == 1);
  REQUIRE(q.drain(b) == 3);
  CHECK(b.text == "et1t2t3");  // the name once, the later events pointing at it
  CHECK(b.meta == std::vector<std::int32_t>{
                      1, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3,  //
                      1, 0, 1, 3, 4, 4, 4, 4, 5, 5, 5, 5, 5,  //
                      1, 0, 1, 5, 6, 6, 6, 6, 7, 7, 7, 7, 7,
                  });
  CHECK(q.depth() == 0);

  // Staging while a wake-up is outstanding does not wake again.
  q.stage_event("e", "t", "", "4");
  q.publish();
  CHECK(wakes == 2);
  q.stage_event("e", "t", "", "5");
  q.publish();
  CHECK(wakes == 2);
  REQUIRE(q.drain(b) == 2);
  CHECK(b.text == "et4et5");  // published apart: the second carries its own copy of the name
  CHECK(b.meta[vr::kMetaStride + 1] == 3);
}

TEST_CASE("event_queue: staged events keep their order with pushed records", "[event_queue][stage]") {
  int wakes = 0;
  vr::event_queue q(100, [&] { ++wakes; });
  q.push_event("p", "t", "", "0");
  q.stage_event("s", "t", "", "1");
  q.stage_event("s", "t", "", "2");
  CHECK(wakes == 1);
  q.push_control("{\"c\":1}");  // must follow the staged events
  CHECK(wakes == 1);
  q.stage_event("s", "t", "", "3");
  q.push_server("{\"s\":1}");
  q.stage_event("s", "t", "", "4");
  q.push_event("p", "t", "", "5");
  q.stage_event("s", "t", "", "6");
  CHECK(q.depth() == 7);
  vr::batch b;
  REQUIRE(q.drain(b) == 6);  // "6" is still staged
  // A name is shared within what was staged together; each merge continues with the names of
  // the staged text, so "p" is written again after it.
  CHECK(b.text == "pt0st1t2{\"c\":1}st3{\"s\":1}st4pt5");
  CHECK(b.meta == std::vector<std::int32_t>{
                      1, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3,      //
                      1, 3, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 6,      //
                      1, 3, 4, 6, 7, 7, 7, 7, 8, 8, 8, 8, 8,      //
                      2, 8, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     //
                      1, 15, 16, 16, 17, 17, 17, 17, 18, 18, 18, 18, 18,  //
                      3, 18, 25, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    //
                      1, 25, 26, 26, 27, 27, 27, 27, 28, 28, 28, 28, 28,  //
                      1, 28, 29, 29, 30, 30, 30, 30, 31, 31, 31, 31, 31,
                  });
  CHECK(b.segments.size() == 1);
  CHECK(q.depth() == 1);
  q.publish();
  REQUIRE(q.drain(b) == 1);
  CHECK(b.text == "st6");
  CHECK(q.depth() == 0);
}

TEST_CASE("event_queue: staged events are rebased behind pending text", "[event_queue][stage]") {
  vr::event_queue q(100, [] {});
  q.push_control("{\"type\":\"x\"}");  // 12 units pending
  q.stage_event("ab", "cd", "ef", "gh");
  q.stage_event("i", "j", "k", "l");
  q.publish();
  q.stage_event("m", "n", "o", "p");
  q.publish();
  vr::batch b;
  REQUIRE(q.drain(b) == 3);
  CHECK(b.text == "{\"type\":\"x\"}abcdefghijklmnop");
  CHECK(b.meta == std::vector<std::int32_t>{
                      2, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,            //
                      1, 12, 14, 14, 16, 16, 18, 18, 20, 20, 20, 20, 20,    //
                      1, 20, 21, 21, 22, 22, 23, 23, 24, 24, 24, 24, 24,    //
                      1, 24, 25, 25, 26, 26, 27, 27, 28, 28, 28, 28, 28,
                  });
}

TEST_CASE("event_queue: backpressure with staged events", "[event_queue][stage]") {
  int wakes = 0;
  vr::event_queue q(3, [&] { ++wakes; });
  CHECK(q.push_event("a", "t", "", "1"));
  CHECK(q.stage_event("a", "t", "", "2"));
  CHECK(wakes == 1);
  vr::batch b;
  REQUIRE(q.drain(b) == 1);  // only the pushed one: "2" is staged
  CHECK(q.stage_event("a", "t", "", "3"));
  CHECK(q.depth() == 2);
  // The third undrained event reaches max_events: false, and the staged ones are published.
  CHECK_FALSE(q.stage_event("a", "t", "", "4"));
  CHECK(wakes == 2);
  CHECK(q.depth() == 3);
  CHECK_FALSE(q.stage_event("a", "t", "", "5"));  // still full, still published at once
  CHECK(q.depth() == 4);
  REQUIRE(q.drain(b) == 4);
  CHECK(b.text == "at2t3t4at5");  // "5" was published by itself
  CHECK(q.depth() == 0);
  CHECK(q.stage_event("a", "t", "", "6"));
  CHECK(q.drain(b) == 0);

  // Published and staged events add up.
  vr::event_queue r(4, [] {});
  CHECK(r.push_event("a", "t", "", "1"));
  CHECK(r.push_event("a", "t", "", "2"));
  CHECK(r.stage_event("a", "t", "", "3"));
  CHECK_FALSE(r.stage_event("a", "t", "", "4"));
  REQUIRE(r.drain(b) == 4);
  CHECK(b.text == "at1t2at3t4");
}

TEST_CASE("event_queue: a huge staged event asks the reader to pause", "[event_queue][stage]") {
  vr::event_queue q(1000, [] {});
  CHECK(q.push_event("a", "t", "", std::string(1000, 'x')));
  CHECK_FALSE(q.stage_event("a", "t", "", std::string(std::size_t{1} << 26, 'x')));
  CHECK(q.depth() == 2);
  vr::batch b;
  REQUIRE(q.drain(b) == 2);  // published by itself, no publish() call needed
  CHECK(q.stage_event("a", "t", "", "1"));
}

TEST_CASE("event_queue: staging publishes by itself at kStageBytes", "[event_queue][stage]") {
  int wakes = 0;
  vr::event_queue q(100000, [&] { ++wakes; });
  vr::batch b;
  // Each event is 3 + 1000 bytes of text: its names cycle through ten and a segment keeps eight,
  // the oldest replaced first, so none is found again and each event writes its own. The event
  // that brings the staged text to kStageBytes or more is published with everything before it.
  const std::string data(1000, 'd');
  const std::size_t per = 3 + data.size();
  const std::size_t needed = (vr::event_queue::kStageBytes + per - 1) / per;
  for (std::size_t i = 1; i < needed; ++i) {
    CHECK(q.stage_event("e" + std::to_string(i % 10), "t", "", data));
    CHECK(q.drain(b) == 0);
  }
  CHECK(wakes == 0);
  CHECK(q.stage_event("e" + std::to_string(needed % 10), "t", "", data));
  CHECK(wakes == 1);
  CHECK(q.depth() == needed);
  REQUIRE(q.drain(b) == needed);
  CHECK(b.text.size() == needed * per);
  CHECK(b.text.size() >= vr::event_queue::kStageBytes);
  CHECK(b.text.size() - per < vr::event_queue::kStageBytes);
  for (std::size_t r = 0; r < needed; ++r) {
    CHECK(b.meta[r * vr::kMetaStride + 1] == std::int32_t(r * per));
    CHECK(b.meta[r * vr::kMetaStride + vr::kMetaStride - 1] == std::int32_t((r + 1) * per));
  }
  // A single event past the threshold goes out by itself.
  CHECK(q.stage_event("e", "t", "", std::string(vr::event_queue::kStageBytes, 'x')));
  CHECK(wakes == 2);
  CHECK(q.drain(b) == 1);
}

TEST_CASE("event_queue: UTF-16 offsets of staged non-ASCII events", "[event_queue][stage]") {
  vr::event_queue q(100, [] {});
  const std::string d0 = "{\"t\":\"caf\u00e9\"}";                     // 2-byte
  const std::string d1 = "{\"t\":\"\u4e2d\u6587\"}";                  // 3-byte
  const std::string d2 = "{\"t\":\"\U0001F600\"}";                    // 4-byte, surrogate pair
  const std::string t2 = "customer_id:a:call:\U0001F600";             // pair at the field's end
  const std::string ty3 = "\U0001F600x";                              // pair at the field's start
  q.push_control("{\"m\":\"\u00e9\u4e2d\U0001F600\"}");
  q.stage_event("call.status", "customer_id:a:call:b", "ts", d0);
  q.stage_event("call.status", "customer_id:a:call:\u4e2d", "ts", d1);
  q.publish();
  q.stage_event("call.status", t2, "\U0001F600", d2);
  q.push_server("{\"s\":\"\u00e9\"}");
  q.stage_event(ty3, "t", "ts", "\"\u00e9\u4e2d\U0001F600\"");
  q.stage_event("x", "y", "z", "1", "x_é", "t2😀");  // with the live name and a second topic
  q.publish();

  vr::batch b;
  REQUIRE(q.drain(b) == 5);
  CHECK_FALSE(b.ascii);
  REQUIRE(b.meta.size() == 7 * vr::kMetaStride);
  const std::int32_t kinds[] = {2, 1, 1, 1, 3, 1, 1};
  for (int r = 0; r < 7; ++r) CHECK(b.meta[r * vr::kMetaStride] == kinds[r]);
  CHECK(slice(b, 0, 0) == u"{\"m\":\"\u00e9\u4e2d\U0001F600\"}");
  CHECK(slice(b, 1, 3) == to_utf16(d0));
  CHECK(slice(b, 1, 1) == u"customer_id:a:call:b");
  CHECK(slice(b, 2, 1) == u"customer_id:a:call:\u4e2d");
  CHECK(slice(b, 2, 3) == u"{\"t\":\"\u4e2d\u6587\"}");
  CHECK(slice(b, 3, 0) == u"call.status");
  CHECK(slice(b, 3, 1) == u"customer_id:a:call:\U0001F600");
  CHECK(slice(b, 3, 2) == u"\U0001F600");
  CHECK(slice(b, 3, 3) == u"{\"t\":\"\U0001F600\"}");
  CHECK(slice(b, 4, 0) == u"{\"s\":\"\u00e9\"}");
  CHECK(slice(b, 5, 0) == u"\U0001F600x");
  CHECK(slice(b, 5, 3) == u"\"\u00e9\u4e2d\U0001F600\"");
  CHECK(slice(b, 6, 0) == u"x");
  CHECK(slice(b, 6, 3) == u"1");
  CHECK(slice(b, 6, 4) == u"x_é");
  CHECK(slice(b, 6, 5) == u"t2😀");
  CHECK(slice(b, 5, 4).empty());
  CHECK(slice(b, 5, 5).empty());
  // Only record 2's name points back (at record 1's); the text each record writes follows the
  // record before it, and the last one ends at the text's UTF-16 length.
  CHECK(b.meta[2 * vr::kMetaStride + 1] == b.meta[vr::kMetaStride + 1]);
  for (int r = 1; r < 7; ++r) {
    const auto* prev = &b.meta[(r - 1) * vr::kMetaStride];
    const int end_field = prev[0] == vr::record_event ? vr::kMetaStride - 1 : 2;
    CHECK(b.meta[r * vr::kMetaStride + (r == 2 ? 3 : 1)] == prev[end_field]);
  }
  CHECK(std::size_t(b.meta[6 * vr::kMetaStride + vr::kMetaStride - 1]) == to_utf16(b.text).size());
  CHECK(std::size_t(b.units) == to_utf16(b.text).size());

  // A staged ASCII batch swapped in after a non-ASCII one is ASCII again.
  q.stage_event("x", "y", "z", "2");
  q.publish();
  REQUIRE(q.drain(b) == 1);
  CHECK(b.ascii);
  CHECK(b.meta == std::vector<std::int32_t>{1, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 4});
}

TEST_CASE("event_queue: an idle queue gives back what a burst grew, a busy one keeps it", "[event_queue]") {
  vr::event_queue q(1u << 20, [] {});
  vr::batch b;
  const std::size_t big = 2 * vr::event_queue::kIdleBytes;
  q.push_event("a", "t", "", std::string(big, 'x'));
  REQUIRE(q.drain(b) == 1);
  const std::size_t grown = b.text.capacity();
  REQUIRE(grown >= big);
  // A record waits: nothing is given back, the consumer's batch included.
  q.push_event("a", "t", "", "small");
  b.clear();
  CHECK(q.release_idle(b) == 0);
  CHECK(b.text.capacity() == grown);
  // The next drain hands the grown buffer (cleared) to the queue as its next batch.
  REQUIRE(q.drain(b) == 1);
  CHECK(b.text == "atsmall");
  b.clear();
  const std::size_t small = b.text.capacity();
  REQUIRE(small < vr::event_queue::kIdleBytes);
  // Idle now: the queue's grown batch goes back; the consumer's small one stays for reuse.
  CHECK(q.release_idle(b) == grown);
  CHECK(b.text.capacity() == small);
  CHECK(q.release_idle(b) == 0);
  // The consumer's own grown batch goes back the same way.
  q.push_event("a", "t", "", std::string(big, 'y'));
  REQUIRE(q.drain(b) == 1);
  const std::size_t consumed = b.text.capacity();
  b.clear();
  CHECK(q.release_idle(b) == consumed);
  CHECK(b.text.capacity() < vr::event_queue::kIdleBytes);
  // Records keep flowing after a release.
  q.push_event("a", "t", "", "after");
  REQUIRE(q.drain(b) == 1);
  CHECK(b.text == "atafter");
}
