// Choosing cells: --only by number, folder name or KERNEL / CONFIG / SCENARIO; --rerun-failed from
// an earlier matrix.json; the rerun line each cell folder gets.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { matrixCells } from '../../../harness/matrix/run.js';
import { CellSelectionError, failedCells, onlyCells, rerunLine } from '../../../harness/matrix/select.js';

const CONFIGS = [
  { label: 'default', ramoopsCmdline: '', extraCmdline: [] },
  { label: 'ecc16', ramoopsCmdline: 'ramoops.ecc=16', extraCmdline: [] },
];
const cells = matrixCells(['debian'], CONFIGS, [{ name: 'panic-sysrq' }, { name: 'parts' }] as never, '/out');

test('onlyCells: by number, by folder name, by KERNEL / CONFIG / SCENARIO; anything else is a CellSelectionError', (t) => {
  t.deepEqual([...onlyCells(cells, ['3'])], [2]);
  t.deepEqual([...onlyCells(cells, [path.basename(cells[1]!.outDir)])], [1]);
  t.deepEqual([...onlyCells(cells, ['debian / ecc16 / parts', '1'])], [3, 0]);
  for (const bad of ['5', '0', 'debian / lz4 / parts', 'x']) t.throws(() => onlyCells(cells, [bad]), { instanceOf: CellSelectionError });
});

test('failedCells: the mismatched and faulted cells of an earlier matrix.json, refused when they are not in this matrix', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ramoops-select-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const verdicts = ['pass', 'mismatch', 'skipped', 'fault'];
  writeFileSync(path.join(dir, 'matrix.json'), JSON.stringify({ cells: cells.map((c, i) => ({ ...c, verdict: verdicts[i] })) }));
  t.deepEqual([...failedCells(dir, cells)].sort(), [1, 3]);
  t.throws(() => failedCells(dir, cells.slice(0, 2)), { instanceOf: CellSelectionError, message: /cell 4 .* is not in this matrix/ });
  t.throws(() => failedCells(path.join(dir, 'nope'), cells), { instanceOf: CellSelectionError });
});

test('rerunLine: the same options, shell-quoted, and --only with the cell number', (t) => {
  const line = rerunLine(
    { kernels: ['debian'], configs: ['', "q:ramoops.ecc=16 x'y"], scenarios: ['parts'], arch: 'x86_64', cycles: 2, accel: 'tcg', memory: '512M', cpus: 2 },
    cells[3]!,
  );
  t.is(
    line,
    `ramoops matrix --kernels debian --configs '' 'q:ramoops.ecc=16 x'\\''y' --scenarios parts --arch x86_64 --cycles 2 --accel tcg --memory 512M --cpus 2 --only 4`,
  );
});
