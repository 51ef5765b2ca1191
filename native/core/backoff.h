// Reconnect delay schedule: base = min(max_delay, initial_delay * factor^(attempt-1)),
// delay = base * (1 - jitter * random()), random() uniform in [0, 1) from a seedable generator.
#pragma once

#include <cstdint>
#include <random>

namespace vr {

struct reconnect_policy {
  bool enabled = true;
  double initial_delay_ms = 1000;
  double max_delay_ms = 30000;
  double factor = 2;
  double jitter = 0.5;
  double max_attempts = 0;  // 0 means unlimited
  // How long a connection must stay open before the attempt count starts over (0: at once).
  // A server that upgrades and then drops every connection keeps the delays growing.
  double reset_after_ms = 10000;
};

class backoff {
 public:
  explicit backoff(reconnect_policy policy, std::uint64_t seed = std::random_device{}());

  // Delay in ms before attempt `attempt` (1-based), jitter applied.
  double delay_for(std::uint32_t attempt);
  // The un-jittered base for `attempt`.
  double base_for(std::uint32_t attempt) const;
  // True while another attempt is allowed after `attempts_made` failed attempts.
  bool may_retry(std::uint32_t attempts_made) const;

  const reconnect_policy& policy() const noexcept { return policy_; }

 private:
  reconnect_policy policy_;
  std::mt19937_64 rng_;
};

}  // namespace vr
