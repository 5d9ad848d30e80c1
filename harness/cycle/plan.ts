// A run's plan: every option resolved and checked before anything starts (LAVA's validate()),
// so a bad request fails in a millisecond, not after a boot.

import path from 'node:path';
import type { RamoopsNodeSpec } from '../../src/dt/ramoops-node.js';
import { prepareOutDir } from '../io/artifacts.js';
import type { AccelDecision } from '../qemu/accel.js';
import { machineFor, type Accel, type GuestArch, type MachineType } from '../qemu/args.js';
import { ARM64_DEFAULT_NODE } from '../qemu/virt-arm64.js';
import { DEFAULT_TIMEOUTS, SYSRQ_CRASH, type PhaseTimeouts, type RunOptions } from './options.js';
import { crashOnlyScenario, overrideWords, splitScenarioCmdline, type Scenario } from './scenario.js';
import { SHARE_TAG } from './selftests.js';

const MiB = 1024 * 1024;

/** Everything a run will do, fixed before it starts. */
export interface RunPlan {
  readonly options: RunOptions;
  /** The artifacts folder (created). */
  readonly out: string;
  readonly cycles: number;
  readonly scenario: Scenario;
  /** The command whose panic ends each cycle (the scenario's last crash step). */
  readonly crashCommand: string;
  /** The run's ramoops./pstore. words with the scenario's own on top. */
  readonly ramoopsCmdline: string;
  readonly extraCmdline: readonly string[];
  /** The host folder the guest mounts, if any. */
  readonly share: string | undefined;
  readonly cpus: number;
  readonly timeouts: PhaseTimeouts;
  readonly memoryBytes: number;
  readonly accel: Accel;
  /** Why that accelerator (auto's probe, or the option). */
  readonly accelReason: string;
  readonly arch: GuestArch;
  readonly machine: MachineType;
  /** arm64: the ramoops device tree node. */
  readonly node: RamoopsNodeSpec | undefined;
  readonly kernelSpec: string;
}

/**
 * Resolves the options into a plan; throws RangeError on a request that cannot run. `outFolder`
 * makes the artifacts folder (`--dry-run` passes one that only resolves the path).
 */
export function planRun(options: RunOptions, accel: AccelDecision, outFolder: (dir: string) => string = prepareOutDir): RunPlan {
  const cycles = options.cycles ?? 1;
  if (!Number.isInteger(cycles) || cycles < 1) throw new RangeError(`cycles must be a positive integer, got ${cycles}`);
  const out = outFolder(options.outDir);
  const scenario = options.scenario ?? crashOnlyScenario(options.crash === undefined || options.crash === 'sysrq' ? SYSRQ_CRASH : options.crash);
  const words = splitScenarioCmdline(scenario);
  const share = options.share ?? (scenario.kselftest === undefined ? undefined : path.join(out, 'share'));
  const arch = options.arch ?? 'x86_64';
  return {
    options,
    out,
    cycles,
    scenario,
    crashCommand: scenario.crash[scenario.crash.length - 1]?.run ?? SYSRQ_CRASH,
    // The scenario's ramoops./pstore. words override the run's (a small record_size, a compressor).
    ramoopsCmdline: overrideWords(options.ramoopsCmdline, words.ramoops),
    extraCmdline: [...(options.extraCmdline ?? []), ...words.other, ...(share === undefined ? [] : [`rh.share=${SHARE_TAG}`])],
    share,
    cpus: Math.max(options.cpus ?? 1, scenario.cpus ?? 1),
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    memoryBytes: options.memoryBytes ?? 512 * MiB,
    accel: accel.chosen,
    accelReason: accel.reason,
    arch,
    machine: machineFor(arch),
    node: arch === 'arm64' ? (options.ramoopsNode ?? ARM64_DEFAULT_NODE) : undefined,
    kernelSpec: options.kernel ?? 'debian',
  };
}
