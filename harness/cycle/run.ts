// Verified crash cycles: the harness's reason to exist. One QEMU process per run:
//
//   setup   kernel + guest image (cached), the run's SSH keys, the guest command line
//   boot    QEMU with guest RAM in a file and the ramoops region reserved (memmap=) -> serial
//           READY (+ the guest's host key, pinned) -> SSH login
//   per cycle:
//   crash   the scenario over SSH -> the panic (QMP GUEST_PANICKED or the console line) -> the
//           guest's own reboot (panic=-1) parks QEMU (SHUTDOWN + STOP); a kernel that hangs
//           instead is stopped after a timeout: ramoops wrote its record before trying to reset
//   capture the region read from the RAM file (pmemsave cross-check once), optionally
//           corrupted on purpose, parsed with src/ for the obtained kernel's release
//   reboot  set-action reboot=reset, system_reset, cont: a warm reboot with RAM kept -> READY
//   ssh     login with the new boot's host key -> /sys/fs/pstore with stat size and mtime
//   compare host parse vs guest files, byte for byte
//
// arm64 (`arch: 'arm64'`) runs the same cycle on QEMU's virt machine with Debian's arm64
// kernel, ramoops configured by a /reserved-memory node in the DTB instead of module
// parameters (harness/arm64.ts); the host parses with the configuration read back from that DTB.
//
// Faults (no boot, no panic, SSH refused, QEMU dying, the run's timeout) become a report with
// the phase and log excerpts, not an exception; only Ctrl-C/SIGTERM propagate (the CLI exits
// 130/143). Whatever happens, the Lifetime kills QEMU and removes its temp folder.

import { harvestSession } from '../harvest/harvest.js';
import { readingKernelOffset } from './kaslr.js';
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  configFromCmdline,
  extractRegion,
  settingsFromCmdline,
  parseSystemMap,
  type Extraction,
  type Layout,
  type PstoreFile as HostFile,
  type RamoopsConfig,
  type SymbolTable,
} from '../../src/index.js';
import type { RamoopsNodeSpec } from '../../src/dt/ramoops-node.js';
import {
  ARM64_DEFAULT_NODE,
  arm64GuestCmdline,
  dumpVirtDtb,
  nodeProperties,
  ramoopsDtb,
  reservationFailureText,
  RESERVE_FAILED_LINE,
  VIRT_CPU,
  virtInitrdRange,
} from '../qemu/virt-arm64.js';
import { prepareOutDir, UnsafeNameError, writeConfined } from '../io/artifacts.js';
import { compareFiles } from './compare.js';
import { HarnessError } from '../errors.js';
import { buildGuestImage } from '../guest/image.js';
import { obtainArm64Kernel } from '../kernel/arm64.js';
import { obtainKernel } from '../kernel/obtain.js';
import type { KernelArtifacts } from '../kernel/artifacts.js';
import { RunAbortedError, withLifetime, type Lifetime } from '../proc/lifetime.js';
import { machineFor, type Accel, type GuestArch } from '../qemu/args.js';
import { physToFileOffset } from '../qemu/machines.js';
import { QemuProcess } from '../qemu/process.js';
import type { LineMark } from '../qemu/serial.js';
import type { EventMark } from '../qmp/client.js';
import {
  diffText,
  overallVerdict,
  reportJson,
  type CorruptedByte,
  type CycleReport,
  type Fault,
  type FileSummary,
  type Phase,
  type PhaseTimes,
  type RunReport,
} from '../report/run-report.js';
import { crashOnlyScenario, judgeExpectations, overrideWords, splitScenarioCmdline, type Check, type CrashStep, type Scenario } from './scenario.js';
import { KselftestRun, SHARE_TAG, selftestSourceTree } from './selftests.js';
import { generateRunKeys } from '../ssh/keys.js';
import { HOSTKEY_LINE, HostKeyPin, SshSession, type PstoreFile as GuestFile } from '../ssh/session.js';

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
  readonly accel?: Accel;
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
  /** Messages from fetching the kernel and building the image. */
  readonly log?: (line: string) => void;
  readonly cacheDir?: string;
  /** Where QEMU's temp folder (RAM file) goes; default /dev/shm when writable. */
  readonly tempParent?: string;
}

const MiB = 1024 * 1024;
/** The serial line guest/init prints when SSH is up: the end of a boot. */
export const READY_LINE = /RAMOOPS-HARNESS-READY/;
const GUEST_ERROR_LINE = /RAMOOPS-HARNESS-ERROR.*/;
const PANIC_LINE = /Kernel panic - not syncing/;
/** struct persistent_ram_buffer's header (sig, start, size) before a zone's data. */
const ZONE_HEADER = 12;
const EXCERPT_LINES = 25;

const DEFAULT_TIMEOUTS: PhaseTimeouts = { boot: 180_000, panic: 60_000, reset: 30_000, ssh: 60_000 };

/** Boots a guest, crashes it `cycles` times and checks each capture against the guest's /sys/fs/pstore. */
export async function runCycles(options: RunOptions): Promise<RunReport> {
  const startedAt = new Date();
  const t0 = performance.now();
  const out = prepareOutDir(options.outDir);
  const cyclesWanted = options.cycles ?? 1;
  if (!Number.isInteger(cyclesWanted) || cyclesWanted < 1) throw new RangeError(`cycles must be a positive integer, got ${cyclesWanted}`);
  const scenario = options.scenario ?? crashOnlyScenario(options.crash === undefined || options.crash === 'sysrq' ? SYSRQ_CRASH : options.crash);
  const panicStep = scenario.crash[scenario.crash.length - 1];
  const crashCommand = panicStep?.run ?? SYSRQ_CRASH;
  const scenarioWords = splitScenarioCmdline(scenario);
  // The scenario's ramoops./pstore. words override the run's (a small record_size, a compressor).
  const ramoopsCmdline = overrideWords(options.ramoopsCmdline, scenarioWords.ramoops);
  const share = options.share ?? (scenario.kselftest === undefined ? undefined : path.join(out, 'share'));
  const extraCmdline = [...(options.extraCmdline ?? []), ...scenarioWords.other, ...(share === undefined ? [] : [`rh.share=${SHARE_TAG}`])];
  const cpus = Math.max(options.cpus ?? 1, scenario.cpus ?? 1);
  const timeouts: PhaseTimeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const memoryBytes = options.memoryBytes ?? 512 * MiB;
  const accel = options.accel ?? 'tcg';
  const arch = options.arch ?? 'x86_64';
  const machine = machineFor(arch);
  const node = arch === 'arm64' ? (options.ramoopsNode ?? ARM64_DEFAULT_NODE) : undefined;
  const clock = new PhaseClock(cyclesWanted, options.onProgress);
  const cycles: CycleReport[] = [];
  const runTimes: Partial<Record<Phase, number>> = {};
  const guestErrors: string[] = [];
  const state: {
    kernel: KernelArtifacts | undefined;
    qemu: QemuProcess | undefined;
    cmdline: string;
    nodeProps: Readonly<Record<string, number | true>> | undefined;
    skipped: string | undefined;
    kselftests: KselftestRun | undefined;
  } = {
    kernel: undefined,
    qemu: undefined,
    cmdline: '',
    nodeProps: undefined,
    skipped: undefined,
    kselftests: undefined,
  };

  const finish = (fault: Fault | undefined): RunReport => {
    const selftests = state.kselftests?.report(clock.cycle ?? cycles.length, state.skipped);
    const report: RunReport = {
      tool: 'ramoops-harness run',
      ...overallVerdict(cycles, fault, state.skipped),
      startedAt: startedAt.toISOString(),
      seconds: round((performance.now() - t0) / 1000),
      kernel: { spec: options.kernel ?? 'debian', release: state.kernel?.release, path: state.kernel?.kernelPath },
      qemu: { accel, memoryBytes, machine, ...(cpus > 1 ? { cpus } : {}) },
      ...(arch === 'arm64' ? { arch, ramoopsNode: state.nodeProps } : {}),
      cmdline: state.cmdline.replace(/rh\.key=\S+/, 'rh.key=<run key>'),
      crash: crashCommand,
      scenario: { name: scenario.name, source: scenario.source },
      skipped: state.skipped,
      cyclesRequested: cyclesWanted,
      timings: runTimes,
      cycles,
      guestErrors,
      fault,
      ...(selftests === undefined ? {} : { selftests }),
      outDir: out,
    };
    // Synchronous on purpose: after Ctrl-C the process exits on the next macrotask.
    writeConfined(out, 'report.json', new TextEncoder().encode(reportJson(report)));
    if (selftests !== undefined) writeConfined(out, 'selftests.tap', new TextEncoder().encode(selftests.tap));
    if (report.verdict === 'mismatch') writeConfined(out, 'diff.txt', new TextEncoder().encode(diffText(report)));
    return report;
  };

  try {
    await withLifetime(
      { handleSignals: options.handleSignals === true, timeoutMs: options.timeoutMs ?? (15 + 2 * cyclesWanted) * 60_000 },
      async (life) => {
        const outer = options.signal;
        if (outer !== undefined) {
          const stop = (): void => life.abort(outer.reason);
          if (outer.aborted) stop();
          outer.addEventListener('abort', stop, { once: true });
          // A matrix passes one signal to all its cells: leave no listener behind per cell.
          life.defer('outer signal listener', () => outer.removeEventListener('abort', stop));
        }
        // ---- setup
        clock.begin('setup');
        const kernelOpts = { modulesDir: options.modulesDir, signal: life.signal, log: options.log, cacheDir: options.cacheDir };
        const kernel = arch === 'arm64' ? await obtainArm64Kernel(options.kernel ?? 'debian', kernelOpts) : await obtainKernel(options.kernel ?? 'debian', kernelOpts);
        state.kernel = kernel;
        const image = await buildGuestImage(kernel, { log: options.log, cacheDir: options.cacheDir, arch, signal: life.signal });
        const shareDir = share === undefined ? undefined : prepareOutDir(share);
        if (scenario.kselftest !== undefined && shareDir !== undefined) {
          // The booted kernel's own selftest scripts, run from the share (their state outlives the reboot).
          const tree = await selftestSourceTree(options.kernel ?? 'debian', kernel.release, { cacheDir: options.cacheDir, signal: life.signal, log: options.log });
          state.kselftests = await KselftestRun.prepare(scenario.kselftest, tree, shareDir);
        }
        const keys = generateRunKeys();
        const pin = new HostKeyPin();
        let config: RamoopsConfig;
        let append: string;
        let dtb: string | undefined;
        if (node !== undefined) {
          if (/(^|\s)ramoops\./.test(ramoopsCmdline)) {
            // With mem_size set the module would register a second, parameter-made device.
            throw new HarnessError('boot', 'arm64 runs configure ramoops by the device tree: give the node, not ramoops.* words');
          }
          // The host parses with what the kernel will read from the DTB it boots with.
          // The dumped tree must have the guest's CPU nodes: -dtb replaces what QEMU would generate for -smp.
          const dt = ramoopsDtb(await dumpVirtDtb({ memoryBytes, accel, cpu: VIRT_CPU, ...(cpus > 1 ? { cpus } : {}), signal: life.signal, tempParent: options.tempParent }), node, kernel.release);
          const compress = settingsFromCmdline(ramoopsCmdline).settings.compress;
          config = compress === undefined ? dt.config : { ...dt.config, compress };
          state.nodeProps = nodeProperties(dt.node, node);
          writeConfined(out, 'guest.dtb', dt.dtb);
          dtb = path.join(out, 'guest.dtb');
          append = arm64GuestCmdline(ramoopsCmdline, extraCmdline, keys.cmdlineWord);
        } else {
          // The host parses with exactly the words the guest gets, for the kernel that runs.
          config = configFromCmdline(ramoopsCmdline, kernel.release);
          append = guestCmdline(config, ramoopsCmdline, extraCmdline, keys.cmdlineWord);
        }
        // Per-CPU ftrace zones follow the writing kernel's possible CPUs: the guest's -smp.
        if (cpus > 1) config = { ...config, cpus };
        // Fail before booting when the region is not plain RAM of this guest.
        physToFileOffset(machine, memoryBytes, config.memAddress, config.memSize);
        state.cmdline = append;
        clock.end(runTimes, `kernel ${kernel.release}`);

        // ---- boot
        clock.begin('boot');
        const qemu = await QemuProcess.start({
          machine,
          accel,
          memoryBytes,
          ...(cpus > 1 ? { cpus } : {}),
          ...(arch === 'arm64' ? { cpu: VIRT_CPU, dtb } : {}),
          kernel: kernel.kernelPath,
          initrd: image,
          append,
          ...(shareDir === undefined ? {} : { share: { path: shareDir, tag: SHARE_TAG } }),
          lifetime: life,
          signal: life.signal,
          artifactsDir: out,
          tempParent: options.tempParent,
        });
        state.qemu = qemu;
        const bootErrors: string[] = [];
        qemu.serial.onLine((line) => {
          const m = GUEST_ERROR_LINE.exec(line);
          if (m === null) return;
          guestErrors.push(m[0]);
          bootErrors.push(m[0]);
        });
        const initrdBytes = (await stat(image)).size;
        const ready = async (since: LineMark, qmark: EventMark): Promise<void> => {
          let bootFault: HarnessError | undefined;
          // arm64: once the kernel has refused the node, READY gets 20 s, not the boot timeout: the
          // guest can hang in ramoops after that (seen: an oops in modprobe's module_enable_ro).
          const stop = new AbortController();
          const sig = AbortSignal.any([life.signal, stop.signal]);
          const refusedEarly = node === undefined ? undefined : qemu.serial.waitFor(RESERVE_FAILED_LINE, { since, signal: sig }).then(() => sleep(20_000), () => new Promise<void>(() => {}));
          try {
            const r = waitReady(qemu, pin, since, qmark, timeouts.boot, sig);
            r.catch(() => {});
            await (refusedEarly === undefined ? r : Promise.race([r, refusedEarly]));
          } catch (e) {
            if (!(e instanceof HarnessError)) throw e;
            bootFault = e;
          } finally {
            stop.abort();
          }
          if (node !== undefined) {
            // A DT region the kernel could not reserve still probes, then loses its records (or
            // oopses the guest): name that cause before whatever followed from it.
            const refused = await qemu.serial.waitFor(RESERVE_FAILED_LINE, { since, timeout: 1, stage: 'boot' }).catch(() => undefined);
            if (refused !== undefined) {
              throw new HarnessError('boot', reservationFailureText(refused.line, node, virtInitrdRange(memoryBytes, initrdBytes)), { cause: bootFault });
            }
          }
          if (bootFault !== undefined) throw bootFault;
          // A guest without ramoops or pstore cannot show anything: say so instead of "missing".
          // Matched after the line's own RAMOOPS-HARNESS-ERROR prefix, which names ramoops too.
          const fatal = bootErrors.filter((l) => /ramoops|pstore/i.test(l.replace(/^RAMOOPS-HARNESS-ERROR\s*/, '')));
          bootErrors.length = 0;
          if (fatal.length > 0) throw new HarnessError('boot', `the guest could not set up pstore: ${fatal.join(' / ')}`);
        };
        const login = (): Promise<SshSession> => connectSsh(qemu, keys.privateKey, pin, timeouts.ssh, life);
        await ready(0, 0);
        clock.end(runTimes);
        clock.begin('ssh');
        let ssh = await login();
        clock.end(runTimes);
        // A guest without what the scenario needs is skipped, not failed: nothing to crash.
        const missing = await missingRequirements(ssh, scenario, timeouts.ssh, life.signal);
        if (missing.length > 0) {
          state.skipped = `the guest lacks ${missing.join(', ')}`;
          await ssh.close();
          await qemu.qmp.quit({ timeout: 5000 }).catch(() => {});
          await qemu.dispose();
          return;
        }

        let symbols: SymbolTable | undefined;
        const symbolsFor = async (x: Extraction): Promise<SymbolTable | undefined> => {
          // Only ftrace records need names; reading System.map costs a second otherwise wasted.
          if (!x.files.some((f) => f.type === 'ftrace') || kernel.systemMapPath === undefined) return undefined;
          symbols ??= parseSystemMap(await readFile(kernel.systemMapPath, 'utf8'));
          return symbols;
        };

        for (let n = 1; n <= cyclesWanted; n++) {
          clock.cycle = n;
          const times: Partial<Record<Phase, number>> = {};

          // ---- crash
          clock.begin('crash');
          const checks: Check[] = [];
          for (const [i, cmd] of scenario.before.entries()) {
            checks.push(await guestCommandCheck(ssh, `before[${i}]`, cmd, out, `cycle${n}-before-${i}.log`, timeouts.ssh, life.signal));
          }
          for (const step of scenario.crash.slice(0, -1)) {
            for (let k = 0; k < step.repeat; k++) checks.push(await nonFatalStep(ssh, step, out, `cycle${n}-step-${checks.length}.log`, timeouts, life.signal));
          }
          const failedBefore = checks.find((c) => !c.ok);
          if (failedBefore !== undefined) throw new HarnessError('guest', `scenario ${scenario.name}: ${failedBefore.name} failed before the crash: ${failedBefore.detail}`);
          const qmark = qemu.qmp.mark();
          const smark = qemu.serial.mark();
          const panic = waitPanic(qemu, qmark, smark, timeouts.panic, crashCommand, life.signal);
          panic.catch(() => {});
          const accepted = await ssh.start(crashCommand, { timeout: timeouts.ssh }).then(
            () => undefined,
            (e: unknown) => e,
          );
          if (accepted !== undefined) {
            // The guest may have died before confirming the channel; a panic settles it.
            await Promise.race([panic, sleep(5000).then((): never => { throw accepted; })]);
          }
          const panicSeenBy = await panic;
          state.kselftests?.panicked(n);
          // The guest is dead: no SSH goodbye to wait for.
          ssh.destroy();
          const reset = await waitParked(qemu, qmark, timeouts.reset, life.signal);
          clock.end(times, `panic seen by ${panicSeenBy}, ${reset === 'guest-reset' ? 'guest reset' : 'no reset: guest stopped'}`);

          // ---- capture
          clock.begin('capture');
          let region = await qemu.readRam(config.memAddress, config.memSize);
          let pmemsave: CycleReport['pmemsave'] = 'not-checked';
          if (n === 1) {
            // Once per run: the RAM map (machines.ts) against QEMU's own view of guest memory.
            const viaQmp = path.join(qemu.tempDir, 'pmemsave.bin');
            await qemu.qmp.execute('pmemsave', { val: config.memAddress, size: config.memSize, filename: viaQmp }, { timeout: 30_000 });
            if (!(await readFile(viaQmp)).equals(region)) {
              throw new HarnessError('capture', `the RAM file and pmemsave disagree about the region at 0x${config.memAddress.toString(16)}`);
            }
            pmemsave = 'equal';
          }
          let corrupted: readonly CorruptedByte[] = [];
          if (options.corrupt !== undefined) {
            const before = extractRegion(region, config);
            writeConfined(out, `cycle${n}-region-before-corruption.bin`, region);
            corrupted = await corruptRam(qemu, before.layout, options.corrupt);
            // Both sides must judge the same bytes: the guest boots on them, the host reads them back.
            region = await qemu.readRam(config.memAddress, config.memSize);
          }
          writeConfined(out, `cycle${n}-region.bin`, region);
          let extraction = extractRegion(region, config);
          const syms = await symbolsFor(extraction);
          if (syms !== undefined) extraction = extractRegion(region, config, { symbols: syms });
          writeFiles(path.join(out, `cycle${n}-host`), extraction.files.map((f) => ({ name: f.name, bytes: f.bytes, mtime: f.mtime })));
          clock.end(times, `${extraction.files.length} file(s) parsed`);

          // ---- reboot
          clock.begin('reboot');
          const since = qemu.serial.mark();
          const rebootMark = qemu.qmp.mark();
          // The reset action must be in place before system_reset, or QEMU parks again.
          await qemu.guard(qemu.qmp.execute('set-action', { reboot: 'reset' }, { timeout: 5000 }), 'set-action');
          await qemu.guard(qemu.qmp.execute('system_reset', undefined, { timeout: 5000 }), 'system_reset');
          await qemu.guard(qemu.qmp.execute('cont', undefined, { timeout: 5000 }), 'cont');
          await ready(since, rebootMark);
          // The next crash must park QEMU again.
          await qemu.guard(qemu.qmp.execute('set-action', { reboot: 'shutdown' }, { timeout: 5000 }), 'set-action');
          clock.end(times);

          // ---- ssh
          clock.begin('ssh');
          ssh = await login();
          // The same code as `ramoops harvest` reads the guest's side (and archives it per cycle).
          if (syms !== undefined) {
            // The guest's ftrace file is named by the kernel reading it (this boot), with this
            // boot's KASLR offset: name the host's records the same way to compare them.
            const reading = await readingKernelOffset(ssh, syms, { signal: life.signal, timeout: timeouts.ssh });
            extraction = extractRegion(region, config, { symbols: syms, kaslrOffset: reading });
            writeFiles(path.join(out, `cycle${n}-host`), extraction.files.map((f) => ({ name: f.name, bytes: f.bytes, mtime: f.mtime })));
          }
          const harvest = await harvestSession(ssh, { outDir: path.join(out, `cycle${n}-harvest`), host: 'guest', commandTimeoutMs: timeouts.ssh, signal: life.signal });
          const guestFiles = harvest.files;
          // After the guest side is read: these may change /sys/fs/pstore (the selftests remove it).
          for (const [i, cmd] of scenario.after.entries()) {
            checks.push(await guestCommandCheck(ssh, `after[${i}]`, cmd, out, `cycle${n}-after-${i}.log`, timeouts.ssh, life.signal));
          }
          checks.push(...(state.kselftests?.cycleDone(n) ?? []));
          writeFiles(
            path.join(out, `cycle${n}-guest`),
            guestFiles.map((f) => ({ name: f.name, bytes: f.bytes, mtime: { seconds: f.mtime.seconds, nanoseconds: f.mtime.nsec } })),
          );
          clock.end(times, `${guestFiles.length} file(s) read`);

          // ---- compare
          clock.begin('compare');
          const comparison = compareFiles(extraction.files, guestFiles);
          const anyDmesg = [...extraction.files, ...guestFiles].some((f) => f.name.startsWith('dmesg-'));
          // A crash that left no record on either side "matches" vacuously; it is still a failed capture.
          const reason = anyDmesg ? undefined : 'the crash left no dmesg record on either side';
          checks.push(...judgeExpectations(scenario.expect, guestFiles));
          const verdict = comparison.matched && reason === undefined && checks.every((c) => c.ok) ? 'match' : 'mismatch';
          clock.end(times, verdict);
          cycles.push({
            cycle: n,
            verdict,
            reason,
            panicSeenBy,
            reset,
            pmemsave,
            corrupted,
            host: {
              files: extraction.files.map(hostSummary),
              decisions: extraction.decisions,
              warnings: extraction.warnings.map((w) => w.message),
            },
            guest: { files: guestFiles.map(guestSummary) },
            comparison,
            checks,
            timings: rounded(times),
          });
        }
        clock.cycle = undefined;
        await ssh.close();
        await qemu.qmp.quit({ timeout: 5000 }).catch(() => {});
        await qemu.dispose();
      },
    );
  } catch (e) {
    if (e instanceof RunAbortedError && e.abortCause !== 'timeout') {
      // Ctrl-C / SIGTERM: keep what was found, then let the CLI exit 130/143.
      finish(toFault(e, clock.phase, state.qemu));
      throw e;
    }
    return finish(toFault(e, clock.phase, state.qemu));
  }
  return finish(undefined);
}

/** The guest kernel's command line for a region: what every boot of a run (and the bench's plain boot) gets. */
export function guestCmdline(
  region: Pick<RamoopsConfig, 'memAddress' | 'memSize'>,
  ramoopsCmdline: string,
  extra: readonly string[],
  keyWord: string,
): string {
  return [
    // quiet loglevel=4: serial output is slow under TCG (the panic is printed at EMERG).
    // panic=-1: reboot at once after the panic; ramoops has written the record by then.
    'console=ttyS0',
    'quiet',
    'loglevel=4',
    'panic=-1',
    // Without the reservation the kernel may hand the region out before ramoops probes.
    `memmap=0x${region.memSize.toString(16)}$0x${region.memAddress.toString(16)}`,
    ramoopsCmdline.trim(),
    ...extra,
    keyWord,
  ]
    .filter((w) => w !== '')
    .join(' ');
}

/** Which phase the run is in and how long each took; feeds the progress display. */
class PhaseClock {
  phase: Phase = 'setup';
  cycle: number | undefined;
  private t = performance.now();

  constructor(
    private readonly cycles: number,
    private readonly onProgress: ((p: Progress) => void) | undefined,
  ) {}

  begin(phase: Phase): void {
    this.phase = phase;
    this.t = performance.now();
    this.onProgress?.({ phase, cycle: this.cycle, cycles: this.cycles, state: 'start' });
  }

  end(into: Partial<Record<Phase, number>>, detail?: string): void {
    const seconds = (performance.now() - this.t) / 1000;
    into[this.phase] = round((into[this.phase] ?? 0) + seconds);
    this.onProgress?.({ phase: this.phase, cycle: this.cycle, cycles: this.cycles, state: 'end', seconds, ...(detail === undefined ? {} : { detail }) });
  }
}

/**
 * Waits for READY on the serial console after `since`, failing fast when the guest panics or
 * resets instead (a kernel that cannot boot), then pins the host key announced before READY.
 */
async function waitReady(qemu: QemuProcess, pin: HostKeyPin, since: LineMark, qmark: EventMark, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const stop = new AbortController();
  const sig = AbortSignal.any([signal, stop.signal]);
  const died = new Promise<never>((_, reject) => {
    for (const name of ['GUEST_PANICKED', 'SHUTDOWN'] as const) {
      qemu.qmp.waitForEvent(name, { since: qmark, signal: sig }).then(
        () =>
          reject(
            new HarnessError(
              'boot',
              `the guest ${name === 'SHUTDOWN' ? 'reset' : 'panicked'} before it was ready; last serial lines:\n${qemu.serial.tail(EXCERPT_LINES).join('\n')}`,
            ),
          ),
        () => {},
      );
    }
  });
  died.catch(() => {});
  try {
    await Promise.race([qemu.waitForSerial(READY_LINE, { since, timeout: timeoutMs, signal, stage: 'boot' }), died]);
  } finally {
    stop.abort();
  }
  // The guest prints its host key before READY, so it is among the lines read already.
  const key = await qemu.serial.waitFor(HOSTKEY_LINE, { since, timeout: 1, stage: 'ssh' }).catch(() => undefined);
  if (key === undefined || !pin.expectFromLine(key.line)) {
    throw new HarnessError('ssh', 'the guest announced no SSH host key (RAMOOPS-HARNESS-HOSTKEY) before READY: dropbearkey failed?');
  }
}

/** Logs in with the run's key, accepting only the host key this boot announced. */
function connectSsh(qemu: QemuProcess, privateKey: string, pin: HostKeyPin, timeoutMs: number, life: Lifetime): Promise<SshSession> {
  const port = qemu.sshPort;
  if (port === undefined) return Promise.reject(new HarnessError('ssh', 'QEMU has no SSH port forward'));
  return qemu.guard(SshSession.connect({ port, privateKey, hostKey: pin, timeout: timeoutMs, signal: life.signal, lifetime: life }), 'an SSH login');
}

/**
 * Resolves with how the panic was noticed: the pvpanic event or the console's panic line,
 * whichever comes first. A reset without either is a fault (the command rebooted the guest
 * without crashing it), and so is silence until the timeout.
 */
async function waitPanic(
  qemu: QemuProcess,
  qmark: EventMark,
  smark: LineMark,
  timeoutMs: number,
  command: string,
  signal: AbortSignal,
): Promise<'qmp' | 'console'> {
  const stop = new AbortController();
  const sig = AbortSignal.any([signal, stop.signal]);
  try {
    const first = await Promise.any([
      qemu.waitForEvent('GUEST_PANICKED', { since: qmark, timeout: timeoutMs, signal: sig }).then(() => 'qmp' as const),
      qemu.waitForSerial(PANIC_LINE, { since: smark, timeout: timeoutMs, signal: sig, stage: 'guest' }).then(() => 'console' as const),
      qemu.waitForEvent('SHUTDOWN', { since: qmark, timeout: timeoutMs, signal: sig }).then(() => 'reset' as const),
    ]);
    if (first !== 'reset') return first;
    // The serial file can lag behind QMP: give the panic line a moment to arrive.
    const line = await qemu.serial.waitFor(PANIC_LINE, { since: smark, timeout: 2000, stage: 'guest' }).catch(() => undefined);
    if (line !== undefined) return 'console';
    throw new HarnessError('guest', `the guest reset without a panic after \`${command}\``);
  } catch (e) {
    if (!(e instanceof AggregateError)) throw e;
    if (signal.aborted) throw signal.reason;
    const died = e.errors.find((x: unknown) => x instanceof HarnessError && x.stage === 'qemu');
    if (died !== undefined) throw died;
    throw new HarnessError(
      'guest',
      `no panic within ${timeoutMs / 1000} s after \`${command}\` (no GUEST_PANICKED event, no "Kernel panic - not syncing" line)`,
    );
  } finally {
    stop.abort();
  }
}

/**
 * Waits for the guest's reboot to park QEMU (SHUTDOWN + STOP). A kernel that hangs instead of
 * resetting is stopped after the timeout: its record is already in RAM.
 */
async function waitParked(qemu: QemuProcess, qmark: EventMark, timeoutMs: number, signal: AbortSignal): Promise<'guest-reset' | 'timeout'> {
  const stop = new AbortController();
  const sig = AbortSignal.any([signal, stop.signal]);
  try {
    const r = await Promise.race([
      qemu.waitForEvent('SHUTDOWN', { since: qmark, signal: sig }).then(() => 'guest-reset' as const),
      sleep(timeoutMs).then(() => 'timeout' as const),
    ]);
    if (r === 'timeout') {
      await qemu.guard(qemu.qmp.execute('stop', undefined, { timeout: 5000 }), 'stop');
      return r;
    }
    await qemu.waitForEvent('STOP', { since: qmark, timeout: 10_000, signal });
    return r;
  } finally {
    stop.abort();
  }
}

/** XORs bytes of dmesg zone 0's data in the RAM file (QEMU is paused); returns what changed. */
async function corruptRam(qemu: QemuProcess, layout: Layout, spec: CorruptSpec): Promise<readonly CorruptedByte[]> {
  const zone = layout.zones.find((z) => z.kind === 'dmesg' && z.index === 0);
  if (zone === undefined) throw new HarnessError('capture', 'cannot corrupt dmesg zone 0: the layout has no dmesg zones');
  const xor = spec.xor ?? 0x5a;
  if (!Number.isInteger(xor) || xor < 1 || xor > 0xff) throw new HarnessError('capture', `corruption mask must be 1..255, got ${xor}`);
  const fh = await open(qemu.ramFile, 'r+');
  const changed: CorruptedByte[] = [];
  try {
    const one = Buffer.alloc(1);
    for (const off of spec.dataOffsets) {
      if (!Number.isInteger(off) || off < 0 || off >= zone.geometry.capacity) {
        throw new HarnessError('capture', `corruption offset ${off} is outside dmesg zone 0's ${zone.geometry.capacity} data bytes`);
      }
      const address = zone.address + ZONE_HEADER + off;
      const at = qemu.fileOffset(address, 1);
      await fh.read(one, 0, 1, at);
      const before = one[0] ?? 0;
      one[0] = before ^ xor;
      await fh.write(one, 0, 1, at);
      changed.push({ address, before, after: before ^ xor });
    }
  } finally {
    await fh.close();
  }
  return changed;
}

/** Writes one side's files into a folder of the artifacts; a name pstore would never make is skipped, not followed. */
function writeFiles(dir: string, files: readonly { name: string; bytes: Uint8Array; mtime: { seconds: number; nanoseconds: number } | undefined }[]): void {
  const real = prepareOutDir(dir);
  for (const f of files) {
    try {
      writeConfined(real, f.name, f.bytes, f.mtime);
    } catch (e) {
      if (!(e instanceof UnsafeNameError)) throw e;
    }
  }
}

/** The ECC line pstore appends to a file, if any ("5 Corrected bytes, 0 unrecoverable blocks"). */
export function eccNoticeOf(bytes: Uint8Array): string | undefined {
  const tail = Buffer.from(bytes.subarray(Math.max(0, bytes.length - 96))).toString('latin1');
  return /\n(?:ECC: )?(\d+ Corrected bytes, \d+ unrecoverable blocks|No errors detected)\n$/.exec(tail)?.[1];
}

function hostSummary(f: HostFile): FileSummary {
  return {
    name: f.name,
    size: f.size,
    length: f.bytes.length,
    mtime: f.mtime?.seconds,
    eccNotice: eccNoticeOf(f.bytes),
    ...(f.compression === undefined ? {} : { compression: `${f.compression.algorithm}${f.compression.ok ? '' : ' (failed)'}` }),
  };
}

function guestSummary(f: GuestFile): FileSummary {
  return { name: f.name, size: f.size, length: f.bytes.length, mtime: f.mtime.seconds, eccNotice: eccNoticeOf(f.bytes) };
}

function toFault(e: unknown, phase: Phase, qemu: QemuProcess | undefined): Fault {
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

function rounded(t: Partial<Record<Phase, number>>): PhaseTimes {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, round(v)])) as PhaseTimes;
}

function round(s: number): number {
  return Math.round(s * 1000) / 1000;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The default ramoops words of `ramoops run` for a region (the kernel's defaults for the rest). */
export function defaultRamoopsCmdline(config: Pick<RamoopsConfig, 'memAddress' | 'memSize' | 'recordSize'> = DEFAULT_REGION): string {
  return `ramoops.mem_address=0x${config.memAddress.toString(16)} ramoops.mem_size=0x${config.memSize.toString(16)} ramoops.record_size=0x${config.recordSize.toString(16)}`;
}

/** A command without side effects (SshSession.execRepeatable), with the cycle's timeout and signal. */
function probe(ssh: SshSession, command: string, timeoutMs: number, signal: AbortSignal): Promise<Awaited<ReturnType<SshSession['exec']>>> {
  return ssh.execRepeatable(command, { timeout: timeoutMs, signal });
}

/** Requirements of the scenario the guest does not meet (their `what`). */
async function missingRequirements(ssh: SshSession, scenario: Scenario, timeoutMs: number, signal: AbortSignal): Promise<string[]> {
  const missing: string[] = [];
  for (const r of scenario.requires) {
    const res = await probe(ssh, r.test, timeoutMs, signal);
    if (res.code !== 0) missing.push(`${r.what} (\`${r.test}\` failed)`);
  }
  return missing;
}

/** Runs a command that must exit 0; its output goes to the artifacts. */
async function guestCommandCheck(ssh: SshSession, label: string, command: string, out: string, log: string, timeoutMs: number, signal: AbortSignal): Promise<Check> {
  const t = performance.now();
  const res = await ssh.exec(command, { timeout: timeoutMs, signal, maxBytes: 16 << 20 });
  writeConfined(out, log, Buffer.concat([res.stdout, res.stderr]));
  const s = ((performance.now() - t) / 1000).toFixed(2);
  const status = res.code === null ? `killed by ${res.signal ?? 'a signal'}` : `exit ${res.code}`;
  const tail = res.stderr.toString('utf8').trim().split('\n').slice(-3).join(' | ');
  return { name: `${label} \`${command}\``, ok: res.code === 0, detail: `${status} in ${s} s (${log})${res.code === 0 || tail === '' ? '' : `: ${tail}`}` };
}

/** Lines that end an oops or a WARN report in the kernel log. */
const END_TRACE = '---\\[ end trace';

/**
 * A crash step the guest survives: an oops (panic_on_oops=0) or a WARN kills or not the
 * command's shell, and the kernel log gains one more "---[ end trace" line. The log is read
 * with dmesg (the console shows only loglevel < 4). 'none' steps must exit 0.
 */
async function nonFatalStep(ssh: SshSession, step: CrashStep, out: string, log: string, timeouts: PhaseTimeouts, signal: AbortSignal): Promise<Check> {
  if (step.expect === 'none') return guestCommandCheck(ssh, 'step', step.run, out, log, timeouts.ssh, signal);
  const count = async (): Promise<number> => {
    const r = await probe(ssh, `dmesg | grep -c -e '${END_TRACE}' || true`, timeouts.ssh, signal);
    return Number.parseInt(r.stdout.toString('utf8').trim(), 10) || 0;
  };
  const before = await count();
  const t = performance.now();
  // The oops kills the shell running the command: its exit status says nothing.
  const res = await ssh.exec(step.run, { timeout: timeouts.panic, signal, maxBytes: 16 << 20 }).catch((e: unknown) => e);
  if (!(res instanceof Error) && 'stdout' in (res as object)) {
    const r = res as { stdout: Buffer; stderr: Buffer };
    writeConfined(out, log, Buffer.concat([r.stdout, r.stderr]));
  }
  const deadline = performance.now() + timeouts.panic;
  let after = await count();
  while (after <= before && performance.now() < deadline) {
    await sleep(250);
    after = await count();
  }
  const s = ((performance.now() - t) / 1000).toFixed(2);
  const ok = after > before;
  return {
    name: `${step.expect} \`${step.run}\``,
    ok,
    detail: ok ? `the kernel logged ${after - before} report(s) in ${s} s` : `no oops/WARN report ("---[ end trace") in the kernel log within ${timeouts.panic / 1000} s`,
  };
}
