// Merging shard folders: shaped as `ramoops matrix --shard i/N` writes them (shard.json,
// matrix.json, cells/NNN-.../ with diff.txt), checked for one matrix, no cell twice, no shard
// missing, and the same merge whatever order the folders come in.
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeShardManifest, shardCell, ShardFolderError } from '../../../harness/matrix/manifest.js';
import { mergeShards } from '../../../harness/matrix/merge.js';
import { matrixCells, type CellVerdict, type MatrixCell, type MatrixReport } from '../../../harness/matrix/run.js';
import { matrixId, splitCells } from '../../../harness/matrix/shard.js';
import { kcidbJson } from '../../../harness/report/kcidb.js';

const OPTIONS = {
  kernels: ['debian'],
  configs: ['', 'ecc16:ramoops.ecc=16'],
  scenarios: ['panic-sysrq', 'parts', 'lkdtm-panic'],
  arch: 'x86_64',
  cycles: 1,
  accel: 'tcg',
  memory: '512M',
};
const CONFIGS = [
  { label: 'default', ramoopsCmdline: '', extraCmdline: [] },
  { label: 'ecc16', ramoopsCmdline: 'ramoops.ecc=16', extraCmdline: [] },
];
const SCENARIOS = OPTIONS.scenarios.map((name) => ({ name }));
const LABELS = new Map([['debian', '6.1.0-28-amd64']]);
const VERSIONS = { ramoopsHarness: '0.1.0', qemu: 'QEMU emulator version 7.2.22', node: 'v20.20.2' };

function verdictOf(c: MatrixCell): { verdict: CellVerdict; why: string | undefined } {
  if (c.scenario === 'lkdtm-panic') return { verdict: 'skipped', why: 'the guest lacks LKDTM (CONFIG_LKDTM, debugfs)' };
  if (c.config === 'ecc16' && c.scenario === 'parts') return { verdict: 'mismatch', why: 'cycle 1: dmesg-ramoops-0 differs' };
  return { verdict: 'pass', why: undefined };
}

/** One shard's folder with the given cells, as the CLI leaves it; returns its path. */
function shardFolder(root: string, name: string, index: number, count: number, mine: readonly MatrixCell[], id: string): string {
  const dir = path.join(root, name);
  const cells = matrixCells(OPTIONS.kernels, CONFIGS, SCENARIOS as never, dir, LABELS).filter((c) => mine.some((m) => m.index === c.index));
  for (const c of cells) {
    mkdirSync(c.outDir, { recursive: true });
    if (verdictOf(c).verdict === 'mismatch') writeFileSync(path.join(c.outDir, 'diff.txt'), `--- host ${c.label}\n+++ guest\n@@ -1 +1 @@\n-a\n+b\n`);
  }
  const results = cells.map((c) => ({ ...c, ...verdictOf(c), seconds: 30 + c.index }));
  const count1 = (v: CellVerdict): number => results.filter((r) => r.verdict === v).length;
  const summary = { cells: results.length, pass: count1('pass'), mismatch: count1('mismatch'), fault: count1('fault'), skipped: count1('skipped') };
  const m: MatrixReport = {
    tool: 'ramoops-harness matrix',
    startedAt: `2026-12-06T03:0${index}:00.000Z`,
    seconds: 100 + index,
    jobs: 2,
    kernels: cells.length === 0 ? [] : [{ spec: 'debian', release: '6.1.0-28-amd64', seconds: 1.5 }],
    summary,
    exitCode: summary.mismatch > 0 ? 1 : 0,
    cells: results,
    outDir: dir,
  };
  writeFileSync(path.join(dir, 'matrix.json'), JSON.stringify({ matrixId: id, shard: { index, count }, ...m }, null, 2));
  writeShardManifest(dir, {
    tool: 'ramoops-harness matrix shard',
    matrixId: id,
    shard: { index, count },
    options: OPTIONS,
    matrixCells: 6,
    cells: cells.map(shardCell),
    versions: VERSIONS,
    argv: ['matrix', '--shard', `${index}/${count}`],
  });
  return dir;
}

function setup(t: ExecutionContext): { root: string; dirs: string[]; whole: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'ramoops-merge-test-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const all = matrixCells(OPTIONS.kernels, CONFIGS, SCENARIOS as never, root);
  const id = matrixId(OPTIONS, all);
  const split = splitCells(all, 3);
  const dirs = split.map((mine, i) => shardFolder(root, `shard-${i + 1}`, i + 1, 3, mine, id));
  const whole = shardFolder(root, 'whole', 1, 1, all, id);
  return { root, dirs, whole };
}

const comparable = (m: MatrixReport): unknown => ({
  summary: m.summary,
  exitCode: m.exitCode,
  kernels: m.kernels,
  cells: m.cells.map(({ seconds: _s, outDir, ...c }) => ({ ...c, folder: path.basename(outDir) })),
});

test('merge: 3 shards in any order give the unsharded matrix cell for cell, diffs included', (t) => {
  const { root, dirs, whole } = setup(t);
  const a = mergeShards(dirs, path.join(root, 'm1'));
  const b = mergeShards([dirs[2]!, dirs[0]!, dirs[1]!], path.join(root, 'm2'));
  const w = JSON.parse(readFileSync(path.join(whole, 'matrix.json'), 'utf8')) as MatrixReport;
  t.deepEqual(comparable(a), comparable(w));
  t.deepEqual(comparable(b), comparable(w));
  t.deepEqual(a.summary, { cells: 6, pass: 3, mismatch: 1, skipped: 2, fault: 0 });
  t.is(a.exitCode, 1);
  const bad = a.cells.find((c) => c.verdict === 'mismatch')!;
  t.true(bad.outDir.startsWith(path.join(root, 'm1', 'cells')));
  t.regex(readFileSync(path.join(bad.outDir, 'diff.txt'), 'utf8'), /^--- host /);
  const junit = readFileSync(path.join(root, 'm1', 'junit.xml'), 'utf8');
  t.is((junit.match(/<testcase /g) ?? []).length, 6);
  t.is((junit.match(/<failure /g) ?? []).length, 1);
  // The merged folder has the same HTML page a single run writes, with the summary matrix.json gives.
  const html = readFileSync(path.join(root, 'm1', 'report.html'), 'utf8');
  t.true(html.includes('6 cells: pass 3, mismatch 1, fault 0, skipped 2'));
  t.is(
    readFileSync(path.join(root, 'm1', 'junit.xml'), 'utf8').replace(/time="[^"]*"|timestamp="[^"]*"|m1/g, ''),
    readFileSync(path.join(root, 'm2', 'junit.xml'), 'utf8').replace(/time="[^"]*"|timestamp="[^"]*"|m2/g, ''),
  );
});

test('merge refuses a shard of another matrix, naming its folder', (t) => {
  const { root, dirs } = setup(t);
  const odd = path.join(dirs[1]!, 'shard.json');
  const m = JSON.parse(readFileSync(odd, 'utf8')) as Record<string, unknown>;
  writeFileSync(odd, JSON.stringify({ ...m, matrixId: '0123456789abcdef', options: { ...OPTIONS, cycles: 2 } }));
  const e = t.throws(() => mergeShards(dirs, path.join(root, 'm')), { instanceOf: ShardFolderError });
  t.true(e?.message.startsWith(`${dirs[1]}: a shard of another matrix`), e?.message);
});

test('merge refuses a cell twice and a shard given twice', (t) => {
  const { root, dirs, whole } = setup(t);
  // The unsharded folder claims shard 1/1; made to look like 1/3 it holds every cell again.
  const wm = JSON.parse(readFileSync(path.join(whole, 'shard.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(whole, 'shard.json'), JSON.stringify({ ...wm, shard: { index: 2, count: 3 } }));
  t.throws(() => mergeShards([dirs[0]!, whole, dirs[2]!], path.join(root, 'm')), { instanceOf: ShardFolderError, message: /cell \d+ \(.*\) is also in / });
  t.throws(() => mergeShards([dirs[0]!, dirs[0]!, dirs[1]!, dirs[2]!], path.join(root, 'm')), {
    instanceOf: ShardFolderError,
    message: /shard 1\/3 is also in /,
  });
});

test('merge names the missing shard', (t) => {
  const { root, dirs } = setup(t);
  t.throws(() => mergeShards([dirs[2]!, dirs[0]!], path.join(root, 'm')), {
    instanceOf: ShardFolderError,
    message: "shard(s) 2/3 missing: give every shard's folder",
  });
  t.throws(() => mergeShards([path.join(root, 'nope')], path.join(root, 'm')), { instanceOf: ShardFolderError, message: /nope: no shard\.json/ });
});

test("the merged folder's KCIDB document is the unsharded one's, but for where the folder is", (t) => {
  const { root, dirs, whole } = setup(t);
  const merged = path.join(root, 'm1');
  mergeShards([dirs[1]!, dirs[2]!, dirs[0]!], merged);
  const at = (folder: string): string => kcidbJson(folder, { origin: 'ci' }).split(pathToFileURL(folder).href).join('<folder>');
  t.is(at(merged), at(whole));
  const doc = JSON.parse(at(merged)) as { tests: { id: string; status: string }[] };
  t.deepEqual(
    doc.tests.map((x) => x.status),
    ['PASS', 'PASS', 'SKIP', 'PASS', 'FAIL', 'SKIP'],
  );
  t.true(doc.tests.every((x, i) => x.id === `ci:${matrixId(OPTIONS, matrixCells(OPTIONS.kernels, CONFIGS, SCENARIOS as never, root))}-cell-${i + 1}`));
});
