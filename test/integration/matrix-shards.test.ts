// A 12-cell matrix run as 3 shard processes (as 3 CI runners would), merged with
// `ramoops report merge`, equals the same matrix run in one process: cell for cell, verdicts,
// reasons and diffs (timings and folders excluded), and their KCIDB files hold the same objects.
// The cheapest real cells: Debian's stock kernel, fast scenarios (lkdtm-panic is skipped on it,
// which must merge as a skip too).
// Run alone (scripts/run-tests.mjs phase 2).
import { readFileSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import type { MatrixReport } from '../../harness/matrix/run.js';
import type { KcidbData } from '../../harness/report/kcidb.js';
import { serialUnless, x86SkipReason } from '../helpers/integration.js';
import { validate } from '../helpers/json-schema.js';
import { fixturesDir, repoRoot } from '../helpers/paths.js';

const shardTest = serialUnless(x86SkipReason({ debianKernel: true }));
const CLI = join(repoRoot(), 'dist/harness/cli/main.js');
const SCHEMA = JSON.parse(readFileSync(join(fixturesDir(), 'kcidb', 'kcidb-io.schema.v5.3.json'), 'utf8')) as object;
const MATRIX = [
  '--kernels',
  'debian',
  '--configs',
  '',
  'rec16k:ramoops.record_size=16384',
  'mem2m:ramoops.mem_size=2097152',
  'ecc16:ramoops.ecc=16',
  '--scenarios',
  'panic-sysrq',
  'parts',
  'lkdtm-panic',
  '--jobs',
  '2',
];

/** What must be equal between a sharded and an unsharded run: everything but timings and paths. */
function comparable(m: MatrixReport): unknown {
  return {
    summary: m.summary,
    exitCode: m.exitCode,
    kernels: m.kernels.map((k) => ({ spec: k.spec, release: k.release })),
    cells: m.cells.map((c) => ({ index: c.index, label: c.label, verdict: c.verdict, why: c.why, folder: basename(c.outDir) })),
  };
}

function diffOf(cellDir: string): string {
  const f = join(cellDir, 'diff.txt');
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
}

shardTest('3 shard processes merged equal the same 12-cell matrix run unsharded', async (t) => {
  t.timeout(90 * 60_000);
  const tmp = await dir({ prefix: 'ramoops-shards-test-', unsafeCleanup: true });
  if (process.env['RAMOOPS_KEEP_ARTIFACTS'] !== '1') t.teardown(() => tmp.cleanup());
  const whole = join(tmp.path, 'whole');
  const r0 = await execa(process.execPath, [CLI, 'matrix', ...MATRIX, '--out', whole, '--kcidb', join(tmp.path, 'whole-kcidb.json')], {
    reject: false,
    all: true,
  });
  const m0 = JSON.parse(readFileSync(join(whole, 'matrix.json'), 'utf8')) as MatrixReport;
  t.is(m0.cells.length, 12, r0.all);
  t.is(r0.exitCode, m0.exitCode);

  const shardDirs: string[] = [];
  for (let i = 1; i <= 3; i++) {
    const d = join(tmp.path, `shard-${i}`);
    const r = await execa(process.execPath, [CLI, 'matrix', ...MATRIX, '--shard', `${i}/3`, '--out', d], { reject: false, all: true });
    const m = JSON.parse(readFileSync(join(d, 'matrix.json'), 'utf8')) as MatrixReport;
    t.is(r.exitCode, m.exitCode, r.all);
    t.true(m.cells.length > 0, `shard ${i}/3 got cells`);
    const manifest = JSON.parse(readFileSync(join(d, 'shard.json'), 'utf8')) as {
      shard: { index: number; count: number };
      cells: unknown[];
      versions: { qemu?: string };
    };
    t.deepEqual(manifest.shard, { index: i, count: 3 });
    t.is(manifest.cells.length, m.cells.length);
    t.truthy(manifest.versions.qemu);
    shardDirs.push(d);
  }
  // Any order: the last shard first.
  const merged = join(tmp.path, 'merged');
  const rm = await execa(
    process.execPath,
    [CLI, 'report', 'merge', ...[...shardDirs].reverse(), '--out', merged, '--kcidb', join(tmp.path, 'merged-kcidb.json')],
    {
      reject: false,
      all: true,
    },
  );
  const m1 = JSON.parse(readFileSync(join(merged, 'matrix.json'), 'utf8')) as MatrixReport;
  t.is(rm.exitCode, m0.exitCode, rm.all);
  t.deepEqual(comparable(m1), comparable(m0));
  for (const [a, b] of m0.cells.map((c, i) => [c, m1.cells[i]!] as const)) {
    t.is(diffOf(b.outDir), diffOf(a.outDir), a.label);
    // The rerun line reruns exactly this cell.
    t.regex(readFileSync(join(b.outDir, 'rerun.txt'), 'utf8'), new RegExp(`^ramoops matrix .* --only ${a.index + 1}\\n$`));
  }
  t.is((readFileSync(join(merged, 'junit.xml'), 'utf8').match(/<testcase /g) ?? []).length, 12);
  // KCIDB: both files valid, and the same objects (ids, paths, statuses, links) but for each run's own times and logs.
  const k0 = JSON.parse(readFileSync(join(tmp.path, 'whole-kcidb.json'), 'utf8')) as KcidbData;
  const k1 = JSON.parse(readFileSync(join(tmp.path, 'merged-kcidb.json'), 'utf8')) as KcidbData;
  t.deepEqual(validate(SCHEMA, k0), []);
  t.deepEqual(validate(SCHEMA, k1), []);
  const same = (k: KcidbData): unknown => ({
    checkouts: k.checkouts.map((c) => c.id),
    builds: k.builds.map((b) => [b.id, b.checkout_id, b.architecture]),
    tests: k.tests.map((x) => [x.id, x.build_id, x.path, x.status]),
  });
  t.deepEqual(same(k1), same(k0));
  t.is(k1.tests.length, 12);
  t.log(
    `unsharded ${m0.seconds} s; shards ${shardDirs.map((d) => (JSON.parse(readFileSync(join(d, 'matrix.json'), 'utf8')) as MatrixReport).seconds).join(' + ')} s; verdicts ${JSON.stringify(m0.summary)}`,
  );
});
