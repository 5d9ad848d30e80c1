// The HTML page of a single `ramoops run`: the matrix page with one cell, opened.
import type { RunReport } from '../run-report.js';
import { cellDetailsHtml } from './cell-details.js';
import { renderMatrixHtml } from './matrix-page.js';

/** Why a run did not pass, for its one row (the report's first fault or failed check). */
function why(r: RunReport): string | undefined {
  if (r.verdict === 'pass') return undefined;
  if (r.skipped !== undefined) return r.skipped;
  if (r.fault !== undefined) return `fault in ${r.fault.phase}: ${r.fault.message.split('\n')[0] ?? ''}`;
  const check = r.cycles.flatMap((c) => c.checks).find((k) => !k.ok);
  return check === undefined ? r.verdict : `${check.name}: ${check.detail}`;
}

export function renderRunHtml(r: RunReport): string {
  const cell = {
    kernelLabel: r.kernel.release ?? r.kernel.spec,
    config: r.cmdline,
    scenario: r.scenario.name,
    verdict: r.verdict,
    seconds: r.seconds,
    why: why(r),
  };
  const summary = { cells: 1, pass: 0, mismatch: 0, fault: 0, skipped: 0, [r.verdict]: 1 };
  // The one cell's details start open: there is nothing else to look at.
  return renderMatrixHtml({ summary, exitCode: r.exitCode, cells: [cell] }, [cellDetailsHtml(r.outDir, r)]).replace('<details>', '<details open>');
}
