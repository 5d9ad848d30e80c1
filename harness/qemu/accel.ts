// `--accel auto`: KVM when /dev/kvm opens and a QEMU started with -accel kvm comes up, else
// TCG; the report says which and why. The probe costs one short QEMU start, so its answer is
// kept for the life of the process.

import { execa } from 'execa';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import type { Accel, MachineType } from './args.js';
import { qemuBinary } from './process.js';

export type AccelChoice = Accel | 'auto';

/** What the run uses, and why (for report.json). */
export interface AccelDecision {
  readonly chosen: Accel;
  readonly reason: string;
}

/** The two checks of auto; each resolves to undefined when KVM passes it, else to why not. */
export interface AccelProbes {
  openKvm(): Promise<string | undefined>;
  qemuWithKvm(machine: MachineType): Promise<string | undefined>;
}

const PROBE_TIMEOUT_MS = 20_000;

export const realProbes: AccelProbes = {
  async openKvm() {
    try {
      await (await open('/dev/kvm', constants.O_RDWR)).close();
      return undefined;
    } catch (e) {
      return `/dev/kvm does not open (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
    }
  },
  async qemuWithKvm(machine) {
    // machine none: KVM is initialised (and fails there when it cannot run) without a guest;
    // the monitor's quit ends it at once.
    const r = await execa(qemuBinary(machine), ['-machine', 'none', '-accel', 'kvm', '-nodefaults', '-display', 'none', '-monitor', 'stdio'], {
      input: 'quit\n',
      reject: false,
      timeout: PROBE_TIMEOUT_MS,
    });
    if (r.exitCode === 0 && !r.timedOut) return undefined;
    const why = r.timedOut ? `no answer in ${PROBE_TIMEOUT_MS / 1000} s` : (r.stderr.trim().split('\n').pop() ?? `exit ${r.exitCode}`);
    return `a probe QEMU with -accel kvm failed: ${why}`;
  },
};

/** KVM runs guests of the host's own architecture only. */
function hostRuns(machine: MachineType): boolean {
  return machine === 'virt' ? os.arch() === 'arm64' : os.arch() === 'x64';
}

const cache = new WeakMap<AccelProbes, Map<MachineType, Promise<AccelDecision>>>();

/** The accelerator for `choice`: an explicit one as asked, auto probed once per process (per probes and machine). */
export function chooseAccel(choice: AccelChoice, machine: MachineType, probes: AccelProbes = realProbes): Promise<AccelDecision> {
  if (choice !== 'auto') return Promise.resolve({ chosen: choice, reason: `--accel ${choice}` });
  let byMachine = cache.get(probes);
  if (byMachine === undefined) cache.set(probes, (byMachine = new Map<MachineType, Promise<AccelDecision>>()));
  let decision = byMachine.get(machine);
  if (decision === undefined) {
    decision = probeAuto(machine, probes);
    byMachine.set(machine, decision);
  }
  return decision;
}

async function probeAuto(machine: MachineType, probes: AccelProbes): Promise<AccelDecision> {
  const tcg = (why: string): AccelDecision => ({ chosen: 'tcg', reason: `auto: ${why}, so TCG` });
  if (!hostRuns(machine)) return tcg(`KVM cannot run a ${machine} guest on a ${os.arch()} host`);
  const notOpen = await probes.openKvm();
  if (notOpen !== undefined) return tcg(notOpen);
  const notRunning = await probes.qemuWithKvm(machine);
  if (notRunning !== undefined) return tcg(notRunning);
  return { chosen: 'kvm', reason: 'auto: /dev/kvm opens and a probe QEMU ran with -accel kvm' };
}
