// `ramoops run`: boot a QEMU guest, crash it, parse its RAM, warm-reboot it and prove the parse
// against the guest's own /sys/fs/pstore. The work is harness/cycle.ts; this file turns flags
// into its options, shows progress and writes the verdict.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { buildConfig, mergeSettings, parseSize, splitCmdline, type ConfigSettings } from '../../../src/index.js';
import type { RamoopsNodeSpec } from '../../../src/dt/ramoops-node.js';
import { ARM64_DEFAULT_NODE } from '../../qemu/virt-arm64.js';
import { prepareOutDir, writeConfined } from '../../io/artifacts.js';
import { renderRunHtml } from '../../report/html/run-page.js';
import { runCycles } from '../../cycle/run.js';
import { DEFAULT_REGION, type Progress, type RunOptions } from '../../cycle/options.js';
import { KERNEL_CMDLINE_FILE, QEMU_CMDLINE_FILE } from '../../cycle/command-lines.js';
import { describeRun, type RunDescription } from '../../cycle/dry-run.js';
import { RunAbortedError } from '../../proc/lifetime.js';
import { junitXml, reportJson, verdictText, type RunReport } from '../../report/run-report.js';
import { resolveSettings, withConfigOptions, type ConfigArgs } from '../config-options.js';
import { builtinScenarioNames, loadScenario } from '../../cycle/scenario.js';
import { checkInputFile, checkOutDir } from '../input.js';
import { DEBIAN_SPECS } from '../../kernel/obtain.js';
import { parseTimeout, timeoutHelp } from '../timeouts.js';

interface RunArgs extends ConfigArgs {
  arch: string;
  kernel: string;
  source?: string;
  'kernel-config'?: string;
  scenario?: string;
  selftests: boolean;
  share?: string;
  modules?: string;
  crash: string;
  cycles: number;
  out?: string;
  json: boolean;
  junit?: string;
  accel: string;
  'boot-path': string;
  memory: string;
  timeout?: string;
  'dry-run': boolean;
  verbose?: boolean;
  quiet?: boolean;
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
  // What the kernel would reject or ignore (a value it cannot parse keeps its default) is said.
  const resolved = resolveSettings(a);
  const notes: string[] = resolved.warnings.map((w) => w.message);
  // The run's own region is the lowest layer: JSON < --cmdline < flags override it.
  const s = mergeSettings({ ...DEFAULT_REGION }, resolved.settings);
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
  if (a['kernel-version'] !== undefined || s.kernelVersion !== undefined) notes.push("--kernel-version is ignored by run: the booted kernel's release is used");
  // The rest of --cmdline goes to the guest kernel as given.
  const extra = a.cmdline === undefined ? [] : splitCmdline(a.cmdline).filter((w) => !/^(ramoops|pstore)\./.test(w));
  return { ramoops: words.join(' '), extra, notes };
}

/**
 * The arm64 guest's ramoops node from the same flags, merged as defaults < JSON < --cmdline <
 * flags, where the defaults are ARM64_DEFAULT_NODE. Each setting becomes the DT property the
 * kernel reads (ramoops_parse_dt): --ecc is `ecc-size` taken literally (no 1 -> 16 as for the
 * module parameter), per-CPU ftrace is `flags` bit 0. pstore.* words stay on the command line.
 */
export function runDtNode(a: ConfigArgs): { node: RamoopsNodeSpec; pstore: string; extra: string[]; notes: string[] } {
  const resolved = resolveSettings(a);
  const notes: string[] = resolved.warnings.map((w) => w.message);
  const d = ARM64_DEFAULT_NODE;
  const defaults: ConfigSettings = {
    memAddress: d.address,
    memSize: d.size,
    recordSize: d.recordSize,
    consoleSize: d.consoleSize,
    ftraceSize: d.ftraceSize,
    pmsgSize: d.pmsgSize,
  };
  const s = mergeSettings(defaults, resolved.settings);
  // Refuse what the kernel would refuse before booting anything (DT rules: ecc literal).
  buildConfig(s, 'dt');
  if (s.memAddress === undefined || s.memSize === undefined) throw new Error('the ramoops region needs an address and a size');
  const node: RamoopsNodeSpec = {
    address: s.memAddress,
    size: s.memSize,
    ...(s.recordSize === undefined ? {} : { recordSize: s.recordSize }),
    ...(s.consoleSize === undefined ? {} : { consoleSize: s.consoleSize }),
    ...(s.ftraceSize === undefined ? {} : { ftraceSize: s.ftraceSize }),
    ...(s.pmsgSize === undefined ? {} : { pmsgSize: s.pmsgSize }),
    ...(s.ecc === undefined ? {} : { eccSize: s.ecc }),
    ...(s.memType === undefined ? {} : { memType: s.memType }),
    ...(s.maxReason === undefined ? {} : { maxReason: s.maxReason }),
    ...(s.ftracePerCpu === undefined ? {} : { flags: s.ftracePerCpu ? 1 : 0 }),
  };
  if (s.dumpOops !== undefined) notes.push('dump_oops has no DT property: give max_reason instead (1 panic, 2 oops)');
  if (a['kernel-version'] !== undefined || s.kernelVersion !== undefined) notes.push("--kernel-version is ignored by run: the booted kernel's release is used");
  const pstore = s.compress === undefined ? '' : `pstore.compress=${s.compress}`;
  const extra = a.cmdline === undefined ? [] : splitCmdline(a.cmdline).filter((w) => !/^(ramoops|pstore)\./.test(w));
  return { node, pstore, extra, notes };
}

/** The kernel spec runCycles takes: --kernel, or `build:SOURCE:FRAGMENTS` from --source/--kernel-config. */
export function kernelSpecOf(a: { kernel: string; source?: string; 'kernel-config'?: string }): string {
  if (a.source === undefined) {
    if (a['kernel-config'] !== undefined) throw new Error('--kernel-config needs --source (the tree to build)');
    return a.kernel;
  }
  if (a.kernel !== 'debian') throw new Error('give --kernel or --source, not both');
  if (a.source.includes(':')) throw new Error(`--source must not contain ':' (got ${a.source})`);
  return `build:${a.source}${a['kernel-config'] === undefined ? '' : `:${a['kernel-config']}`}`;
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

/** The options of runCycles from the flags (all checked here, before anything starts), and notes about them. */
function runOptionsOf(a: RunArgs): { options: Omit<RunOptions, 'outDir'>; notes: readonly string[] } {
  const dt = a.arch === 'arm64' ? runDtNode(a) : undefined;
  const { ramoops, extra, notes } = dt === undefined ? runCmdline(a) : { ramoops: dt.pstore, extra: dt.extra, notes: dt.notes };
  if (!Number.isInteger(a.cycles) || a.cycles < 1) throw new Error(`--cycles must be a positive integer, got ${a.cycles}`);
  const timeout = parseTimeout(a.timeout);
  const memoryBytes = parseSize('--memory', a.memory);
  if (a.selftests && a.scenario !== undefined && a.scenario !== 'selftests')
    throw new Error('give --selftests or --scenario, not both (--selftests is --scenario selftests)');
  const scenarioName = a.selftests ? 'selftests' : a.scenario;
  const scenario = scenarioName === undefined ? undefined : loadScenario(scenarioName);
  if (scenario !== undefined && a.crash !== 'sysrq') throw new Error('give --scenario or --crash, not both (a scenario names its own crash)');
  const kernelSpec = kernelSpecOf(a);
  // A kernel file is checked now, not after the guest image is built.
  if (!(DEBIAN_SPECS as readonly string[]).includes(kernelSpec) && !kernelSpec.startsWith('build:')) checkInputFile('--kernel', kernelSpec);
  const cpus = a.cpus ?? resolveSettings(a).settings.cpus;
  if (cpus !== undefined && !(Number.isInteger(cpus) && cpus >= 1 && cpus <= 64)) throw new Error(`--cpus must be an integer 1..64, got ${cpus}`);
  const options: Omit<RunOptions, 'outDir'> = {
    ...(dt === undefined ? {} : { arch: 'arm64' as const, ramoopsNode: dt.node }),
    kernel: kernelSpec,
    modulesDir: a.modules,
    ramoopsCmdline: ramoops,
    extraCmdline: extra,
    crash: a.crash,
    ...(scenario === undefined ? {} : { scenario }),
    ...(a.share === undefined ? {} : { share: path.resolve(a.share) }),
    ...(cpus === undefined ? {} : { cpus }),
    cycles: a.cycles,
    accel: a.accel === 'kvm' || a.accel === 'tcg' ? a.accel : 'auto',
    bootPath: a['boot-path'] === 'pvh' || a['boot-path'] === 'bzimage' ? a['boot-path'] : 'auto',
    memoryBytes,
    timeoutMs: timeout.totalMs,
    timeouts: timeout.phases,
  };
  return { options, notes };
}

/** What --dry-run prints: the command lines on stdout (or JSON), then what is only known at run time. */
function printDryRun(d: RunDescription, notes: readonly string[], json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ dryRun: true, ...d, notes: [...notes, ...d.notes] }, null, 2) + '\n');
    return;
  }
  process.stdout.write(
    [
      `kernel: ${d.kernel} (boot ${d.bootPath.path}: ${d.bootPath.reason})`,
      `accel: ${d.accel.chosen} (${d.accel.reason})`,
      `artifacts: ${d.outDir}`,
      'kernel command line:',
      `  ${d.kernelCmdline}`,
      'QEMU command line:',
      `  ${d.qemuCmdline}`,
      ...[...notes, ...d.notes].map((n) => `note: ${n}`),
      'dry run: nothing started',
    ].join('\n') + '\n',
  );
}

/** `ramoops run`; exit codes are the report's (0 pass, 1 mismatch, 2 fault), 130/143 when interrupted. */
export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'boot a QEMU guest, crash it, parse its RAM and prove the parse against its /sys/fs/pstore',
  builder: (y: Argv) =>
    withConfigOptions(
      y
        .option('arch', {
          type: 'string',
          choices: ['x86_64', 'arm64'],
          default: 'x86_64',
          describe: 'x86_64: q35, ramoops by module parameters; arm64: virt (cortex-a57), ramoops by a /reserved-memory node in the device tree',
        })
        .option('kernel', {
          type: 'string',
          default: 'debian',
          describe: "debian (Debian 12's stock kernel for --arch), debian-6.12 (x86_64), or a bzImage (x86_64) / Image (arm64) path",
        })
        .option('modules', { type: 'string', describe: 'modules for a kernel path: a folder holding lib/modules/<release> (or, x86_64, that folder)' })
        .option('source', {
          type: 'string',
          describe: 'build the kernel first: debian-6.1, debian-6.12 or a kernel tree (as `ramoops kernel build --source`); replaces --kernel',
        })
        .option('kernel-config', { type: 'string', describe: 'with --source: kernel-configs fragments, comma-separated (default base,pstore-full)' })
        .option('crash', { type: 'string', default: 'sysrq', describe: 'sysrq (echo c > /proc/sysrq-trigger) or any shell command the guest runs to crash' })
        .option('scenario', {
          type: 'string',
          describe: `a scenario instead of --crash: a built-in name (${builtinScenarioNames().join(', ')}) or a JSON file (format: guest/scenarios/README.md)`,
        })
        .option('selftests', {
          type: 'boolean',
          default: false,
          describe:
            "run the booted kernel's own pstore selftests (tools/testing/selftests/pstore) through the cycle and report their TAP beside the checks: the same as --scenario selftests",
        })
        .option('share', {
          type: 'string',
          describe: 'a host folder the guest mounts on /rh-share at every boot (virtio-9p); default: share/ in the artifacts for --selftests, else none',
        })
        .option('cycles', { type: 'number', default: 1, describe: 'crash, capture, warm reboot and compare this many times in one boot chain' })
        .option('out', {
          type: 'string',
          describe: "artifacts folder (serial log, region images, both sides' files, report.json, diff.txt); default: a fresh temp folder",
        })
        .option('json', { type: 'boolean', default: false, describe: 'print the JSON report instead of the verdict' })
        .option('junit', { type: 'string', describe: 'also write JUnit XML here' })
        .option('accel', {
          type: 'string',
          choices: ['auto', 'tcg', 'kvm'],
          default: 'auto',
          describe: 'QEMU accelerator; auto: KVM when /dev/kvm opens and a probe QEMU runs with it, else TCG (report.json says which and why)',
        })
        .option('boot-path', {
          type: 'string',
          choices: ['auto', 'pvh', 'bzimage'],
          default: 'auto',
          describe:
            'x86_64: boot the uncompressed vmlinux by its PVH entry with qboot (auto: when the kernel has one; several times faster under TCG) or the bzImage through SeaBIOS',
        })
        .option('memory', { type: 'string', default: '512M', describe: 'guest RAM' })
        .option('timeout', { type: 'string', describe: timeoutHelp('run (default 15 min + 2 min per cycle)') })
        .option('dry-run', {
          type: 'boolean',
          default: false,
          describe: 'check the options, print the kernel and QEMU command lines the run would use, start nothing (exit 0)',
        })
        .option('verbose', { type: 'boolean', describe: 'also print the kernel and QEMU command lines as the run starts them' })
        .option('quiet', { type: 'boolean', describe: 'print only the verdict and errors (no progress, notes or log lines)' })
        .conflicts('verbose', 'quiet')
        .epilog(
          `Without region flags the run uses ramoops.mem_address=0x${DEFAULT_REGION.memAddress.toString(16)} ramoops.mem_size=0x${DEFAULT_REGION.memSize.toString(16)} ramoops.record_size=0x${DEFAULT_REGION.recordSize.toString(16)} (mid-RAM: firmware and the -kernel loader write the top and bottom).\n` +
            `--arch arm64: the configuration flags (or --cmdline ramoops.* words, or --config JSON) become the properties of /reserved-memory/ramoops@ADDR in the DTB QEMU's virt machine generates (reg, record-size, console-size, ftrace-size, pmsg-size, ecc-size, mem-type, max-reason, flags, no-map), and the host parses by the DT rules: a size absent from the node is 0, --ecc N is ecc-size N literally (1 is 1, not 16). ` +
            `Defaults: reg 0x${ARM64_DEFAULT_NODE.size.toString(16)}@0x${ARM64_DEFAULT_NODE.address.toString(16)} (RAM starts at 0x40000000; QEMU loads the initrd at RAM base + min(RAM/2, 128 MiB), 0x48000000 in a 512M guest, where the kernel refuses to reserve a region), record-size 0x${(ARM64_DEFAULT_NODE.recordSize ?? 0).toString(16)}, console-size 0x${(ARM64_DEFAULT_NODE.consoleSize ?? 0).toString(16)}, pmsg-size 0x${(ARM64_DEFAULT_NODE.pmsgSize ?? 0).toString(16)}, no ftrace zone, ECC off. The booted DTB is kept as guest.dtb in the artifacts. Debian's arm64 kernel has no pvpanic driver: its panics are seen on the console.\n` +
            `The artifacts also hold ${QEMU_CMDLINE_FILE} and ${KERNEL_CMDLINE_FILE}: the exact command lines, key words masked as in report.json.\n` +
            'Exit codes: 0 every file matched in every cycle (and every scenario check held); 1 a mismatch or a failed check (see diff.txt); 2 harness fault (no boot, no panic, SSH refused, QEMU died, timeout, bad options); 3 skipped: the guest lacks what --scenario requires; 130/143 interrupted.',
        ),
    ),
  handler: async (a) => {
    if (a.out !== undefined) checkOutDir('--out', a.out);
    const { options, notes } = runOptionsOf(a);
    if (a['dry-run']) {
      printDryRun(await describeRun({ ...options, outDir: a.out ?? path.join(os.tmpdir(), 'ramoops-run-<random>') }), notes, a.json);
      return;
    }
    const say = (line: string): void => {
      if (a.quiet !== true) process.stderr.write(`${line}\n`);
    };
    const out = a.out ?? mkdtempSync(path.join(os.tmpdir(), 'ramoops-run-'));
    for (const n of notes) say(`ramoops run: note: ${n}`);
    say(`ramoops run: artifacts in ${prepareOutDir(out)}`);
    const progress = a.quiet === true ? { onProgress: () => {}, log: () => {}, done: () => {} } : progressPrinter(process.stderr.isTTY === true);
    let report: RunReport;
    try {
      report = await runCycles({
        ...options,
        outDir: out,
        handleSignals: true,
        onProgress: progress.onProgress,
        log: (line) => progress.log(`ramoops run: ${line}`),
        ...(a.verbose === true
          ? {
              onCommandLine: (kind: 'kernel' | 'qemu', line: string) =>
                progress.log(`ramoops run: ${kind === 'qemu' ? 'QEMU' : 'kernel'} command line: ${line}`),
            }
          : {}),
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
    try {
      writeConfined(prepareOutDir(out), 'report.html', new TextEncoder().encode(renderRunHtml(report)));
    } catch (e) {
      // A full --out must not hide the verdict below (the fault suite's full tmpfs).
      process.stderr.write(`ramoops run: cannot write report.html in ${out}: ${e instanceof Error ? e.message : String(e)}\n`);
    }
    if (a.junit !== undefined) {
      const file = path.resolve(a.junit);
      writeConfined(prepareOutDir(path.dirname(file)), path.basename(file), new TextEncoder().encode(junitXml(report)));
    }
    process.stdout.write(a.json ? reportJson(report) : verdictText(report));
    process.exitCode = report.exitCode;
  },
};
