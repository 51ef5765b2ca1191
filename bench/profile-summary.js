#!/usr/bin/env node
'use strict';

// Summarises V8 CPU profiles (node --cpu-prof, as written by `bench/run.js --profile=DIR`): the
// functions with the most self time, as a percentage of the profile's samples.
// Usage: node bench/profile-summary.js FILE.cpuprofile... [--top=N]

const fs = require('node:fs');
const path = require('node:path');

const argv = process.argv.slice(2);
const topArg = argv.find((a) => a.startsWith('--top='));
const top = topArg ? Number(topArg.slice(6)) : 15;
const files = argv.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  console.error('usage: node bench/profile-summary.js FILE.cpuprofile... [--top=N]');
  process.exit(2);
}

function label(frame) {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const file = frame.url.replace(/^file:\/\//, '');
  const rel = file.includes('node_modules') ? file.slice(file.indexOf('node_modules')) : path.relative(process.cwd(), file);
  return `${name} ${rel}:${frame.lineNumber + 1}`;
}

for (const file of files) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfCount = new Map();
  for (const id of profile.samples) selfCount.set(id, (selfCount.get(id) || 0) + 1);
  const totals = new Map();
  let samples = 0;
  let idle = 0;
  for (const [id, count] of selfCount) {
    const key = label(byId.get(id).callFrame);
    if (key === '(idle)') {
      idle += count;
      continue;
    }
    samples += count;
    totals.set(key, (totals.get(key) || 0) + count);
  }
  const rows = [...totals].sort((a, b) => b[1] - a[1]).slice(0, top);
  const ms = (profile.endTime - profile.startTime) / 1000;
  console.log(`${path.basename(file)}: ${samples} busy samples, ${idle} idle, ${ms.toFixed(0)} ms`);
  for (const [key, count] of rows) console.log(`  ${((count / samples) * 100).toFixed(1).padStart(5)}%  ${key}`);
  console.log('');
}
