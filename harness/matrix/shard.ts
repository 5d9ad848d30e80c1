// Splitting a matrix's cells into N shards: the same split on every runner (no clock, no
// randomness, only the cell list), balanced by expected cost. A kernel that must be built keeps
// its cells in one shard so only one runner builds it; a stock kernel's cells spread freely
// (fetching it is cheap and cached, and one kernel must not mean one busy runner).
import { createHash } from 'node:crypto';
import type { MatrixCell } from './run.js';

export class ShardSpecError extends Error {
  override readonly name = 'ShardSpecError';
}

export interface ShardSpec {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

/** Parses `i/N` (1 <= i <= N). */
export function parseShard(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new ShardSpecError(`--shard ${text}: expected i/N with 1 <= i <= N, e.g. --shard 2/3`);
  }
  return { index, count };
}

/** Expected cost of one cell in arbitrary units; a kernel's build is charged once per group. */
export type CellCost = (cell: MatrixCell) => number;

export const defaultCellCost: CellCost = () => 1;

/**
 * Every shard's cells, index 0 = shard 1. Groups (a built kernel's cells, or one cell of a
 * kernel that costs nothing to obtain) go, heaviest first (ties by kernel spec, then cell index),
 * to the lightest shard (ties by lowest index): greedy LPT, deterministic.
 */
export function splitCells(
  cells: readonly MatrixCell[],
  count: number,
  cost: CellCost = defaultCellCost,
  kernelCost: (kernel: string) => number = () => 0,
): readonly (readonly MatrixCell[])[] {
  const groups = new Map<string, MatrixCell[]>();
  for (const c of [...cells].sort((a, b) => a.index - b.index)) {
    const key = kernelCost(c.kernel) > 0 ? `k\0${c.kernel}` : `c\0${c.kernel}\0${String(c.index).padStart(9, '0')}`;
    const g = groups.get(key) ?? [];
    g.push(c);
    groups.set(key, g);
  }
  const weighed = [...groups].map(([key, g]) => ({
    key,
    cells: g,
    weight: kernelCost(g[0]!.kernel) + g.reduce((s, c) => s + cost(c), 0),
  }));
  weighed.sort((a, b) => b.weight - a.weight || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const shards = Array.from({ length: count }, () => ({ load: 0, cells: [] as MatrixCell[] }));
  for (const g of weighed) {
    let best = 0;
    for (let i = 1; i < count; i++) if (shards[i]!.load < shards[best]!.load) best = i;
    shards[best]!.load += g.weight;
    shards[best]!.cells.push(...g.cells);
  }
  return shards.map((s) => [...s.cells].sort((a, b) => a.index - b.index));
}

/**
 * The matrix's identity: a hash of its options and cell list (not timings, not paths), so that
 * a merge can tell shards of one matrix from shards of another. Keys are sorted so the same
 * options give the same id whatever order they were written in.
 */
export function matrixId(options: Readonly<Record<string, unknown>>, cells: readonly MatrixCell[]): string {
  const canon = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
        )
      : Array.isArray(v)
        ? v.map(canon)
        : v;
  const list = cells.map((c) => [c.index, c.kernel, c.config, c.scenario]);
  return createHash('sha256')
    .update(JSON.stringify(canon({ options, list })))
    .digest('hex')
    .slice(0, 16);
}

/** What a kernel spec costs to obtain: a `build:` spec is compiled (minutes), the rest is fetched or cached. */
export function kernelBuildCost(spec: string): number {
  return spec.startsWith('build:') ? 40 : 0;
}

/** What a scenario needs to know to be weighed. */
export interface WeighedScenario {
  readonly name: string;
  readonly crash: readonly unknown[];
  readonly kselftest?: unknown;
}

/**
 * A cell's expected cost: one boot and crash per cycle; selftests run for minutes; each further
 * crash step is one more reboot. Units: roughly one TCG boot-crash-reboot.
 */
export function scenarioCost(scenarios: readonly WeighedScenario[], cycles: number): CellCost {
  const byName = new Map(scenarios.map((s) => [s.name, s]));
  return (cell) => {
    const s = byName.get(cell.scenario);
    const perCycle = 1 + (s === undefined ? 0 : Math.max(0, s.crash.length - 1) * 0.5 + (s.kselftest === undefined ? 0 : 4));
    return perCycle * Math.max(1, cycles);
  };
}
