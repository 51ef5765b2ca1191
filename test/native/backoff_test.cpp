#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/backoff.h"

namespace {

vr::reconnect_policy no_jitter() {
  vr::reconnect_policy p;
  p.jitter = 0;
  return p;
}

}  // namespace

TEST_CASE("backoff: documented schedule without jitter", "[backoff]") {
  vr::backoff b(no_jitter(), 7);
  const std::vector<double> expected = {1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
  for (std::uint32_t n = 1; n <= expected.size(); ++n) {
    INFO("attempt " << n);
    CHECK(b.base_for(n) == expected[n - 1]);
    CHECK(b.delay_for(n) == expected[n - 1]);
  }
  // Attempt 0 is treated as the first.
  CHECK(b.base_for(0) == 1000);
}

TEST_CASE("backoff: large attempts stay at the cap", "[backoff]") {
  vr::backoff b(no_jitter(), 1);
  for (std::uint32_t n : {64u, 1024u, 1025u, 100000u, std::numeric_limits<std::uint32_t>::max()}) {
    INFO("attempt " << n);
    CHECK(b.base_for(n) == 30000);
    CHECK(b.delay_for(n) == 30000);
  }
}

TEST_CASE("backoff: other policies", "[backoff]") {
  vr::reconnect_policy p = no_jitter();
  p.initial_delay_ms = 250;
  p.max_delay_ms = 5000;
  p.factor = 3;
  vr::backoff b(p, 1);
  CHECK(b.base_for(1) == 250);
  CHECK(b.base_for(2) == 750);
  CHECK(b.base_for(3) == 2250);
  CHECK(b.base_for(4) == 5000);

  p.factor = 1;
  CHECK(vr::backoff(p, 1).base_for(4000000000u) == 250);

  p.initial_delay_ms = 0;
  p.factor = 2;
  CHECK(vr::backoff(p, 1).base_for(1) == 0);
  CHECK(vr::backoff(p, 1).base_for(4000000000u) == 0);

  p.initial_delay_ms = 9000;
  p.max_delay_ms = 5000;
  CHECK(vr::backoff(p, 1).base_for(1) == 5000);
}

TEST_CASE("backoff: jitter is reproducible from the seed and within bounds", "[backoff]") {
  vr::reconnect_policy p;  // jitter 0.5
  vr::backoff a(p, 42), b(p, 42), c(p, 43);
  std::vector<double> first, second, third;
  for (std::uint32_t n = 1; n <= 40; ++n) {
    const double base = a.base_for(n);
    const double d = a.delay_for(n);
    CHECK(d <= base);
    CHECK(d > base * 0.5);
    first.push_back(d);
    second.push_back(b.delay_for(n));
    third.push_back(c.delay_for(n));
  }
  CHECK(first == second);
  CHECK(first != third);

  // delay = base * (1 - jitter * u), u from the top 53 bits of mt19937_64.
  std::mt19937_64 reference(42);
  vr::backoff d(p, 42);
  for (std::uint32_t n = 1; n <= 10; ++n) {
    const double u = double(reference() >> 11) / 9007199254740992.0;
    CHECK(d.delay_for(n) == d.base_for(n) * (1 - 0.5 * u));
  }
}

TEST_CASE("backoff: full jitter spans [0, base]", "[backoff]") {
  vr::reconnect_policy p;
  p.jitter = 1;
  vr::backoff b(p, 5);
  double low = 1e9, high = 0;
  for (int i = 0; i < 2000; ++i) {
    const double d = b.delay_for(1);
    CHECK(d > 0);
    CHECK(d <= 1000);
    low = std::min(low, d);
    high = std::max(high, d);
  }
  CHECK(low < 50);
  CHECK(high > 950);
}

TEST_CASE("backoff: may_retry", "[backoff]") {
  vr::reconnect_policy p;
  CHECK(vr::backoff(p, 1).may_retry(0));
  CHECK(vr::backoff(p, 1).may_retry(1000000));
  CHECK(vr::backoff(p, 1).may_retry(std::numeric_limits<std::uint32_t>::max()));
  p.max_attempts = 3;
  vr::backoff b(p, 1);
  CHECK(b.may_retry(0));
  CHECK(b.may_retry(1));
  CHECK(b.may_retry(2));
  CHECK_FALSE(b.may_retry(3));
  CHECK_FALSE(b.may_retry(4));
  p.max_attempts = std::numeric_limits<double>::infinity();
  CHECK(vr::backoff(p, 1).may_retry(std::numeric_limits<std::uint32_t>::max()));
  p.enabled = false;
  p.max_attempts = 0;
  CHECK_FALSE(vr::backoff(p, 1).may_retry(0));
}
