#!/usr/bin/env bash
# The native core and the addon under AddressSanitizer + UndefinedBehaviorSanitizer: the Catch2
# suite, then the client's node:test files with the sanitized addon preloaded into node.
# Leak detection is off because node itself does not free everything at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
node native/build.js --tests --sanitize=address,undefined --build-dir=build-asan
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ctest --test-dir build-asan --output-on-failure
VOIP_REALTIME_NATIVE="$PWD/build-asan/Release/voip_realtime.node" \
LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
  node --test --test-concurrency=1 test/client-*.test.js test/live-*.test.js "$@"
