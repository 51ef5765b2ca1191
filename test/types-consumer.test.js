'use strict';

// The package as a TypeScript project sees it from node_modules: under node16 and nodenext, in an
// ESM project ("type": "module") and a CommonJS one, the `import` condition resolves to ESM
// declarations and the `require` condition to CommonJS ones (the same format as the JavaScript
// each condition loads: no declarations "masquerading" as the other format), the program
// compiles under --strict, and the emitted JavaScript runs against the real entry points.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const ts = require(require.resolve('typescript', { paths: [ROOT] }));
const TSC = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
const CUSTOMER = '5013bc52-da9a-11ee-844f-2fa34248de28';

const PROGRAM = `import { RealtimeClient, RealtimeError, topic, Emulator } from 'voip-realtime';
import type { ClientState, ScenarioHandle } from 'voip-realtime';

declare const console: { log(...values: unknown[]): void };

const pattern: string = topic.customer('${CUSTOMER}', 'call');
const client = new RealtimeClient({ url: 'ws://127.0.0.1:9/v1.0/ws' });
const state: ClientState = client.state;
let code = '';
try {
  topic.parse('customer_id:abc:call:*');
} catch (err) {
  if (err instanceof RealtimeError) code = err.code;
}
const scenario: (name: 'callcenter') => ScenarioHandle = (name) => ({} as Emulator).scenario(name);
console.log(pattern, state, code, typeof Emulator.start, typeof scenario);
`;
const EXPECTED = `customer_id:${CUSTOMER}:call:* disconnected INVALID_TOPIC function function\n`;

function project(t, type) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vr-consumer-${type}-`));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'voip-realtime'), 'dir');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type }));
  fs.writeFileSync(path.join(dir, 'main.ts'), PROGRAM);
  return dir;
}

// How TypeScript resolves 'voip-realtime' from `fromFile`, and the module format it gives the
// declarations it found.
function resolve(fromFile, resolution, mode, specifier = 'voip-realtime') {
  const options = { module: ts.ModuleKind[resolution], moduleResolution: ts.ModuleResolutionKind[resolution] };
  const host = ts.createCompilerHost(options);
  const { resolvedModule } = ts.resolveModuleName(specifier, fromFile, options, host, undefined, undefined, mode);
  assert.ok(resolvedModule, `no resolution from ${fromFile}`);
  const file = fs.realpathSync(resolvedModule.resolvedFileName);
  const format = ts.getImpliedNodeFormatForFile(file, undefined, host, options);
  return { file: path.relative(ROOT, file), format: format === ts.ModuleKind.ESNext ? 'esm' : 'cjs' };
}

for (const resolution of ['Node16', 'NodeNext']) {
  test(`${resolution}: import resolves to ESM declarations, require to CommonJS ones, as the JavaScript does`, (t) => {
    const dir = project(t, 'module');
    const from = path.join(dir, 'main.ts');
    assert.deepEqual(resolve(from, resolution, ts.ModuleKind.ESNext), { file: 'types/index.d.mts', format: 'esm' });
    assert.deepEqual(resolve(from, resolution, ts.ModuleKind.CommonJS), { file: 'types/index.d.ts', format: 'cjs' });
    assert.deepEqual(resolve(from, resolution, ts.ModuleKind.ESNext, 'voip-realtime/redis'), { file: 'types/redis.d.mts', format: 'esm' });
    assert.deepEqual(resolve(from, resolution, ts.ModuleKind.CommonJS, 'voip-realtime/redis'), { file: 'types/redis.d.ts', format: 'cjs' });
    // The JavaScript behind each condition has the same format as its declarations.
    const pkg = require('../package.json');
    for (const entry of ['.', './redis']) {
      assert.match(pkg.exports[entry].import.default, /\.mjs$/);
      assert.match(pkg.exports[entry].require.default, /\.js$/);
    }
    assert.equal(pkg.type, undefined, '.js files are CommonJS');
  });

  for (const type of ['module', 'commonjs']) {
    test(`${resolution}, "type": "${type}": a strict consumer compiles and its output runs`, { timeout: 120000 }, (t) => {
      const dir = project(t, type);
      const config = {
        compilerOptions: {
          module: resolution.toLowerCase(), moduleResolution: resolution.toLowerCase(), target: 'es2022',
          lib: ['es2022'], types: [], strict: true, skipLibCheck: false, outDir: 'out',
        },
        files: ['main.ts'],
      };
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
      const tsc = spawnSync(process.execPath, [TSC, '-p', dir, '--pretty', 'false'], { encoding: 'utf8', timeout: 110000 });
      assert.equal(tsc.stdout + tsc.stderr, '');
      assert.equal(tsc.status, 0);
      const out = fs.readFileSync(path.join(dir, 'out', 'main.js'), 'utf8');
      if (type === 'module') assert.match(out, /^import \{[^}]*\} from 'voip-realtime';$/m);
      else assert.match(out, /require\("voip-realtime"\)/);
      const run = spawnSync(process.execPath, [path.join(dir, 'out', 'main.js')], { cwd: dir, encoding: 'utf8', timeout: 30000 });
      assert.equal(run.stderr, '');
      assert.equal(run.status, 0);
      assert.equal(run.stdout, EXPECTED);
    });
  }
}
