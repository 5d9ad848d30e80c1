// `ramoops validate --boot`: prove a configuration on a real kernel by running one verified
// crash cycle (`ramoops run`) with it, and hold the result against what validate predicted:
// the kernel refuses exactly when validate says it will, and otherwise the crash survives.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunReport } from './report.js';

export type BootVerdict =
  /** Booted, crashed, and what the host parsed equals the guest's /sys/fs/pstore. */
  | 'proved'
  /** validate predicted a refusal and the kernel refused ramoops. */
  | 'refused-as-predicted'
  /** The kernel did not do what validate predicted (refused when it should not, or the reverse), or the parse disagreed. */
  | 'contradicted'
  /** The boot itself could not be completed for reasons other than ramoops. */
  | 'fault';

export interface BootProof {
  readonly verdict: BootVerdict;
  readonly message: string;
  /** The kernel's own ramoops/pstore lines from the guest console. */
  readonly kernelLines: readonly string[];
  /** Files the guest showed in /sys/fs/pstore after the warm reboot. */
  readonly survived: readonly string[];
  readonly outDir: string;
}

const KERNEL_LINE = /ramoops|pstore|persistent_ram|reserved memory|decode_rs/i;

/** Run one cycle with `runArgs` (config flags as `ramoops run` takes them) and judge it. */
export async function proveByBoot(runArgs: readonly string[], predictedRefusal: boolean, signal?: AbortSignal): Promise<BootProof> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'ramoops-validate-boot-'));
  const cli = fileURLToPath(new URL('./cli/main.js', import.meta.url));
  const r = await execa(process.execPath, [cli, 'run', ...runArgs, '--out', outDir, '--json'], { reject: false, ...(signal ? { cancelSignal: signal } : {}) });
  const reportFile = path.join(outDir, 'report.json');
  if (!existsSync(reportFile)) {
    return { verdict: 'fault', message: `ramoops run left no report (exit ${r.exitCode}): ${r.stderr.split('\n').slice(-3).join(' ')}`, kernelLines: [], survived: [], outDir };
  }
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport;
  const serial = existsSync(path.join(outDir, 'serial.log')) ? readFileSync(path.join(outDir, 'serial.log'), 'utf8').split('\n') : [];
  const kernelLines = serial.filter((l) => KERNEL_LINE.test(l) && !l.startsWith('RAMOOPS-HARNESS')).map((l) => l.trim());
  const survived = report.cycles[0]?.guest.files.map((f) => f.name) ?? [];
  const refused = report.verdict === 'fault' && report.guestErrors.some((e) => /ramoops did not bind|pstore/i.test(e));
  if (report.verdict === 'pass') {
    return predictedRefusal
      ? { verdict: 'contradicted', message: 'validate predicted that the kernel refuses this configuration, but it booted, crashed and kept the record', kernelLines, survived, outDir }
      : { verdict: 'proved', message: `the crash survived the warm reboot: ${survived.join(', ') || 'no files'}; the host parse equals the guest's files`, kernelLines, survived, outDir };
  }
  if (refused) {
    return predictedRefusal
      ? { verdict: 'refused-as-predicted', message: 'the kernel refused ramoops, as predicted', kernelLines, survived, outDir }
      : { verdict: 'contradicted', message: `validate found no error, but the kernel refused ramoops: ${report.guestErrors.join(' ')}`, kernelLines, survived, outDir };
  }
  if (report.verdict === 'mismatch') {
    return { verdict: 'contradicted', message: `the guest kept records but the host parse differs; see ${outDir}/diff.txt`, kernelLines, survived, outDir };
  }
  return { verdict: 'fault', message: `the proof boot did not complete: ${report.fault?.message ?? `exit ${r.exitCode}`}`, kernelLines, survived, outDir };
}
