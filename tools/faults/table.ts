// The suite's table: fault x phase, each cell "reported correctly / tried" and leaks, then totals.
import { FAULTS, PHASES } from './faults.js';
import type { FaultResult } from './run-one.js';

/** Counts over a set of results. */
export interface Totals {
  readonly tried: number;
  readonly reported: number;
  readonly wrong: number;
  readonly notReached: number;
  readonly leaks: number;
}

export function totals(results: readonly FaultResult[]): Totals {
  const tried = results.filter((r) => r.outcome !== 'not-applicable');
  return {
    tried: tried.length,
    reported: tried.filter((r) => r.outcome === 'ok').length,
    wrong: tried.filter((r) => r.outcome === 'wrong').length,
    notReached: tried.filter((r) => r.outcome === 'not-reached').length,
    leaks: tried.reduce((n, r) => n + r.leaks.length, 0),
  };
}

/** Rows are faults, columns phases; a cell is `ok/tried` with `L<n>` when something leaked, `-` when not applicable. */
export function faultTable(results: readonly FaultResult[]): string {
  const cols = PHASES.map((p) => p.name);
  const cell = (f: string, p: string): string => {
    const rs = results.filter((r) => r.fault === f && r.phase === p && r.outcome !== 'not-applicable');
    if (rs.length === 0) return results.some((r) => r.fault === f && r.phase === p) ? '-' : '';
    const t = totals(rs);
    return `${t.reported}/${t.tried}${t.leaks > 0 ? ` L${t.leaks}` : ''}`;
  };
  const rows = FAULTS.filter((f) => results.some((r) => r.fault === f)).map((f) => [f, ...cols.map((p) => cell(f, p))]);
  const head = ['fault \\ phase', ...cols];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  const t = totals(results);
  return [
    line(head),
    ...rows.map(line),
    '',
    `faults tried ${t.tried}, reported correctly ${t.reported}, wrong ${t.wrong}, phase not reached ${t.notReached}, leaks found ${t.leaks}`,
  ].join('\n');
}

/** What went wrong, one line each, for the runs that did not go as expected. */
export function problems(results: readonly FaultResult[]): string[] {
  return results
    .filter((r) => r.outcome === 'wrong' || r.outcome === 'not-reached' || r.leaks.length > 0)
    .map(
      (r) =>
        `${r.fault} at ${r.phase}: ${r.outcome}, exit ${r.exitCode}, phase ${r.reportedPhase ?? '-'}${r.why.length > 0 ? `; ${r.why.join('; ')}` : ''}${r.leaks.length > 0 ? `; leaks: ${r.leaks.join(', ')}` : ''}; said: ${r.said}`,
    );
}
