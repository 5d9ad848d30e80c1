// `ramoops run`: boot a QEMU guest, crash it, parse its RAM, warm-reboot it and prove the parse
// against the guest's own /sys/fs/pstore. The work is harness/cycle.ts; this file turns flags
// into its options, shows progress and writes the verdict.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import {
  buildConfig,
  mergeSettings,
  parseSize,
  settingsFromCmdline,
  settingsFromJson,
  splitCmdline,
  type ConfigSettings,
} from '../../../src/index.js';
import { prepareOutDir, writeConfined } from '../../artifacts.js';
import { DEFAULT_REGION, runCycles, type Progress } from '../../cycle.js';
import { RunAbortedError } from '../../proc/lifetime.js';
import { junitXml, reportJson, verdictText, type RunReport } from '../../report.js';
import { withConfigOptions, type ConfigArgs } from '../config-options.js';

interface RunArgs extends ConfigArgs {
  kernel: string;
  modules?: string;
  crash: string;
  cycles: number;
  out?: string;
  json: boolean;
  junit?: string;
  accel: string;
  memory: string;
  timeout?: number;
}

// ConfigSettings field -> the guest's command line word (module parameter names).
const WORDS: ReadonlyArray<readonly [keyof ConfigSettings, string]> = [
  ['memAddress', 'ramoops.mem_address'],
  ['memSize', 'ramoops.mem_size'],
  ['recordSize', 'ramoops.record_size'],
  ['consoleSize', 'ramoops.console_size'],
  ['ftraceSize', 'ramoops.ftrace_size'],
  ['pmsgSize', 'ramoops.pmsg_size'],
  ['ecc', 'ramoops.ecc'],
  ['memType', 'ramoops.mem_type'],
  ['maxReason', 'ramoops.max_reason'],
  ['dumpOops', 'ramoops.dump_oops'],
];

/**
 * The guest's ramoops words from the flags, merged as defaults < JSON < --cmdline < flags. The
 * defaults layer is the run's own region (resolveConfig has none: extract must not invent one).
 */
export function runCmdline(a: ConfigArgs): { ramoops: string; extra: string[]; notes: string[] } {
  const notes: string[] = [];
  const json: ConfigSettings = a.config ? settingsFromJson(readFileSync(a.config, 'utf8'), a.config) : {};
  const cmd = a.cmdline === undefined ? {} : settingsFromCmdline(a.cmdline).settings;
  const num = (field: string, v: string | undefined): number | undefined => (v === undefined ? undefined : parseSize(field, v));
  const flags: ConfigSettings = {
    memAddress: num('--mem-address', a['mem-address']),
    memSize: num('--mem-size', a['mem-size']),
    recordSize: num('--record-size', a['record-size']),
    consoleSize: num('--console-size', a['console-size']),
    ftraceSize: num('--ftrace-size', a['ftrace-size']),
    pmsgSize: num('--pmsg-size', a['pmsg-size']),
    ecc: num('--ecc', a.ecc),
    compress: a.compress,
  };
  const s = mergeSettings({ ...DEFAULT_REGION }, json, cmd, flags);
  // Refuse what the kernel would refuse before booting anything.
  buildConfig(s);
  const words: string[] = [];
  for (const [field, word] of WORDS) {
    const v = s[field];
    // Addresses and sizes in hex as people write them; counts and flags in decimal.
    const hexed = word.endsWith('_address') || word.endsWith('_size');
    if (typeof v === 'number') words.push(`${word}=${hexed && v >= 0 ? `0x${v.toString(16)}` : v}`);
  }
  if (s.compress !== undefined) words.push(`pstore.compress=${s.compress}`);
  if (a['kernel-version'] !== undefined || s.kernelVersion !== undefined) notes.push('--kernel-version is ignored by run: the booted kernel\'s release is used');
  if (a.cpus !== undefined || s.cpus !== undefined) notes.push('--cpus is ignored by run: the guest has one CPU');
  // The rest of --cmdline goes to the guest kernel as given.
  const extra = a.cmdline === undefined ? [] : splitCmdline(a.cmdline).filter((w) => !/^(ramoops|pstore)\./.test(w));
  return { ramoops: words.join(' '), extra, notes };
}

/**
 * One line per finished phase; on a terminal, also a line that counts the running phase's
 * seconds, so a 20 s TCG boot does not look like a hang.
 */
function progressPrinter(tty: boolean): { onProgress: (p: Progress) => void; log: (line: string) => void; done: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let started = 0;
  let label = '';
  const where = (p: Progress): string => (p.cycle === undefined ? '' : `cycle ${p.cycle}/${p.cycles} `);
  const draw = (): void => {
    process.stderr.write(`\r\x1b[K${label} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
  const stop = (): void => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    if (tty) process.stderr.write('\r\x1b[K');
  };
  return {
    onProgress: (p) => {
      if (p.state === 'start') {
        if (!tty) return;
        label = `ramoops run: ${where(p)}${p.phase}`;
        started = Date.now();
        draw();
        timer ??= setInterval(draw, 200);
        timer.unref();
        return;
      }
      stop();
      process.stderr.write(`ramoops run: ${where(p)}${p.phase} ${(p.seconds ?? 0).toFixed(2)} s${p.detail === undefined ? '' : ` (${p.detail})`}\n`);
    },
    // Other messages must not run into the counting line: clear it, print, draw it again.
    log: (line) => {
      if (tty) process.stderr.write('\r\x1b[K');
      process.stderr.write(`${line}\n`);
      if (timer !== undefined) draw();
    },
    done: stop,
  };
}

/** `ramoops run`; exit codes are the report's (0 pass, 1 mismatch, 2 fault), 130/143 when interrupted. */
export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'boot a QEMU guest, crash it, parse its RAM and prove the parse against its /sys/fs/pstore',
  builder: (y: Argv) =>
    withConfigOptions(
      y
        .option('kernel', { type: 'string', default: 'debian', describe: "debian (Debian 12's stock kernel), debian-6.12, or a bzImage path" })
        .option('modules', { type: 'string', describe: 'modules for a bzImage: a folder holding lib/modules/<release> (or that folder)' })
        .option('crash', { type: 'string', default: 'sysrq', describe: 'sysrq (echo c > /proc/sysrq-trigger) or any shell command the guest runs to crash' })
        .option('cycles', { type: 'number', default: 1, describe: 'crash, capture, warm reboot and compare this many times in one boot chain' })
        .option('out', { type: 'string', describe: 'artifacts folder (serial log, region images, both sides\' files, report.json, diff.txt); default: a fresh temp folder' })
        .option('json', { type: 'boolean', default: false, describe: 'print the JSON report instead of the verdict' })
        .option('junit', { type: 'string', describe: 'also write JUnit XML here' })
        .option('accel', { type: 'string', choices: ['tcg', 'kvm'], default: 'tcg', describe: 'QEMU accelerator' })
        .option('memory', { type: 'string', default: '512M', describe: 'guest RAM' })
        .option('timeout', { type: 'number', describe: 'give up after this many seconds in all (default 15 min + 2 min per cycle)' })
        .epilog(
          `Without region flags the run uses ramoops.mem_address=0x${DEFAULT_REGION.memAddress.toString(16)} ramoops.mem_size=0x${DEFAULT_REGION.memSize.toString(16)} ramoops.record_size=0x${DEFAULT_REGION.recordSize.toString(16)} (mid-RAM: firmware and the -kernel loader write the top and bottom).\n` +
            'Exit codes: 0 every file matched in every cycle; 1 a mismatch (see diff.txt); 2 harness fault (no boot, no panic, SSH refused, QEMU died, timeout, bad options); 130/143 interrupted.',
        ),
    ) as unknown as Argv<RunArgs>,
  handler: async (a) => {
    const { ramoops, extra, notes } = runCmdline(a);
    if (!Number.isInteger(a.cycles) || a.cycles < 1) throw new Error(`--cycles must be a positive integer, got ${a.cycles}`);
    if (a.timeout !== undefined && !(a.timeout > 0)) throw new Error(`--timeout must be a positive number of seconds, got ${a.timeout}`);
    const memoryBytes = parseSize('--memory', a.memory);
    const out = a.out ?? mkdtempSync(path.join(os.tmpdir(), 'ramoops-run-'));
    for (const n of notes) process.stderr.write(`ramoops run: note: ${n}\n`);
    process.stderr.write(`ramoops run: artifacts in ${prepareOutDir(out)}\n`);
    const progress = progressPrinter(process.stderr.isTTY === true);
    let report: RunReport;
    try {
      report = await runCycles({
        kernel: a.kernel,
        modulesDir: a.modules,
        ramoopsCmdline: ramoops,
        extraCmdline: extra,
        crash: a.crash,
        cycles: a.cycles,
        outDir: out,
        accel: a.accel === 'kvm' ? 'kvm' : 'tcg',
        memoryBytes,
        timeoutMs: a.timeout === undefined ? undefined : a.timeout * 1000,
        handleSignals: true,
        onProgress: progress.onProgress,
        log: (line) => progress.log(`ramoops run: ${line}`),
      });
    } catch (e) {
      progress.done();
      if (e instanceof RunAbortedError) {
        process.stderr.write(`ramoops run: ${e.message}; QEMU stopped, temp files removed; partial report in ${out}/report.json\n`);
        process.exitCode = e.exitCode;
        return;
      }
      throw e;
    }
    progress.done();
    if (a.junit !== undefined) {
      const file = path.resolve(a.junit);
      writeConfined(prepareOutDir(path.dirname(file)), path.basename(file), new TextEncoder().encode(junitXml(report)));
    }
    process.stdout.write(a.json ? reportJson(report) : verdictText(report));
    process.exitCode = report.exitCode;
  },
};
