#include "core/backoff.h"

#include <algorithm>
#include <cmath>

namespace vr {

backoff::backoff(reconnect_policy policy, std::uint64_t seed) : policy_(policy), rng_(seed) {}

double backoff::base_for(std::uint32_t attempt) const {
  const double cap = policy_.max_delay_ms;
  if (policy_.initial_delay_ms <= 0) return 0;
  const std::uint32_t exponent = attempt == 0 ? 0 : attempt - 1;
  const double base = policy_.initial_delay_ms * std::pow(policy_.factor, double(exponent));
  // pow overflows to infinity for large attempts; NaN cannot arise with a positive initial delay,
  // but the comparison is written so that it would also land on the cap.
  if (!(base < cap)) return cap;
  return base;
}

double backoff::delay_for(std::uint32_t attempt) {
  // 53 random bits scaled into [0, 1): exactly reproducible from the seed on every platform,
  // unlike std::uniform_real_distribution, and never 1.
  const double random = double(rng_() >> 11) * 0x1.0p-53;
  return base_for(attempt) * (1 - policy_.jitter * random);
}

bool backoff::may_retry(std::uint32_t attempts_made) const {
  if (!policy_.enabled) return false;
  if (policy_.max_attempts <= 0) return true;
  return double(attempts_made) < policy_.max_attempts;
}

}  // namespace vr
