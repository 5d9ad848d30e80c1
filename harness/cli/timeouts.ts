// `--timeout` of run and matrix: the whole job's limit in seconds as before (`--timeout 900`),
// or per phase (`--timeout boot=120,ssh=60,run=900`). The phases are the run's waits
// (harness/cycle/options.ts PhaseTimeouts); `run` is the whole job.

import { DEFAULT_TIMEOUTS, type PhaseTimeouts } from '../cycle/options.js';
import { InputError } from './input.js';

type PhaseName = keyof PhaseTimeouts;
const PHASES = Object.keys(DEFAULT_TIMEOUTS) as PhaseName[];

/** What --timeout asked for, in milliseconds. */
export interface TimeoutChoice {
  /** The whole run's (or matrix's) limit, when given. */
  readonly totalMs: number | undefined;
  readonly phases: Partial<PhaseTimeouts>;
}

/** The phases --timeout takes and their defaults, for --help. */
export function timeoutHelp(whole: string): string {
  const defaults = PHASES.map((p) => `${p}=${DEFAULT_TIMEOUTS[p] / 1000}`).join(',');
  return `seconds: N for the whole ${whole}, or per phase PHASE=N,... (phases: run, ${PHASES.join(', ')}; defaults ${defaults})`;
}

/** Parses --timeout; one clear InputError for an unknown phase or a value that is not a positive number of seconds. */
export function parseTimeout(text: string | number | undefined): TimeoutChoice {
  if (text === undefined) return { totalMs: undefined, phases: {} };
  const phases: Partial<Record<PhaseName, number>> = {};
  let totalMs: number | undefined;
  for (const part of String(text).split(',')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? 'run' : part.slice(0, eq).trim();
    if (name !== 'run' && !(PHASES as string[]).includes(name)) {
      throw new InputError('--timeout', `unknown phase "${name}"; give run, ${PHASES.join(', ')} (e.g. --timeout boot=300,ssh=120)`);
    }
    const ms = seconds(eq < 0 ? part : part.slice(eq + 1), name) * 1000;
    if (name === 'run') totalMs = ms;
    else phases[name as PhaseName] = ms;
  }
  return { totalMs, phases };
}

function seconds(value: string, phase: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InputError('--timeout', `${phase === 'run' ? '' : `${phase}=`}${value.trim()} is not a positive number of seconds`);
  }
  return n;
}
