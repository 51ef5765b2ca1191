'use strict';

// Every code block of README.md is a program that runs or type-checks here, so the README cannot
// drift from the package:
// - ```js blocks run as ESM programs (`import ... from 'voip-realtime'` resolves to this package
//   through its own "exports") against a freshly started emulator playing the seeded call-centre
//   scenario, once per dialect in DIALECTS. They read VOIPBIN_URL, VOIPBIN_TOKEN,
//   VOIPBIN_CUSTOMER_ID and VOIPBIN_AGENT_ID, must end on their own with exit code 0 and nothing
//   on stderr, and print exactly the ```text block that directly follows them (when there is one;
//   otherwise at least one line). A ```text live block right after that one is what the program
//   prints against the live dialect instead (the live emulator sends a different event mix).
// - ```js natterbox / ```js redis blocks run the same way with their service's environment
//   (SERVICES below); a block whose service has no runner fails.
// - ```ts blocks are type-checked together with tsc (strict, nodenext) against types/.
// - ```sh run blocks run in an empty temp folder and must exit 0. The FIRST ```sh block is what CI
//   runs (.ci/run); later plain ```sh blocks are command references.
// - ```text is prose-like (tables, output samples, diagrams). Any other info string, or none, fails.
// - Every relative link points to a file that is in the repository and in the npm package.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { Emulator } = require('../lib/index.js');
const { parseBlocks, relativeLinks } = require('./helpers/readme.js');
const { RedisServer } = require('./helpers/redis-server.js');

const ROOT = path.resolve(__dirname, '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const BLOCKS = parseBlocks(README);
// Inside the package, so that `import 'voip-realtime'` resolves to this checkout (self-reference).
const TMP = path.join(ROOT, 'test', '.tmp', 'readme');
const RUN_TIMEOUT = 30000;

const CUSTOMER_ID = '5013bc52-da9a-11ee-844f-2fa34248de28';
const AGENT_ID = '98765432-4321-4321-4321-210987654321';

// The VoIPBIN dialects every ```js block runs against: the client reports live events under the
// documented names, so the README's programs run unchanged against both.
const DIALECTS = ['documented', 'live'];

/**
 * How each kind of runnable block gets its server. `start(variant)` resolves with
 * `{ env, stop }`: the services on loopback ports and the environment the README promises.
 */
const SERVICES = {
  js: { variants: DIALECTS, start: startVoipbin },
  'js natterbox': { variants: ['cti'], start: startNatterbox },
  'js redis': { variants: DIALECTS, start: startVoipbinAndRedis },
};
const KNOWN_INFO = new Set(['js', 'js natterbox', 'js redis', 'ts', 'sh', 'sh run', 'text', 'text live']);

async function startVoipbin(dialect) {
  const emu = await Emulator.start({ dialect, customerId: CUSTOMER_ID });
  const token = await stoppedOnFailure(emu, () => emu.issueToken({ customerId: CUSTOMER_ID, agentId: AGENT_ID, permissions: ['agent', 'manager'] }));
  let scenario = null;
  // The centre opens when the program's first subscription is in place, so what the program
  // sees is the seeded stream from its start and its output is the same on every run.
  emu.once('subscribe', () => {
    if (!emu.running) return;
    scenario = emu.scenario('callcenter', {
      seed: 'readme', rate: 200, durationScale: 0.1, customerId: CUSTOMER_ID, agentIds: [AGENT_ID],
    });
  });
  return {
    env: {
      VOIPBIN_URL: emu.url, VOIPBIN_TOKEN: token, VOIPBIN_CUSTOMER_ID: CUSTOMER_ID, VOIPBIN_AGENT_ID: AGENT_ID,
    },
    async stop() {
      if (scenario) scenario.stop();
      await emu.stop({ grace: 0 });
      assert.equal(scenario?.error ?? null, null, 'the scenario ran without error');
    },
  };
}

// The VoIPBIN emulator as for ```js blocks, plus a redis-server of its own.
async function startVoipbinAndRedis(dialect) {
  const redis = await RedisServer.start();
  let voipbin;
  try {
    voipbin = await startVoipbin(dialect);
  } catch (err) {
    await redis.close();
    throw err;
  }
  return {
    env: { ...voipbin.env, REDIS_URL: redis.url },
    async stop() {
      try {
        await voipbin.stop();
      } finally {
        await redis.close();
      }
    },
  };
}

const NATTERBOX_ORG = '1';
const NATTERBOX_USER = '1001';

// The CTI presence socket with one known user in a known state, and the messages socket.
async function startNatterbox() {
  const emu = await Emulator.start({ protocol: 'natterbox', natterbox: { org: NATTERBOX_ORG } });
  return stoppedOnFailure(emu, () => {
    emu.presence(NATTERBOX_USER, { presence: '', availability: 'Available', availabilityStateId: 1 });
    return {
      env: {
        NATTERBOX_URL: emu.url,
        NATTERBOX_MESSAGES_URL: emu.messagesUrl,
        NATTERBOX_TOKEN: emu.issueToken({ userId: NATTERBOX_USER, orgId: NATTERBOX_ORG }),
        NATTERBOX_ORG,
        NATTERBOX_USER,
      },
      stop: () => emu.stop({ grace: 0 }),
    };
  });
}

// A running emulator keeps the test process alive: one that was started for a service whose
// set-up then failed is stopped before the failure is reported.
async function stoppedOnFailure(emu, setUp) {
  try {
    return setUp();
  } catch (err) {
    await emu.stop({ grace: 0 });
    throw err;
  }
}

function runNode(file, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], {
      cwd: path.dirname(file), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function where(block) {
  return `README.md:${block.line} (\`\`\`${block.info})`;
}

test('the block reader pairs a program with the output block after it, and refuses broken fences', () => {
  const md = '# t\n\n```js\nconsole.log(1);\n```\n\nIt prints:\n\n```text\n1\n```\n\n```text\ntable\n```\n' +
    '```ts\nlet x = 1;\n```\n\nSome prose.\n\n```text\nnot output\n```\n```\nbare\n```\nsee [a](docs/a.md#x) and [b](https://b.example) [c](#c)\n' +
    '```js\nconsole.log(2);\n```\n```text\n2\n```\n\nAgainst live:\n\n```text live\n3\n```\n';
  const blocks = parseBlocks(md);
  assert.deepEqual(blocks.map((b) => [b.info, b.line, b.output, b.variantOutputs]), [
    ['js', 3, '1\n', {}], ['text', 9, null, {}], ['text', 13, null, {}], ['ts', 16, null, {}], ['text', 22, null, {}],
    ['', 25, null, {}], ['js', 29, '2\n', { live: '3\n' }], ['text', 32, null, {}], ['text live', 38, null, {}],
  ]);
  assert.equal(blocks[0].code, 'console.log(1);\n');
  assert.deepEqual(relativeLinks(md), ['docs/a.md']);
  assert.throws(() => parseBlocks('```js\nnever closed\n'), /line 1: the block never closes/);
  // A variant's output only right after the program's own output, once per variant.
  const orphan = /line 5: a ```text live block must follow a program's ```text output block/;
  assert.throws(() => parseBlocks('```text\nt\n```\n\n```text live\n1\n```\n'), orphan);
  assert.throws(() => parseBlocks('```js\nx\n```\n```text live\n1\n```\n'), /line 4: a ```text live block must follow/);
  assert.throws(() => parseBlocks('```js\nx\n```\n```text\n1\n```\nA table.\n\n```text\nt\n```\n```text live\n1\n```\n'),
    /line 12: a ```text live block must follow/);
  assert.throws(() => parseBlocks('```js\nx\n```\n```text\n1\n```\n```text live\n2\n```\n```text live\n3\n```\n'),
    /line 10: a second ```text live block for the program of line 1/);
});

test('README.md has code blocks, and every one has a known info string', () => {
  assert.ok(BLOCKS.length > 0);
  const unknown = BLOCKS.filter((b) => !KNOWN_INFO.has(b.info)).map((b) => `${where(b)}`);
  assert.deepEqual(unknown, [], `info strings must be one of ${[...KNOWN_INFO].join(', ')}`);
  const runnable = BLOCKS.filter((b) => b.info.startsWith('js'));
  const noRunner = runnable.filter((b) => !SERVICES[b.info]).map(where);
  assert.deepEqual(noRunner, [], 'a runnable block whose service has no runner in SERVICES');
  const unchecked = runnable.flatMap((b) => Object.keys(b.variantOutputs)
    .filter((v) => !SERVICES[b.info]?.variants.includes(v)).map((v) => `${where(b)}: ${v}`));
  assert.deepEqual(unchecked, [], 'an output sample for a variant the block does not run against');
  assert.ok(runnable.length >= 2, 'the quick start and the emulator snippet run');
});

test('the first ```sh block is the one CI runs: setup, then the test suite', () => {
  const first = BLOCKS.find((b) => b.info === 'sh');
  assert.ok(first, 'no ```sh block');
  assert.match(first.code, /^npm test\b/m);
});

test('every relative link points to a file in the repository and in the npm package', () => {
  const links = relativeLinks(README);
  assert.ok(links.length > 0);
  const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(pack.status, 0, pack.stderr);
  const packed = new Set(JSON.parse(pack.stdout)[0].files.map((f) => f.path));
  for (const link of links) {
    const target = path.join(ROOT, link);
    assert.ok(fs.existsSync(target), `${link}: not in the repository`);
    assert.ok(fs.statSync(target).isFile(), `${link}: link to a file, not a folder (npm shows no folder listing)`);
    assert.ok(packed.has(link), `${link}: not in the package ("files" in package.json)`);
  }
});

for (const block of BLOCKS.filter((b) => SERVICES[b.info])) {
  for (const variant of SERVICES[block.info].variants) {
    test(`${where(block)} runs against ${variant}`, { timeout: RUN_TIMEOUT + 15000 }, async (t) => {
      fs.mkdirSync(TMP, { recursive: true });
      const file = path.join(TMP, `block-${block.line}-${variant}.mjs`);
      fs.writeFileSync(file, block.code);
      t.after(() => fs.rmSync(file, { force: true }));
      const service = await SERVICES[block.info].start(variant);
      let result;
      try {
        result = await runNode(file, service.env);
      } finally {
        await service.stop();
      }
      assert.equal(result.stderr, '', `${where(block)} stderr`);
      assert.equal(result.signal, null, `${where(block)} did not end on its own within ${RUN_TIMEOUT} ms`);
      assert.equal(result.code, 0, `${where(block)} exit code`);
      const expected = block.variantOutputs[variant] ?? block.output;
      if (expected !== null) assert.equal(result.stdout, expected, `${where(block)} output against ${variant}`);
      else assert.notEqual(result.stdout, '', `${where(block)} printed nothing`);
    });
  }
}

test('```ts blocks type-check with tsc --strict against types/ (ESM and CommonJS consumers)', { timeout: 120000 }, (t) => {
  const blocks = BLOCKS.filter((b) => b.info === 'ts');
  assert.ok(blocks.length > 0, 'the README shows its typings');
  const dir = path.join(TMP, `ts-${process.pid}`);
  fs.mkdirSync(dir, { recursive: true });
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Each block twice: as an ES module (.mts) and as CommonJS (.cts), the two ways a TypeScript
  // project under node16/nodenext consumes the package.
  const files = blocks.flatMap((b) => ['mts', 'cts'].map((ext) => {
    const name = `block-${b.line}.${ext}`;
    fs.writeFileSync(path.join(dir, name), `${b.code}\nexport {};\n`);
    return name;
  }));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [],
      strict: true, noEmit: true, skipLibCheck: false,
    },
    files,
  }));
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  const r = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', timeout: 120000 });
  assert.equal(r.stdout + r.stderr, '', 'tsc reports (block-<README line>.<mts|cts>)');
  assert.equal(r.status, 0);
});

for (const block of BLOCKS.filter((b) => b.info === 'sh run')) {
  test(`${where(block)} runs in an empty folder and exits 0`, { timeout: 120000 }, (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vr-readme-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', block.code], { cwd: dir, encoding: 'utf8', timeout: 110000 });
    assert.equal(r.status, 0, `${where(block)}: ${r.stderr}`);
  });
}
