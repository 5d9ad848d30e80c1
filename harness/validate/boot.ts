// `ramoops validate --boot`: prove a configuration on a real kernel by running one verified
// crash cycle (`ramoops run`) with it, and hold the result against what validate predicted:
// the kernel refuses exactly when validate says it will (a probe refusal, or on arm64 the
// early /reserved-memory scan refusing the node), and otherwise the crash survives.
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConfig, type ConfigSettings, type RamoopsConfig } from '../../src/index.js';
import { RESERVE_FAILED_LINE } from '../qemu/virt-arm64.js';
import type { RunReport } from '../report/run-report.js';

export type BootVerdict =
  /** Booted, crashed, and what the host parsed equals the guest's /sys/fs/pstore. */
  | 'proved'
  /** validate predicted a refusal (of ramoops, or of the node's reservation) and the kernel refused. */
  | 'refused-as-predicted'
  /** The kernel did not do what validate predicted (refused when it should not, or the reverse), or the parse disagreed. */
  | 'contradicted'
  /** The boot itself could not be completed for reasons other than ramoops. */
  | 'fault';

/** What validate expects the proof boot to show. */
export interface BootPrediction {
  /** An error: the kernel refuses ramoops when it probes. */
  readonly refusal: boolean;
  /** arm64 DT: the early /reserved-memory scan refuses the no-map node (boot-image-collision quoting the kernel). */
  readonly reservationFailure: boolean;
}

/** What the boot showed. */
export type BootOutcome =
  /** The crash survived the warm reboot and the parse matched. */
  | 'kept'
  /** The guest said ramoops (or pstore) did not come up. */
  | 'probe-refused'
  /** The kernel logged "Reserved memory: failed to reserve memory for node". */
  | 'not-reserved'
  /** The guest kept records but the host parse differs. */
  | 'mismatch'
  /** No verdict on ramoops: the boot failed for another reason. */
  | 'fault';

export interface BootProof {
  readonly verdict: BootVerdict;
  readonly observed: BootOutcome;
  readonly message: string;
  /** The kernel's line that decided the outcome, when one did (the reservation failure). */
  readonly kernelLine?: string;
  /** The kernel's own ramoops/pstore lines from the guest console. */
  readonly kernelLines: readonly string[];
  /** Files the guest showed in /sys/fs/pstore after the warm reboot. */
  readonly survived: readonly string[];
  readonly outDir: string;
}

/** What judgeBoot reads of a run's report.json. */
export type JudgedReport = Pick<RunReport, 'verdict' | 'guestErrors'> & {
  readonly fault?: { readonly message: string } | undefined;
  readonly cycles: readonly { readonly guest: { readonly files: readonly { readonly name: string }[] } }[];
};

const KERNEL_LINE = /ramoops|pstore|persistent_ram|reserved memory|decode_rs/i;

/** The console line without its printk timestamp. */
const bare = (line: string): string => line.replace(/^\[[^\]]*\]\s*/, '').trim();

/** Judge a finished `ramoops run` (its report and console log) against the prediction. Pure. */
export function judgeBoot(report: JudgedReport, serial: readonly string[], predicted: BootPrediction, outDir: string, runExit?: number): BootProof {
  const kernelLines = serial.filter((l) => KERNEL_LINE.test(l) && !l.startsWith('RAMOOPS-HARNESS')).map((l) => l.trim());
  const survived = report.cycles[0]?.guest.files.map((f) => f.name) ?? [];
  const base = { kernelLines, survived, outDir };
  const reserveLine = serial.find((l) => RESERVE_FAILED_LINE.test(l));
  const predictedText = predicted.refusal
    ? 'validate predicted that the kernel refuses this configuration'
    : predicted.reservationFailure
      ? 'validate predicted that the kernel refuses to reserve the node'
      : '';

  if (report.verdict === 'pass') {
    return predicted.refusal || predicted.reservationFailure
      ? { verdict: 'contradicted', observed: 'kept', message: `${predictedText}, but it booted, crashed and kept the record`, ...base }
      : {
          verdict: 'proved',
          observed: 'kept',
          message: `the crash survived the warm reboot: ${survived.join(', ') || 'no files'}; the host parse equals the guest's files`,
          ...base,
        };
  }
  // The reservation comes first: a node the kernel could not reserve ends the run at boot,
  // whatever ramoops did next on the memory it got instead.
  if (report.verdict === 'fault' && reserveLine !== undefined) {
    const kernelLine = bare(reserveLine);
    const why = report.fault?.message ?? kernelLine;
    return predicted.reservationFailure
      ? {
          verdict: 'refused-as-predicted',
          observed: 'not-reserved',
          kernelLine,
          message: `the kernel refused to reserve the node, as predicted: ${why}`,
          ...base,
        }
      : {
          verdict: 'contradicted',
          observed: 'not-reserved',
          kernelLine,
          message: `validate did not predict it, but the kernel refused to reserve the node: ${why}`,
          ...base,
        };
  }
  const refused = report.verdict === 'fault' && report.guestErrors.some((e) => /ramoops did not bind|pstore/i.test(e));
  if (refused) {
    return predicted.refusal
      ? { verdict: 'refused-as-predicted', observed: 'probe-refused', message: 'the kernel refused ramoops, as predicted', ...base }
      : {
          verdict: 'contradicted',
          observed: 'probe-refused',
          message: `validate found no error, but the kernel refused ramoops: ${report.guestErrors.join(' ')}`,
          ...base,
        };
  }
  if (report.verdict === 'mismatch') {
    return { verdict: 'contradicted', observed: 'mismatch', message: `the guest kept records but the host parse differs; see ${outDir}/diff.txt`, ...base };
  }
  return { verdict: 'fault', observed: 'fault', message: `the proof boot did not complete: ${report.fault?.message ?? `exit ${runExit ?? '?'}`}`, ...base };
}

/** How proveByBoot runs. */
export interface ProveOptions {
  /** Settings written as JSON beside the artifacts (validated-config.json) and passed as `run --config`. */
  readonly config?: Readonly<Record<string, string | number | boolean>>;
  readonly signal?: AbortSignal;
}

/** Run one cycle with `runArgs` (`ramoops run` options) and judge it against `predicted`. */
export async function proveByBoot(runArgs: readonly string[], predicted: BootPrediction, opts: ProveOptions = {}): Promise<BootProof> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'ramoops-validate-boot-'));
  const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const args = [...runArgs];
  if (opts.config !== undefined) {
    const file = path.join(outDir, 'validated-config.json');
    writeFileSync(file, JSON.stringify(opts.config, null, 2) + '\n');
    args.push('--config', file);
  }
  const r = await execa(process.execPath, [cli, 'run', ...args, '--out', outDir, '--json'], {
    reject: false,
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
  });
  const reportFile = path.join(outDir, 'report.json');
  if (!existsSync(reportFile)) {
    return {
      verdict: 'fault',
      observed: 'fault',
      message: `ramoops run left no report (exit ${r.exitCode}): ${r.stderr.split('\n').slice(-3).join(' ')}`,
      kernelLines: [],
      survived: [],
      outDir,
    };
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport;
  const serialFile = path.join(outDir, 'serial.log');
  const serial = existsSync(serialFile) ? readFileSync(serialFile, 'utf8').split('\n') : [];
  return judgeBoot(report, serial, predicted, outDir, r.exitCode);
}

/**
 * The `ramoops run --arch arm64 --config` JSON for a configuration validate checked: every size
 * explicit (so run's own node defaults never apply), ECC as the validated parity size (run
 * writes it as `ecc-size`, literally), and mem-type, max-reason and per-CPU ftrace (`flags`)
 * only where they differ from the DT defaults. When the settings do not build (validate then
 * reports an error), they go as given and run refuses them.
 */
export function arm64BootConfig(settings: ConfigSettings, source: 'dt' | 'modparams'): Record<string, string | number | boolean> {
  const hx = (n: number): string => `0x${n.toString(16)}`;
  let c: RamoopsConfig;
  try {
    c = buildConfig(settings, source).config;
  } catch {
    const raw: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(settings)) if (k !== 'kernelVersion' && k !== 'cpus' && v !== undefined) raw[k] = v as string | number | boolean;
    return raw;
  }
  return {
    mem_address: hx(c.memAddress),
    mem_size: hx(c.memSize),
    record_size: hx(c.recordSize),
    console_size: hx(c.consoleSize),
    ftrace_size: hx(c.ftraceSize),
    pmsg_size: hx(c.pmsgSize),
    ecc: c.eccSize,
    ...(c.memType !== 0 ? { mem_type: c.memType } : {}),
    ...(c.maxReason !== 2 ? { max_reason: c.maxReason } : {}),
    ...(c.ftracePerCpu ? { ftracePerCpu: true } : {}),
    ...(c.compress !== undefined ? { compress: c.compress } : {}),
  };
}

/** The arm64 guest `ramoops run --arch arm64` boots: its kernel's release and the size of the initrd QEMU loads. */
export interface Arm64BootGuest {
  readonly release: string;
  readonly initrdBytes: number;
}

/**
 * Finds (fetching and building into the cache on first use, as run does) Debian's arm64 kernel
 * and the harness's initramfs for it, so validate checks the machine the proof boots: the
 * kernel's version rules and where QEMU's initrd and DTB really end. Cached: about 3 s (one
 * apt-cache call).
 */
export async function arm64BootGuest(log?: (line: string) => void): Promise<Arm64BootGuest> {
  const { obtainArm64Kernel } = await import('../kernel/arm64.js');
  const { buildGuestImage } = await import('../guest/image.js');
  const kernel = await obtainArm64Kernel('debian', { log });
  const image = await buildGuestImage(kernel, { arch: 'arm64', log });
  return { release: kernel.release, initrdBytes: statSync(image).size };
}
