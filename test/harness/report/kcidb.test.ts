// The KCIDB document of a real matrix folder (test/fixtures/kcidb/matrix: 6 cells on Debian's
// stock 6.1 kernel, 2 passed, 2 skipped, 2 mismatched by design) checked against kcidb-io's own
// schema v5.3 (test/fixtures/kcidb/kcidb-io.schema.v5.3.json) by two validators: ours
// (test/helpers/json-schema.ts) and ajv, and against matrix.json: one test per cell with its
// verdict, duration, start time, log and files.
import test from 'ava';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MatrixReport } from '../../../harness/matrix/run.js';
import {
  cellEvidence,
  kcidbData,
  kcidbJson,
  kcidbOfFolder,
  KcidbOptionError,
  KCIDB_VERSION,
  LOG_EXCERPT_MAX,
  type CellEvidence,
} from '../../../harness/report/kcidb.js';
import { isRfc3339, validate } from '../../helpers/json-schema.js';
import { fixturesDir } from '../../helpers/paths.js';

const DIR = path.join(fixturesDir(), 'kcidb');
const MATRIX = path.join(DIR, 'matrix');
const SCHEMA = JSON.parse(readFileSync(path.join(DIR, 'kcidb-io.schema.v5.3.json'), 'utf8')) as object;
const M = JSON.parse(readFileSync(path.join(MATRIX, 'matrix.json'), 'utf8')) as MatrixReport;
const O = { origin: 'ramoops' };

/** ajv 6 (in node_modules through eslint), draft-07 with full format checks: a second, independent judge. */
function ajvErrors(doc: unknown): string[] {
  const Ajv = createRequire(import.meta.url)('ajv') as new (o: object) => {
    compile(s: object): ((d: unknown) => boolean) & { errors?: { dataPath: string; message: string }[] | null };
  };
  const check = new Ajv({ allErrors: true, format: 'full' }).compile(SCHEMA);
  return check(doc) ? [] : (check.errors ?? []).map((e) => `${e.dataPath} ${e.message}`);
}

test('the schema fixture is kcidb-io v5.3, the version we write', (t) => {
  const version = (SCHEMA as unknown as { properties: { version: { properties: { major: { const: number }; minor: { maximum: number } } } } }).properties
    .version;
  t.is(version.properties.major.const, KCIDB_VERSION.major);
  t.is(version.properties.minor.maximum, KCIDB_VERSION.minor);
});

test("a real matrix folder's document validates against the schema (ours and ajv)", (t) => {
  const doc = kcidbOfFolder(MATRIX, O);
  t.deepEqual(validate(SCHEMA, doc), []);
  t.deepEqual(ajvErrors(doc), []);
  t.deepEqual(doc.version, { major: 5, minor: 3 });
});

test('one checkout and build per kernel, one test per cell with its verdict, time and duration', (t) => {
  const doc = kcidbOfFolder(MATRIX, O);
  t.is(doc.checkouts.length, M.kernels.length);
  t.is(doc.builds.length, M.kernels.length);
  t.is(doc.builds[0]!.checkout_id, doc.checkouts[0]!.id);
  t.is(doc.builds[0]!.architecture, 'x86_64');
  t.is(doc.tests.length, M.cells.length);
  const status = { pass: 'PASS', mismatch: 'FAIL', fault: 'ERROR', skipped: 'SKIP' } as const;
  for (const [i, c] of M.cells.entries()) {
    const x = doc.tests[i]!;
    t.is(x.status, status[c.verdict], c.label);
    t.is(x.path, `ramoops.${c.scenario}.${c.config}`);
    t.is(x.duration, c.seconds);
    t.is(x.build_id, doc.builds[0]!.id);
    t.true(x.id.startsWith('ramoops:') && x.id.endsWith(`-cell-${c.index + 1}`), x.id);
    const report = JSON.parse(readFileSync(path.join(MATRIX, 'cells', path.basename(c.outDir), 'report.json'), 'utf8')) as { startedAt: string };
    t.is(x.start_time, report.startedAt);
    t.true(isRfc3339(x.start_time ?? ''));
    // Every URL is a file of the cell's folder.
    t.true(existsSync(fileURLToPath(x.log_url ?? '')), x.log_url);
    t.true(x.output_files.length >= 3);
    for (const f of x.output_files) t.true(existsSync(fileURLToPath(f.url)), f.url);
    t.true(x.log_excerpt.startsWith(c.why === undefined ? c.verdict : `${c.verdict}: ${c.why}`));
  }
  t.deepEqual(
    doc.tests.map((x) => x.status),
    ['PASS', 'SKIP', 'FAIL', 'PASS', 'SKIP', 'FAIL'],
  );
  t.is(new Set(doc.tests.map((x) => x.id)).size, doc.tests.length);
  // A failed cell's excerpt carries its diff and the end of its serial console.
  const failed = doc.tests[2]!;
  t.true(failed.log_excerpt.includes('check failed: expect /^dmesg-ramoops-0$/'));
  t.true(failed.log_excerpt.includes('Kernel panic - not syncing: sysrq triggered crash'));
});

test('the same folder gives the same file, and a moved folder the same ids and paths', (t) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ramoops-kcidb-test-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  cpSync(MATRIX, tmp, { recursive: true });
  t.is(kcidbJson(MATRIX, O), kcidbJson(MATRIX, O));
  const a = kcidbOfFolder(MATRIX, O);
  const b = kcidbOfFolder(tmp, O);
  const key = (d: typeof a): unknown => ({ c: d.checkouts, b: d.builds, t: d.tests.map((x) => [x.id, x.path, x.status, x.build_id, x.log_excerpt]) });
  t.deepEqual(key(b), key(a));
  t.true(b.tests[0]!.log_url!.startsWith(new URL(`file://${tmp}/cells/`).href));
});

test('--kcidb-url, --kcidb-run and --kcidb-origin shape the URLs and ids; a bad one is refused', (t) => {
  const doc = kcidbOfFolder(MATRIX, { origin: 'my_lab', baseUrl: 'https://ci.example.org/jobs/7/artifacts', run: 'pipeline-42' });
  const x = doc.tests[0]!;
  t.true(x.id.startsWith(`my_lab:${(M as { matrixId?: string }).matrixId ?? ''}-pipeline-42-cell-1`), x.id);
  t.is(x.log_url, `https://ci.example.org/jobs/7/artifacts/cells/${path.basename(M.cells[0]!.outDir)}/serial.log`);
  t.deepEqual(validate(SCHEMA, doc), []);
  t.throws(() => kcidbOfFolder(MATRIX, { origin: 'My-Lab' }), { instanceOf: KcidbOptionError, message: /--kcidb-origin My-Lab: .*lowercase/ });
  t.throws(() => kcidbOfFolder(MATRIX, { origin: 'x', baseUrl: 'artifacts/' }), {
    instanceOf: KcidbOptionError,
    message: /--kcidb-url artifacts\/: not an absolute URL/,
  });
});

test('a fault is ERROR; NULs and key words never reach the excerpt, which stays under the cap and ends with the log', (t) => {
  const cell = M.cells[0]!;
  const faulted: MatrixReport = { ...M, cells: [{ ...cell, verdict: 'fault', why: 'fault in boot: no READY\0' }] };
  const serial = Array.from({ length: 4000 }, (_, i) => `[ ${i}.000000] line\0 rh.hostkey=SECRETSECRET rh.key=AAAA`).join('\n') + '\nthe last line';
  const evidence: CellEvidence = { ...cellEvidence(path.join(MATRIX, 'cells', path.basename(cell.outDir))), serial: { name: 'serial.log', text: serial } };
  const doc = kcidbData(faulted, new Map([[cell.index, evidence]]), O, MATRIX);
  const x = doc.tests[0]!;
  t.is(x.status, 'ERROR');
  t.false(x.log_excerpt.includes('\0'));
  t.false(x.log_excerpt.includes('SECRET'));
  t.true(x.log_excerpt.includes('rh.hostkey=<run host key>'));
  t.true(x.log_excerpt.length <= LOG_EXCERPT_MAX);
  t.true(x.log_excerpt.length > LOG_EXCERPT_MAX - 200);
  t.true(x.log_excerpt.endsWith('\nthe last line'));
  t.true(x.log_excerpt.startsWith('fault: fault in boot: no READY\n--- serial.log (end)\n['));
  t.deepEqual(validate(SCHEMA, doc), []);
  t.deepEqual(ajvErrors(doc), []);
});

test('an empty shard is a valid document with no tests', (t) => {
  const empty: MatrixReport = { ...M, kernels: [], cells: [], summary: { cells: 0, pass: 0, mismatch: 0, fault: 0, skipped: 0 } };
  const doc = kcidbData(empty, new Map(), O, MATRIX);
  t.deepEqual([doc.checkouts.length, doc.builds.length, doc.tests.length], [0, 0, 0]);
  t.deepEqual(validate(SCHEMA, doc), []);
});

test('the validator is no rubber stamp: it finds what the schema forbids, as ajv does', (t) => {
  const good = kcidbOfFolder(MATRIX, O);
  const bad = {
    ...good,
    tests: [
      { ...good.tests[0]!, status: 'OK', path: 'ramoops.a.', start_time: '2026-12-06 04:51:40', log_excerpt: 'a\0b', extra: 1 },
      { id: 'noorigin', origin: 'ramoops' },
    ],
  };
  const ours = validate(SCHEMA, bad);
  for (const what of ['status', 'path', 'start_time', 'log_excerpt', 'unexpected property extra', 'missing build_id', '[1].id'])
    t.true(
      ours.some((e) => e.includes(what)),
      `${what}: ${ours.join('; ')}`,
    );
  t.is(ajvErrors(bad).length, ours.length, `ajv: ${ajvErrors(bad).join('; ')}`);
  t.false(isRfc3339('2026-02-30T00:00:00Z'));
  t.true(isRfc3339('2026-12-06T04:51:40.814+01:00'));
});
