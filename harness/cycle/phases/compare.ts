// compare: the host's parse against the guest's files, byte for byte, plus the scenario's
// expectations; a crash that left no record on either side is a failed capture, not a match.

import type { CycleReport, PhaseTimes } from '../../report/run-report.js';
import { compareFiles } from '../compare.js';
import type { RunContext } from '../context.js';
import { guestSummary, hostSummary } from '../files.js';
import { judgeExpectations } from '../scenario.js';
import type { Captured } from './capture.js';
import type { Crashed } from './crash.js';
import type { Read } from './read.js';

/** The cycle's report, without its timings (the loop adds them once the phase has ended). */
export type Judged = Omit<CycleReport, 'timings'>;

export function compare(
  ctx: RunContext,
  n: number,
  crashed: Crashed,
  captured: Captured,
  read: Read,
): Promise<{ readonly value: Judged; readonly detail: string }> {
  const { extraction, guestFiles } = read;
  const comparison = compareFiles(extraction.files, guestFiles);
  const anyDmesg = [...extraction.files, ...guestFiles].some((f) => f.name.startsWith('dmesg-'));
  const reason = anyDmesg ? undefined : 'the crash left no dmesg record on either side';
  const checks = [...crashed.checks, ...read.checks, ...judgeExpectations(ctx.plan.scenario.expect, guestFiles)];
  const verdict = comparison.matched && reason === undefined && checks.every((c) => c.ok) ? 'match' : 'mismatch';
  const value: Judged = {
    cycle: n,
    verdict,
    reason,
    panicSeenBy: crashed.panicSeenBy,
    reset: crashed.reset,
    pmemsave: captured.pmemsave,
    corrupted: captured.corrupted,
    host: { files: extraction.files.map(hostSummary), decisions: extraction.decisions, warnings: extraction.warnings.map((w) => w.message) },
    guest: { files: guestFiles.map(guestSummary) },
    comparison,
    checks,
  };
  return Promise.resolve({ value, detail: verdict });
}

/** Phase timings rounded to milliseconds, as report.json carries them. */
export function roundedTimes(t: Partial<Record<string, number>>): PhaseTimes {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round((v ?? 0) * 1000) / 1000]));
}
