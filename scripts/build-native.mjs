#!/usr/bin/env node
// Build the optional native search addon (harness/io/native) with node-gyp against the headers
// of the Node that runs this script, so nothing is downloaded. Run by `npm ci` (the install
// script) and `make build`. It never fails the install: without a compiler, headers or
// node-gyp, scans use the worker-thread search, which gives the same answers.
//   --if-missing   do nothing when the addon is already built for this Node (make build)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'harness', 'io', 'native');
const addon = join(dir, 'build', 'Release', 'ramoops_search.node');
// Which Node the addon was built for: another ABI needs a rebuild.
const stamp = join(dir, 'build', 'node-abi');
const abi = `${process.versions.modules} ${process.platform} ${process.arch}`;
const say = (msg) => process.stderr.write(`native search: ${msg}\n`);

if (process.env.RAMOOPS_NATIVE === '0') {
  say('RAMOOPS_NATIVE=0, not built (the JS search is used)');
  process.exit(0);
}
if (process.argv.includes('--if-missing') && existsSync(addon) && existsSync(stamp) && readFileSync(stamp, 'utf8') === abi) process.exit(0);

// node-gyp: npm tells its lifecycle scripts where its own is; otherwise the copy inside npm.
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  '/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
].filter((p) => p && existsSync(p));
const gyp = candidates[0];
if (!gyp) {
  say('node-gyp not found, not built (the JS search is used)');
  process.exit(0);
}
// This Node's own headers (Debian's nodejs-dev, or a tarball install's include/): no download.
const prefix = dirname(dirname(process.execPath));
const args = [gyp, 'rebuild'];
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 300_000 });
if (r.status !== 0 || !existsSync(addon)) {
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
  say(`build failed, not used (the JS search is used instead):\n${log || r.error?.message || 'no output'}`);
  process.exit(0);
}
// Load it once here, so a broken build shows now and not as a silent fallback later.
const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], { encoding: 'utf8' });
if (check.status !== 0) {
  say(`built but does not load, not used:\n${check.stderr.trim().split('\n').slice(-4).join('\n')}`);
  process.exit(0);
}
writeFileSync(stamp, abi);
say('built');
