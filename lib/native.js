'use strict';

// Finds and loads the native addon. Order: the VOIP_REALTIME_NATIVE override when set (and then
// only it: a binary asked for by name is never silently replaced), else a build made in this
// package folder (build/Release: made on this machine on purpose, by a source install or in a
// checkout), else the prebuilt binary in prebuilds/ that fits this process. Prebuilt file names
// follow the prebuildify / node-gyp-build tag conventions; native/install.js uses the same choice.

const fs = require('node:fs');
const path = require('node:path');
const { RealtimeError } = require('./errors.js');

const ENV = 'VOIP_REALTIME_NATIVE';
const ROOT = path.resolve(__dirname, '..');
const DEFAULT_PATH = path.join(ROOT, 'build', 'Release', 'voip_realtime.node');
const PREBUILDS = path.join(ROOT, 'prebuilds');

// What this JS layer expects of the addon (native/addon/interface.h): the interface version and
// the number of slots per record in a batch's offsets (lib/client/dispatch.js reads them).
const INTERFACE_VERSION = 1;
const META_STRIDE = 13;

let binding = null;
let loadedFrom = null;

/** 'electron' inside Electron (whose runtime carries BoringSSL, no OpenSSL), else 'node'. */
function currentRuntime() {
  return process.versions.electron ? 'electron' : 'node';
}

function currentLibc() {
  if (process.env.LIBC) return process.env.LIBC;
  return process.platform === 'linux' && fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
}

/**
 * Reads the tags of a prebuilt file name the way node-gyp-build does: dot-separated, ending in
 * `.node`; `node`/`electron`/`node-webkit` are runtimes, `napi` marks a Node-API build, `abiN`,
 * `uvN`, `armvN`, `glibc`/`musl` narrow it; anything else (the package name) is not a tag.
 * @param {string} file
 */
function parseTags(file) {
  const parts = file.split('.');
  if (parts.pop() !== 'node') return null;
  const tags = { file, specificity: 0 };
  for (const tag of parts) {
    if (tag === 'node' || tag === 'electron' || tag === 'node-webkit') tags.runtime = tag;
    else if (tag === 'napi') tags.napi = true;
    else if (tag.startsWith('abi')) tags.abi = tag.slice(3);
    else if (tag.startsWith('uv')) tags.uv = tag.slice(2);
    else if (tag.startsWith('armv')) tags.armv = tag.slice(4);
    else if (tag === 'glibc' || tag === 'musl') tags.libc = tag;
    else continue;
    tags.specificity++;
  }
  return tags;
}

// node-gyp-build lets a `node.napi` build run under any runtime. Not here: the node build binds
// OpenSSL from its host, which Electron does not provide, so Electron takes only its own variant.
function fits(tags, host) {
  if (tags.runtime && tags.runtime !== host.runtime &&
      !(host.runtime !== 'electron' && tags.runtime === 'node' && tags.napi)) return false;
  if (tags.abi && tags.abi !== host.abi && !tags.napi) return false;
  if (tags.uv && tags.uv !== host.uv) return false;
  if (tags.armv && tags.armv !== host.armv) return false;
  if (tags.libc && tags.libc !== host.libc) return false;
  return true;
}

// The runtime's own build first, then an ABI-specific one over Node-API, then the most tags.
function preference(runtime) {
  return (a, b) => {
    if (a.runtime !== b.runtime) return a.runtime === runtime ? -1 : 1;
    if (a.abi !== b.abi) return a.abi ? -1 : 1;
    return b.specificity - a.specificity;
  };
}

function hostTags(runtime) {
  return {
    platform: process.platform,
    arch: process.arch,
    runtime,
    abi: process.versions.modules,
    uv: (process.versions.uv || '').split('.')[0],
    armv: process.arch === 'arm64' ? '8' : String((process.config.variables || {}).arm_version || ''),
    libc: currentLibc(),
  };
}

function readdir(dir) {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The prebuilt binary that fits this process (or `runtime`), or null.
 * @param {{ runtime?: string, dir?: string }} [opts]
 * @returns {{ file: string | null, reason: string }}
 */
function findPrebuild(opts = {}) {
  const dir = opts.dir || PREBUILDS;
  const host = hostTags(opts.runtime || currentRuntime());
  // Folders are <platform>-<arch>[+<arch>...]; a single-arch folder is preferred.
  const folders = readdir(dir)
    .map((name) => ({ name, parts: name.split('-') }))
    .filter(({ parts }) => parts.length === 2 && parts[0] === host.platform &&
      parts[1].split('+').includes(host.arch))
    .sort((a, b) => a.parts[1].split('+').length - b.parts[1].split('+').length);
  const wanted = `${host.platform}-${host.arch}, ${host.runtime}, Node-API, ${host.libc}`;
  if (folders.length === 0) return { file: null, reason: `no prebuilds/ folder for ${host.platform}-${host.arch}` };
  const folder = path.join(dir, folders[0].name);
  const winner = readdir(folder).map(parseTags).filter((t) => t && fits(t, host)).sort(preference(host.runtime))[0];
  if (!winner) return { file: null, reason: `nothing in ${folder} fits (${wanted})` };
  return { file: path.join(folder, winner.file), reason: `fits ${wanted}` };
}

// A build in this folder is used under Electron only when it links its own OpenSSL.
function localBuildFor(runtime) {
  if (runtime !== 'electron') return { file: DEFAULT_PATH };
  let cache = '';
  try {
    cache = fs.readFileSync(path.join(ROOT, 'build', 'CMakeCache.txt'), 'utf8');
  } catch {
    return { file: DEFAULT_PATH };
  }
  if (/^VR_STATIC_OPENSSL:BOOL=ON$/m.test(cache)) return { file: DEFAULT_PATH };
  return { file: null, reason: `${DEFAULT_PATH}: skipped under Electron (built against Node's OpenSSL; ` +
    'rebuild with `node native/build.js --static-openssl`)' };
}

function describe(err) {
  const msg = err && err.message ? err.message.split('\n')[0] : String(err);
  return err && err.code ? `${err.code}: ${msg}` : msg;
}

function failure(tried) {
  return new RealtimeError('NATIVE_LOAD_FAILED', 'voip-realtime: the native addon could not be loaded.\n' +
    `Tried, in order:\n${tried.map((t) => `  - ${t}`).join('\n')}\n` +
    'To fix it: reinstall so that a prebuilt binary is chosen or the addon is compiled ' +
    '(`npm rebuild voip-realtime`; `npm install --build-from-source` forces a compile), or in a ' +
    'checkout run `npm run build:release`. A compile needs cmake, g++ and the Boost headers ' +
    '(Debian 12: apt-get install -y cmake g++ make libboost1.81-dev).\n' +
    `Or set ${ENV} to the path of a built voip_realtime.node.`);
}

/** Why a loaded module cannot serve this JS layer, or null when it can. */
function interfaceMismatch(b) {
  if (typeof b.Client !== 'function' || typeof b.Emulator !== 'function') {
    return 'it does not export Client and Emulator (stale or foreign build)';
  }
  if (b.interfaceVersion !== INTERFACE_VERSION || b.metaStride !== META_STRIDE) {
    const has = b.interfaceVersion === undefined ? 'no interface version' :
      `interface ${b.interfaceVersion} with ${b.metaStride} slots per record`;
    return `it has ${has} and this package needs interface ${INTERFACE_VERSION} with ${META_STRIDE} ` +
      '(a build left from another version: rebuild it)';
  }
  return null;
}

function tryLoad(file, tried) {
  if (!fs.existsSync(file)) {
    tried.push(`${file}: not found`);
    return null;
  }
  try {
    const b = require(file);
    const mismatch = interfaceMismatch(b);
    if (mismatch === null) return b;
    tried.push(`${file}: loaded, but ${mismatch}`);
  } catch (err) {
    tried.push(`${file}: ${describe(err)}`);
  }
  return null;
}

/**
 * Where the addon would be loaded from, in order, with the reason for each skipped place.
 * @returns {{ file: string | null, reason?: string, override?: boolean }[]}
 */
function candidates() {
  const override = process.env[ENV];
  if (override !== undefined && override !== '') {
    return [{ file: path.resolve(override), override: true }];
  }
  const runtime = currentRuntime();
  return [localBuildFor(runtime), findPrebuild({ runtime })];
}

/**
 * Returns the addon's exports, loading them on the first call.
 * @returns {{ Client: Function, Emulator: Function }}
 * @throws {RealtimeError} code NATIVE_LOAD_FAILED, listing every place tried
 */
function loadBinding() {
  if (binding) return binding;
  const tried = [];
  for (const c of candidates()) {
    if (!c.file) {
      tried.push(c.reason);
      continue;
    }
    const b = tryLoad(c.file, tried);
    if (b) {
      binding = b;
      loadedFrom = c.file;
      return b;
    }
    if (c.override) tried.push(`(${ENV} is set, so nothing else was tried; unset it to use the packaged binary)`);
  }
  throw failure(tried);
}

/** The file the addon was loaded from, or null before it is loaded. */
function loadedPath() {
  return loadedFrom;
}

module.exports = {
  loadBinding, loadedPath, findPrebuild, parseTags, candidates, interfaceMismatch,
  DEFAULT_PATH, PREBUILDS, ENV, INTERFACE_VERSION, META_STRIDE,
};
