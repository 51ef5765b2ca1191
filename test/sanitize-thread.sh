#!/usr/bin/env bash
# The native core and the addon under ThreadSanitizer: the Catch2 suite (its handover test runs
# the io thread / JS thread hand-over with real threads), then the node tests that deliver
# events across that hand-over, with the instrumented addon loaded into node over a preloaded
# TSan runtime. Node and V8 are not instrumented, and their own cross-thread hand-offs (Workers,
# the V8 platform) are invisible to TSan, which then reports races inside node itself; so for
# node TSan looks only at instrumented code (ignore_noninstrumented_modules): the addon's own
# accesses and every lock and atomic it takes, which is the hand-over.
set -euo pipefail
cd "$(dirname "$0")/.."
node native/build.js --tests --sanitize=thread --build-dir=build-tsan
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 report_signal_unsafe=0"
ctest --test-dir build-tsan --output-on-failure
tests=(test/client-delivery.test.js test/client-burst.test.js test/client-lifecycle.test.js test/client-emulator.test.js
  test/live-client.test.js test/natterbox-client.test.js)
[ $# -gt 0 ] && tests=("$@")
TSAN_OPTIONS="$TSAN_OPTIONS ignore_noninstrumented_modules=1" \
VOIP_REALTIME_NATIVE="$PWD/build-tsan/Release/voip_realtime.node" \
LD_PRELOAD="$(gcc -print-file-name=libtsan.so)" \
  node --test --test-concurrency=1 "${tests[@]}"
