// The one typed context every phase of a run works on: the plan (fixed before the start), the
// run's lifetime (signal, cleanup), its clock, and what the run has found so far.

import type { KernelArtifacts } from '../kernel/artifacts.js';
import type { BootPath } from '../kernel/boot-path.js';
import type { Lifetime } from '../proc/lifetime.js';
import type { QemuProcess } from '../qemu/process.js';
import type { CycleReport, Phase } from '../report/run-report.js';
import type { PhaseClock } from './clock.js';
import type { RunPlan } from './plan.js';
import type { KselftestRun } from './selftests.js';

/** What a run has learnt so far; the report is made from it on every path, faults included. */
export interface RunState {
  kernel: KernelArtifacts | undefined;
  /** How QEMU starts the kernel (PVH or bzImage), chosen in setup. */
  bootPath: BootPath | undefined;
  qemu: QemuProcess | undefined;
  /** The guest kernel's command line (with the run's key words, masked in the report). */
  cmdline: string;
  /** arm64: the ramoops node's properties as booted. */
  nodeProps: Readonly<Record<string, number | true>> | undefined;
  /** Why the run did not crash anything (a guest without what the scenario needs). */
  skipped: string | undefined;
  kselftests: KselftestRun | undefined;
  readonly guestErrors: string[];
  readonly cycles: CycleReport[];
  readonly runTimes: Partial<Record<Phase, number>>;
}

export interface RunContext {
  readonly plan: RunPlan;
  readonly life: Lifetime;
  readonly clock: PhaseClock;
  readonly state: RunState;
}

export function emptyRunState(): RunState {
  return {
    kernel: undefined,
    bootPath: undefined,
    qemu: undefined,
    cmdline: '',
    nodeProps: undefined,
    skipped: undefined,
    kselftests: undefined,
    guestErrors: [],
    cycles: [],
    runTimes: {},
  };
}
