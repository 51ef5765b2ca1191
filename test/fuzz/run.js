#!/usr/bin/env node
'use strict';
// Builds the libFuzzer targets (test/fuzz/fuzz_<name>.cpp, declared in CMakeLists.txt under
// VR_FUZZ) with clang and runs each for a bounded time, starting from its seed corpus in
// test/fuzz/corpus/<name>/. New inputs go to the build folder, never into the repository; a
// failing input is saved as <build>/artifacts/<name>/crash-... and the run exits non-zero.
// Usage: npm run fuzz -- [--seconds N] [--build-dir DIR] [name ...]

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '../..');

function parseArgs(argv) {
  const opts = { seconds: 60, buildDir: path.join(root, 'build-fuzz'), names: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [key, inline] = arg.split('=', 2);
    const take = () => (inline !== undefined ? inline : argv[++i]);
    if (key === '--seconds') {
      const raw = take();
      opts.seconds = Number(raw);
      if (!Number.isInteger(opts.seconds) || opts.seconds < 1) {
        throw new Error(`Expected a whole number of seconds >= 1 for --seconds but received ${raw}`);
      }
    } else if (key === '--build-dir') {
      opts.buildDir = path.resolve(take());
    } else if (arg.startsWith('--')) {
      throw new Error(`Expected --seconds, --build-dir or a target name but received ${arg}`);
    } else {
      opts.names.push(arg);
    }
  }
  return opts;
}

function targets() {
  return fs.readdirSync(__dirname)
    .map((f) => /^fuzz_(.+)\.cpp$/.exec(f))
    .filter(Boolean)
    .map((m) => m[1])
    .sort();
}

function run(cmd, args, options = {}) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...options });
  if (res.error) throw res.error;
  return res.status === null ? 128 : res.status;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const all = targets();
  for (const name of opts.names) {
    if (!all.includes(name)) throw new Error(`Expected one of ${all.join(', ')} as a fuzz target but received ${name}`);
  }
  const names = opts.names.length ? opts.names : all;
  const configure = run('cmake', ['-S', root, '-B', opts.buildDir, '-DCMAKE_BUILD_TYPE=Release',
    '-DCMAKE_C_COMPILER=clang', '-DCMAKE_CXX_COMPILER=clang++', '-DVR_FUZZ=ON']);
  if (configure !== 0) return configure;
  const jobs = String(Math.max(1, Math.min(os.availableParallelism ? os.availableParallelism() : os.cpus().length, 4)));
  const build = run('cmake', ['--build', opts.buildDir, '--parallel', jobs,
    '--target', ...names.map((n) => `vr_fuzz_${n}`)]);
  if (build !== 0) return build;

  const results = [];
  for (const name of names) {
    const seeds = path.join(__dirname, 'corpus', name);
    const work = path.join(opts.buildDir, 'corpus', name);
    const artifacts = path.join(opts.buildDir, 'artifacts', name) + path.sep;
    fs.mkdirSync(work, { recursive: true });
    fs.mkdirSync(artifacts, { recursive: true });
    console.log(`\n== fuzz ${name}: ${opts.seconds} s`);
    const status = run(path.join(opts.buildDir, `vr_fuzz_${name}`), [
      `-max_total_time=${opts.seconds}`, '-max_len=16384', '-timeout=20', '-rss_limit_mb=2048',
      '-print_final_stats=1', `-artifact_prefix=${artifacts}`, work,
      ...(fs.existsSync(seeds) ? [seeds] : []),
    ], { env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:allocator_may_return_null=0' } });
    results.push({ name, status });
  }
  console.log('');
  for (const { name, status } of results) console.log(`fuzz ${name}: ${status === 0 ? 'ok' : `FAILED (exit ${status})`}`);
  return results.every((r) => r.status === 0) ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(`fuzz: ${err.message}`);
  process.exitCode = 2;
}
