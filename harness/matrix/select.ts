// Which cells of a matrix this process runs: a shard's (--shard i/N), named ones (--only), the
// failures of an earlier run (--rerun-failed DIR), or all; and the command line that reruns one.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MatrixCell, MatrixReport } from './run.js';

/** A --only or --rerun-failed argument that names no cell of this matrix. */
export class CellSelectionError extends Error {
  override readonly name = 'CellSelectionError';
}

/** A cell's id as --only takes it: its number, the one its folder name starts with (cells/003-...). */
export function cellId(c: { readonly index: number }): string {
  return String(c.index + 1);
}

/**
 * The cells --only names: a number (cell id), a folder name (`003-6.1.0-amd64-default-panic-sysrq`)
 * or `KERNEL-SPEC / CONFIG / SCENARIO`.
 */
export function onlyCells(cells: readonly MatrixCell[], ids: readonly string[]): Set<number> {
  const chosen = new Set<number>();
  for (const raw of ids) {
    const id = raw.trim();
    const num = /^0*(\d+)(?:-.*)?$/.exec(id);
    const parts = id.split(/\s*\/\s*/);
    const hit = cells.find((c) =>
      num !== null ? c.index + 1 === Number(num[1]) : parts.length === 3 && c.kernel === parts[0] && c.config === parts[1] && c.scenario === parts[2],
    );
    if (hit === undefined)
      throw new CellSelectionError(
        `--only ${raw}: no such cell in this matrix of ${cells.length}; give a cell's number (1..${cells.length}, as in its folder cells/NNN-...) or 'KERNEL / CONFIG / SCENARIO'`,
      );
    chosen.add(hit.index);
  }
  return chosen;
}

/** The cells that mismatched or faulted in an earlier run's folder (its matrix.json). */
export function failedCells(dir: string, cells: readonly MatrixCell[]): Set<number> {
  const file = path.join(dir, 'matrix.json');
  let m: MatrixReport;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as MatrixReport;
  } catch {
    throw new CellSelectionError(`--rerun-failed ${dir}: no readable ${file}; give the --out folder of an earlier 'ramoops matrix' (or a merged report)`);
  }
  const chosen = new Set<number>();
  for (const c of m.cells ?? []) {
    if (c.verdict !== 'mismatch' && c.verdict !== 'fault') continue;
    const same = cells.find((x) => x.index === c.index && x.kernel === c.kernel && x.config === c.config && x.scenario === c.scenario);
    if (same === undefined)
      throw new CellSelectionError(
        `--rerun-failed ${dir}: its cell ${c.index + 1} (${c.label}) is not in this matrix; give the same --kernels, --configs and --scenarios`,
      );
    chosen.add(c.index);
  }
  return chosen;
}

function shellWord(w: string): string {
  return /^[A-Za-z0-9_.,:=+/@%-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** The matrix's result-deciding options as CLI words (what a rerun repeats). */
export interface MatrixCommandOptions {
  readonly kernels: readonly string[];
  readonly configs: readonly string[];
  readonly scenarios: readonly string[];
  readonly arch: string;
  readonly cycles: number;
  readonly accel: string;
  readonly memory: string;
  readonly cpus?: number | undefined;
}

/** `ramoops matrix ... --only N`: reruns exactly this cell, the same way. */
export function rerunLine(o: MatrixCommandOptions, cell: { readonly index: number }): string {
  const words = [
    'ramoops',
    'matrix',
    '--kernels',
    ...o.kernels,
    '--configs',
    ...o.configs,
    '--scenarios',
    ...o.scenarios,
    '--arch',
    o.arch,
    '--cycles',
    String(o.cycles),
    '--accel',
    o.accel,
    '--memory',
    o.memory,
    ...(o.cpus === undefined ? [] : ['--cpus', String(o.cpus)]),
    '--only',
    cellId(cell),
  ];
  return words.map(shellWord).join(' ');
}
