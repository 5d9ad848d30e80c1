#!/usr/bin/env node
// Runs ava with the TAP reporter, passes its output through, and ends with the plain
// "N passed, N failed" line CI looks for. Exit status is ava's.
import { spawn } from 'node:child_process';

const child = spawn('npx', ['ava', '--tap', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'] });
let passed = 0;
let failed = 0;
let buf = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  buf += chunk.toString('utf8');
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    if (/^ok \d+/.test(line)) {
      if (!/# SKIP/.test(line)) passed++;
    } else if (/^not ok \d+/.test(line)) {
      if (!/# TODO/.test(line)) failed++;
    }
  }
});
child.on('close', (code) => {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
