// The io thread / JS thread hand-over as the addon runs it, with real threads: the producer runs
// on io_runtime's thread and uses the burst path (stage_event, publish) and control records; the
// consumer (the JS thread here) waits for the wake, drains, and when a drain says the reader
// stopped, posts the resume to the io thread as the addon does. Checked exactly: every record
// arrives once, in order, with its kind. Under ThreadSanitizer (test/sanitize-thread.sh) this is
// the test that shows the hand-over free of data races.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/post.hpp>

#include "core/event_queue.h"
#include "core/runtime.h"

namespace {

// What the io thread does: produce until the queue pushes back, then wait for a resume.
struct producer {
  vr::event_queue& queue;
  boost::asio::io_context& io;
  int total;
  int next = 0;
  bool paused = false;

  void run() {
    paused = false;
    while (next < total) {
      const std::string n = std::to_string(next);
      bool more = true;
      if (next % 97 == 0) {
        queue.push_control("{\"n\":" + n + "}");  // a control record, in order with the events
      } else if (next % 5 == 0) {
        more = queue.push_event("e", "t", "", n);
      } else {
        more = queue.stage_event("e", "t", "", n);
      }
      ++next;
      // A burst ends now and then, as when the socket runs dry.
      if (next % 64 == 0) queue.publish();
      if (!more) {
        queue.publish();
        paused = true;
        return;
      }
    }
    queue.publish();
  }

  void resume() {
    boost::asio::post(io, [this] {
      if (paused) run();
    });
  }
};

}  // namespace

TEST_CASE("handover: io thread producer and JS thread consumer through the runtime", "[handover]") {
  constexpr int kRecords = 60000;
  std::mutex m;
  std::condition_variable cv;
  bool woken = false;
  vr::event_queue queue(256, [&] {
    std::lock_guard<std::mutex> lock(m);
    woken = true;
    cv.notify_one();
  });
  vr::io_runtime runtime;
  producer p{queue, runtime.context(), kRecords};
  boost::asio::post(runtime.context(), [&] { p.run(); });

  int next = 0;
  std::size_t stops = 0;
  vr::batch b;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  // Let the producer run into the bound before the first drain, whatever the relative speed of
  // the two threads (a sanitizer build can make the consumer the faster one): the producer only
  // stops early when the queue is full, so once the depth holds still the reader has stopped.
  for (std::size_t last = 0, still = 0; still < 10 && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::size_t depth = queue.depth();
    still = depth > 0 && depth == last ? still + 1 : 0;
    last = depth;
  }
  while (next < kRecords && std::chrono::steady_clock::now() < deadline) {
    {
      std::unique_lock<std::mutex> lock(m);
      cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return woken; });
      woken = false;
    }
    const std::size_t events = queue.drain(b);
    REQUIRE(b.meta.size() % vr::kMetaStride == 0);
    std::size_t seen_events = 0;
    for (std::size_t r = 0; r < b.meta.size() / vr::kMetaStride; ++r) {
      const auto* rec = &b.meta[r * vr::kMetaStride];
      const std::string n = std::to_string(next);
      if (next % 97 == 0) {
        REQUIRE(rec[0] == vr::record_control);
        REQUIRE(b.text.substr(rec[1], rec[2] - rec[1]) == "{\"n\":" + n + "}");
      } else {
        REQUIRE(rec[0] == vr::record_event);
        REQUIRE(b.text.substr(rec[7], rec[8] - rec[7]) == n);
        ++seen_events;
      }
      ++next;
    }
    REQUIRE(seen_events == events);
    if (b.reader_stopped) {
      ++stops;
      p.resume();
    }
  }
  runtime.stop_and_join();
  CHECK(next == kRecords);
  CHECK(queue.depth() == 0);
  // The bound was reached, so the pause and resume path ran.
  CHECK(stops > 0);
}
