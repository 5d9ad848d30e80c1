// What a caller of runCycles can ask for, and the defaults a run falls back on.

import type { RamoopsConfig } from '../../src/index.js';
import type { RamoopsNodeSpec } from '../../src/dt/ramoops-node.js';
import type { BootPathMode } from '../kernel/boot-path.js';
import type { AccelChoice } from '../qemu/accel.js';
import type { GuestArch } from '../qemu/args.js';
import type { Phase } from '../report/run-report.js';
import type { Scenario } from './scenario.js';

/** The scenario `--crash sysrq` names: a panic from the magic SysRq trigger (works for root whatever kernel.sysrq says). */
export const SYSRQ_CRASH = 'echo c > /proc/sysrq-trigger';

/** The region `ramoops run` uses when none is given: mid-RAM, where neither SeaBIOS nor the -kernel loader writes. */
export const DEFAULT_REGION = { memAddress: 0x8000000, memSize: 0x100000, recordSize: 0x4000 } as const;

/** Bytes of RAM file to flip between the crash and the reboot, to test ECC on both sides. */
export interface CorruptSpec {
  /** Offsets into dmesg zone 0's data (0 = the first byte after its 12-byte header). */
  readonly dataOffsets: readonly number[];
  /** Each byte is XORed with this (default 0x5a). */
  readonly xor?: number;
}

/** Limits of the waits inside a run, in milliseconds. */
export interface PhaseTimeouts {
  /** QEMU start to READY (also after each reboot). */
  readonly boot: number;
  /** The crash command to the panic. */
  readonly panic: number;
  /** The panic to the guest's reset; past it the guest is stopped and read anyway. */
  readonly reset: number;
  /** SSH login, and each command over it. */
  readonly ssh: number;
}

/** Generous for TCG on a loaded 2-core machine, where a boot can take 3x its idle time. */
export const DEFAULT_TIMEOUTS: PhaseTimeouts = { boot: 180_000, panic: 60_000, reset: 30_000, ssh: 60_000 };

/** What the live progress display gets: a phase starting or ending. */
export interface Progress {
  readonly phase: Phase;
  /** undefined for setup and the first boot. */
  readonly cycle: number | undefined;
  readonly cycles: number;
  readonly state: 'start' | 'end';
  /** Seconds, on 'end'. */
  readonly seconds?: number;
  readonly detail?: string;
}

/** Everything runCycles needs; only ramoopsCmdline and outDir are required. */
export interface RunOptions {
  /** 'debian' (default), 'debian-6.12' or a bzImage path. */
  readonly kernel?: string;
  /** Modules for a bzImage (a folder holding lib/modules/<release>, or that folder). */
  readonly modulesDir?: string;
  /**
   * x86_64: the ramoops.* and pstore.* words: the guest gets them, and the host parses with the
   * same. arm64: pstore.* words only (ramoops comes from ramoopsNode).
   */
  readonly ramoopsCmdline: string;
  /** x86_64 (default: q35, ramoops by module parameters) or arm64 (virt, ramoops by the device tree). */
  readonly arch?: GuestArch;
  /** arm64: the /reserved-memory/ramoops node (default ARM64_DEFAULT_NODE). */
  readonly ramoopsNode?: RamoopsNodeSpec;
  /** More kernel command line words for the guest. */
  readonly extraCmdline?: readonly string[];
  /** 'sysrq' (default) or a shell command the guest runs to crash; ignored when scenario is given. */
  readonly crash?: string;
  /** What to run before, during (the crash steps) and after each crash, and what to expect. */
  readonly scenario?: Scenario;
  /**
   * A host folder the guest mounts on /rh-share at every boot (virtio-9p, tag rhshare). Default:
   * none, or <outDir>/share for a scenario that runs kernel selftests.
   */
  readonly share?: string;
  /** Guest CPUs (QEMU -smp); the scenario's own minimum wins when larger. */
  readonly cpus?: number;
  readonly cycles?: number;
  /** Artifacts go here (created). */
  readonly outDir: string;
  readonly accel?: AccelChoice;
  readonly memoryBytes?: number;
  /** The whole run's limit (default 15 min + 2 min per cycle). */
  readonly timeoutMs?: number;
  readonly timeouts?: Partial<PhaseTimeouts>;
  readonly corrupt?: CorruptSpec;
  /** Take over SIGINT/SIGTERM (the CLI only). */
  readonly handleSignals?: boolean;
  /** Stops the run from outside (a matrix being interrupted): QEMU is stopped and cleaned up. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: Progress) => void;
  /** Told each command line as the run saves it (kernel-cmdline.txt, qemu-cmdline.txt), key words masked. */
  readonly onCommandLine?: (kind: 'kernel' | 'qemu', line: string) => void;
  /** Messages from fetching the kernel and building the image. */
  readonly log?: (line: string) => void;
  readonly cacheDir?: string;
  /** x86_64: PVH + qboot when the kernel can (auto, default), always (pvh: an error when it cannot) or never (bzimage). */
  readonly bootPath?: BootPathMode;
  /** Where QEMU's own logs (serial.log, qemu-stderr.log) go; default outDir (a chain's folder for chained cells). */
  readonly qemuLogDir?: string;
  /** Where QEMU's temp folder (RAM file) goes; default /dev/shm when writable. */
  readonly tempParent?: string;
}

/** The default ramoops words of `ramoops run` for a region (the kernel's defaults for the rest). */
export function defaultRamoopsCmdline(config: Pick<RamoopsConfig, 'memAddress' | 'memSize' | 'recordSize'> = DEFAULT_REGION): string {
  return `ramoops.mem_address=0x${config.memAddress.toString(16)} ramoops.mem_size=0x${config.memSize.toString(16)} ramoops.record_size=0x${config.recordSize.toString(16)}`;
}
