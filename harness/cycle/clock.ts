// Which phase the run is in and how long each took: feeds the progress display and the timings
// of report.json.

import { performance } from 'node:perf_hooks';
import type { Phase } from '../report/run-report.js';
import type { Progress } from './options.js';

export class PhaseClock {
  phase: Phase = 'setup';
  cycle: number | undefined;
  private t = performance.now();

  constructor(
    private readonly cycles: number,
    private readonly onProgress: ((p: Progress) => void) | undefined,
  ) {}

  begin(phase: Phase): void {
    this.phase = phase;
    this.t = performance.now();
    this.onProgress?.({ phase, cycle: this.cycle, cycles: this.cycles, state: 'start' });
    stopIfAsked(phase, this.cycle);
  }

  end(into: Partial<Record<Phase, number>>, detail?: string): void {
    const seconds = (performance.now() - this.t) / 1000;
    into[this.phase] = round((into[this.phase] ?? 0) + seconds);
    this.onProgress?.({ phase: this.phase, cycle: this.cycle, cycles: this.cycles, state: 'end', seconds, ...(detail === undefined ? {} : { detail }) });
  }
}

/** The environment variable of the fault suite's hook (tools/faults): `PHASE` or `CYCLE:PHASE`. */
export const FAULT_STOP_VARIABLE = 'RAMOOPS_FAULT_STOP_AT';

/**
 * The fault suite's injection point: a run whose environment names this phase stops itself
 * (SIGSTOP) as the phase begins, so the suite can inject a fault exactly there, however short
 * the phase, and continue it (SIGCONT). Watching the progress output instead would race: capture
 * and compare take milliseconds. Without the variable this is one environment lookup.
 */
function stopIfAsked(phase: Phase, cycle: number | undefined): void {
  const want = process.env[FAULT_STOP_VARIABLE];
  if (want === undefined || want !== (cycle === undefined ? phase : `${cycle}:${phase}`)) return;
  process.stderr.write(`ramoops: ${FAULT_STOP_VARIABLE}: stopped at ${want}\n`);
  process.kill(process.pid, 'SIGSTOP');
}

/** Milliseconds of precision are all a report needs. */
export function round(s: number): number {
  return Math.round(s * 1000) / 1000;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
