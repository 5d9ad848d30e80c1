// The run's report from whatever the run found, on every path (a fault, Ctrl-C, a pass), and
// its files in the artifacts folder.

import { performance } from 'node:perf_hooks';
import { HarnessError } from '../errors.js';
import { writeConfined } from '../io/artifacts.js';
import { RunAbortedError } from '../proc/lifetime.js';
import type { QemuProcess } from '../qemu/process.js';
import { maskKeyWords } from '../ssh/keys.js';
import { diffText, overallVerdict, reportJson, type Fault, type Phase, type RunReport } from '../report/run-report.js';
import { round, type PhaseClock } from './clock.js';
import type { RunState } from './context.js';
import type { RunPlan } from './plan.js';

const EXCERPT_LINES = 25;

/** When the run started, for the report. */
export interface Started {
  readonly at: Date;
  readonly t0: number;
}

/** Builds report.json (and selftests.tap, diff.txt) and returns the report. */
export function finish(plan: RunPlan, state: RunState, clock: PhaseClock, started: Started, fault: Fault | undefined, chain?: RunReport['chain']): RunReport {
  const selftests = state.kselftests?.report(clock.cycle ?? state.cycles.length, state.skipped);
  const report: RunReport = {
    tool: 'ramoops-harness run',
    ...overallVerdict(state.cycles, fault, state.skipped),
    startedAt: started.at.toISOString(),
    seconds: round((performance.now() - started.t0) / 1000),
    kernel: { spec: plan.kernelSpec, release: state.kernel?.release, path: state.kernel?.kernelPath },
    qemu: {
      accel: { chosen: plan.accel, reason: plan.accelReason },
      memoryBytes: plan.memoryBytes,
      machine: plan.machine,
      ...(plan.cpus > 1 ? { cpus: plan.cpus } : {}),
      ...(state.bootPath === undefined ? {} : { boot: { path: state.bootPath.path, reason: state.bootPath.reason } }),
    },
    ...(plan.arch === 'arm64' ? { arch: plan.arch, ramoopsNode: state.nodeProps } : {}),
    cmdline: maskKeyWords(state.cmdline),
    crash: plan.crashCommand,
    scenario: { name: plan.scenario.name, source: plan.scenario.source },
    skipped: state.skipped,
    cyclesRequested: plan.cycles,
    timings: state.runTimes,
    cycles: state.cycles,
    guestErrors: state.guestErrors,
    fault,
    ...(chain === undefined ? {} : { chain }),
    ...(selftests === undefined ? {} : { selftests }),
    outDir: plan.out,
  };
  // Synchronous on purpose: after Ctrl-C the process exits on the next macrotask. A file that
  // cannot be written (--out full) must not hide the verdict: the fault suite found a full disk
  // reported as a bare ENOSPC with no phase, the report itself lost.
  writeArtifact(plan.out, 'report.json', reportJson(report));
  if (selftests !== undefined) writeArtifact(plan.out, 'selftests.tap', selftests.tap);
  if (report.verdict === 'mismatch') writeArtifact(plan.out, 'diff.txt', diffText(report));
  return report;
}

function writeArtifact(out: string, name: string, text: string): void {
  try {
    writeConfined(out, name, new TextEncoder().encode(text));
  } catch (e) {
    process.stderr.write(`ramoops run: cannot write ${name} in ${out}: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

/** A fault for the report: the phase, the failing part and the end of the logs. */
export function toFault(e: unknown, phase: Phase, qemu: QemuProcess | undefined): Fault {
  const stage = e instanceof HarnessError ? e.stage : undefined;
  let message: string;
  if (e instanceof RunAbortedError) message = `${e.message} during phase ${phase}`;
  else if (e instanceof HarnessError) message = e.message;
  else if (e instanceof Error) message = `${e.name}: ${e.message}`;
  else message = String(e);
  return {
    phase,
    stage,
    message,
    serial: qemu?.serial.tail(EXCERPT_LINES) ?? [],
    // QEMU's note that our cleanup stopped it says nothing about the fault.
    qemuStderr: (qemu?.stderrTail(EXCERPT_LINES) ?? []).filter((l) => !l.includes(`terminating on signal 15 from pid ${process.pid} `)),
  };
}
