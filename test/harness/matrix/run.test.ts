// The matrix's pure parts: configuration entries, the product of cells, kernel labels, JUnit.
import test from 'ava';
import { chainCells, kernelLabels, matrixCells, matrixJunit, slug, type CellResult, type MatrixReport } from '../../../harness/matrix/run.js';
import { matrixConfig } from '../../../harness/cli/commands/matrix.js';
import { loadScenario } from '../../../harness/cycle/scenario.js';
import { matchesGolden } from '../../helpers/golden.js';

test('configuration entries: words, labels, the default, DT nodes on arm64', (t) => {
  const lz4 = matrixConfig('lz4-ecc:ramoops.ecc=16 pstore.compress=lz4', 'x86_64');
  t.is(lz4.label, 'lz4-ecc');
  t.regex(lz4.ramoopsCmdline, /ramoops\.ecc=16/);
  t.regex(lz4.ramoopsCmdline, /pstore\.compress=lz4/);
  // The run's own region stays the lowest layer.
  t.regex(lz4.ramoopsCmdline, /ramoops\.mem_address=0x8000000 ramoops\.mem_size=0x100000/);
  t.is(matrixConfig('ramoops.ecc=16 pstore.compress=zstd', 'x86_64').label, 'ecc=16,compress=zstd');
  t.is(matrixConfig('', 'x86_64').label, 'default');
  const dt = matrixConfig('ecc:ramoops.ecc=16', 'arm64');
  t.is(dt.ramoopsNode?.eccSize, 16);
  t.is(dt.ramoopsCmdline, '');
  // As the kernel does: an unparsable value keeps the default, and the note says so.
  const bad = matrixConfig('ramoops.record_size=lots', 'x86_64');
  t.regex(bad.ramoopsCmdline, /record_size=0x4000/);
  t.regex(bad.notes?.join('\n') ?? '', /record_size/);
});

test('cells: the full product, kernel-major, with short kernel labels and distinct folders', (t) => {
  const configs = [matrixConfig('a:ramoops.ecc=0', 'x86_64'), matrixConfig('b:ramoops.ecc=16', 'x86_64')];
  const scenarios = [loadScenario('panic-sysrq'), loadScenario('pmsg')];
  const labels = kernelLabels([
    { spec: 'debian', release: '6.1.0-56-amd64' },
    { spec: 'build:debian-6.1:base', release: '6.1.192' },
    { spec: '/x/bzImage', release: '6.1.192' },
  ]);
  t.deepEqual([...labels.values()], ['6.1.0-56-amd64', '6.1.192#1', '6.1.192#2']);
  const cells = matrixCells(['debian', 'build:debian-6.1:base', '/x/bzImage'], configs, scenarios, '/out', labels);
  t.is(cells.length, 12);
  t.deepEqual(
    cells.slice(0, 4).map((c) => c.label),
    ['6.1.0-56-amd64 / a / panic-sysrq', '6.1.0-56-amd64 / a / pmsg', '6.1.0-56-amd64 / b / panic-sysrq', '6.1.0-56-amd64 / b / pmsg'],
  );
  t.is(new Set(cells.map((c) => c.outDir)).size, 12);
  t.true(cells.every((c) => c.outDir.startsWith('/out/cells/')));
  t.is(slug('../../etc'), 'etc');
  t.false(slug('a/b c').includes('/'));
});

test('JUnit: a suite per kernel, failure/error/skipped per cell verdict', (t) => {
  const base = { kernel: 'debian', kernelLabel: '6.1.0-56-amd64', config: 'default', outDir: '/o', report: undefined, seconds: 1 };
  const results: CellResult[] = [
    { ...base, index: 0, scenario: 'a', label: 'x / default / a', verdict: 'pass', why: undefined },
    { ...base, index: 1, scenario: 'b', label: 'x / default / b', verdict: 'mismatch', why: 'cycle 1: dmesg-ramoops-0 differ' },
    { ...base, index: 2, scenario: 'c', label: 'x / default / c', verdict: 'fault', why: 'fault in boot: no READY' },
    { ...base, index: 3, scenario: 'd', label: 'x / default / d', verdict: 'skipped', why: 'the guest lacks LKDTM' },
  ];
  const m: MatrixReport = {
    tool: 'ramoops-harness matrix',
    startedAt: '2026-01-01T00:00:00.000Z',
    seconds: 4,
    jobs: 2,
    kernels: [{ spec: 'debian', release: '6.1.0-56-amd64', seconds: 1 }],
    summary: { cells: 4, pass: 1, mismatch: 1, fault: 1, skipped: 1 },
    exitCode: 2,
    cells: results,
    outDir: '/o',
  };
  const x = matrixJunit(m, results);
  // The whole document, byte for byte (the one JUnit writer, src/report/junit.ts, must keep it).
  matchesGolden(t, 'junit/matrix.xml', x);
  t.regex(x, /<testsuites name="ramoops matrix" tests="4" failures="1" errors="1" skipped="1"/);
  t.regex(x, /<testsuite name="debian \(6\.1\.0-56-amd64\)" tests="4"/);
  t.regex(x, /<failure message="cycle 1: dmesg-ramoops-0 differ">/);
  t.regex(x, /<error message="fault in boot: no READY">/);
  t.regex(x, /<skipped message="the guest lacks LKDTM"\/>/);
  t.regex(x, /<testcase name="default \/ a" classname="ramoops\.matrix\.6\.1\.0-56-amd64" time="1\.000"\/>/);
});

test('chainCells: neighbours with one key share a chain, no chain is longer than cells/jobs', (t) => {
  const keys = ['a', 'a', 'a', 'a', 'b', 'b', undefined, undefined, 'a'];
  const units = chainCells(
    keys.map((k, i) => ({ i, k })),
    (c) => c.k,
    2,
  );
  t.deepEqual(
    units.map((u) => u.map((c) => c.i)),
    [[0, 1, 2, 3], [4, 5], [6], [7], [8]],
  );
  t.deepEqual(
    chainCells(
      keys.map((k, i) => ({ i, k })),
      (c) => c.k,
      4,
    ).map((u) => u.map((c) => c.i)),
    [[0, 1, 2], [3], [4, 5], [6], [7], [8]],
    'ceil(9 / 4) = 3 cells at most, so four jobs all have work',
  );
  t.deepEqual(
    chainCells([1, 2, 3], () => undefined, 1).map((u) => u.length),
    [1, 1, 1],
    'an unchainable cell is a chain of one',
  );
});
