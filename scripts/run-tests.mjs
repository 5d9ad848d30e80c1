#!/usr/bin/env node
// Runs ava with the TAP reporter, passes its output through, and ends with the plain
// "N passed, N failed" line CI looks for. Exit status: 0 only when every phase passed.
//
// Two phases: everything else (two test files at a time), then the crash matrix alone, which
// runs one VM per core itself; sharing the two cores with other guests would only make its
// TCG guests slow enough to time out.
import { spawn } from 'node:child_process';

const HEAVY = ['dist/test/integration/matrix.test.js', 'dist/test/integration/matrix-shards.test.js', 'dist/test/integration/ci-examples.test.js'];
const args = process.argv.slice(2);
const phases = args.length > 0 ? [args] : [['dist/test/**/*.test.js', ...HEAVY.map((f) => `!${f}`)], ['--concurrency', '1', ...HEAVY]];

let passed = 0;
let failed = 0;

function runPhase(phaseArgs) {
  return new Promise((resolve) => {
    const child = spawn('npx', ['ava', '--tap', ...phaseArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
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
    child.on('close', (code) => resolve(code));
  });
}

let ok = true;
for (const p of phases) {
  const code = await runPhase(p);
  if (code !== 0) ok = false;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
