#!/usr/bin/env bash
# The native core and the addon under AddressSanitizer + UndefinedBehaviorSanitizer: the Catch2
# suite (with leak detection), then the client's and the emulator's node:test files with the
# sanitized addon preloaded into node. Leak detection is off for node, which does not free
# everything at exit. Any report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
node native/build.js --tests --sanitize=address,undefined --build-dir=build-asan
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 ctest --test-dir build-asan --output-on-failure
tests=(test/client-*.test.js test/live-*.test.js test/emulator*.test.js test/natterbox-client.test.js
  test/natterbox-emulator.test.js)
[ $# -gt 0 ] && tests=("$@")
ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=0 \
VOIP_REALTIME_NATIVE="$PWD/build-asan/Release/voip_realtime.node" \
LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
  node --test --test-concurrency=1 "${tests[@]}"
