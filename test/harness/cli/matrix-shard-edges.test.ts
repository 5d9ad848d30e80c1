// The shard cases a CI engineer meets without any VM booting, through the built CLI as a child
// process: a shard with no cells (more shards than cells) says so in one line, exits 0 and
// leaves shard.json, an empty matrix.json and an empty but valid KCIDB file;
// a runner without QEMU is one line naming the shard and the package, exit 2; bad --kcidb
// values are refused before any work.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from '../../helpers/json-schema.js';
import { fixturesDir, repoRoot } from '../../helpers/paths.js';

const CLI = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'rh-shard-edges-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));
const SCHEMA = JSON.parse(readFileSync(join(fixturesDir(), 'kcidb', 'kcidb-io.schema.v5.3.json'), 'utf8')) as object;
// Two cells: shard 3 of 3 gets none.
const MATRIX = ['matrix', '--kernels', 'debian', '--configs', '', 'ecc16:ramoops.ecc=16', '--scenarios', 'panic-sysrq'];

function cli(args: readonly string[], env: NodeJS.ProcessEnv = process.env): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: work, env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('an empty shard says so in one line, exits 0 and leaves shard.json, an empty matrix.json and a valid, empty KCIDB file', (t) => {
  const out = join(work, 'empty-shard');
  const r = cli([...MATRIX, '--shard', '3/3', '--out', out, '--kcidb', join(out, 'kcidb.json')]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  t.is(lines[0], `ramoops matrix: shard 3/3: no cells to run (of the matrix's 2); wrote shard.json and an empty matrix.json in ${out}`);
  const shard = JSON.parse(readFileSync(join(out, 'shard.json'), 'utf8')) as { shard: unknown; cells: unknown[]; matrixCells: number };
  t.deepEqual([shard.shard, shard.cells.length, shard.matrixCells], [{ index: 3, count: 3 }, 0, 2]);
  const m = JSON.parse(readFileSync(join(out, 'matrix.json'), 'utf8')) as { cells: unknown[]; exitCode: number };
  t.deepEqual([m.cells.length, m.exitCode], [0, 0]);
  const kcidb = JSON.parse(readFileSync(join(out, 'kcidb.json'), 'utf8')) as { tests: unknown[] };
  t.deepEqual(validate(SCHEMA, kcidb), []);
  t.is(kcidb.tests.length, 0);
});

test('a runner without QEMU: one line naming the shard and what to install, exit 2', (t) => {
  const out = join(work, 'no-qemu');
  // No PATH: node runs by its absolute path, qemu-system-x86_64 cannot be found.
  const r = cli([...MATRIX, '--shard', '1/2', '--out', out], { ...process.env, PATH: '/nonexistent' });
  t.is(r.code, 2, r.stderr);
  t.regex(
    r.stderr,
    /^ramoops: shard 1\/2: qemu-system-x86_64 does not run on this runner, so no cell can run; install QEMU \(apt-get install qemu-system-x86\) or run this shard elsewhere\n$/,
  );
  t.true(existsSync(join(out, 'shard.json')), 'shard.json says which shard it was');
});

test('bad --kcidb values are refused before any work, one line each, exit 2', (t) => {
  const out = join(work, 'bad-kcidb');
  const origin = cli([...MATRIX, '--out', out, '--kcidb', 'k.json', '--kcidb-origin', 'My-Lab']);
  t.is(origin.code, 2);
  t.regex(origin.stderr, /^ramoops: --kcidb-origin My-Lab: KCIDB origins are lowercase letters, digits and _/);
  const url = cli(['report', 'merge', 'a', '--out', join(work, 'm'), '--kcidb', 'k.json', '--kcidb-url', 'artifacts/']);
  t.is(url.code, 2);
  t.regex(url.stderr, /^ramoops: --kcidb-url artifacts\/: not an absolute URL/);
  t.false(existsSync(out), 'nothing was started');
});
