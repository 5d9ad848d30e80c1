// One QEMU process and everything it owns: a temp folder (RAM file, QMP socket, serial log),
// the child process, the QMP session and the serial follower. start() gives back a running,
// QMP-connected QEMU; dispose() (also registered with the run's Lifetime) kills it and removes
// the folder on every path. Any wait can be "guarded" so that QEMU dying turns into a
// HarnessError('qemu') with the exit status and the last lines of stderr and serial, instead
// of a timeout a minute later.

import { accessSync, constants, createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { dir } from 'tmp-promise';
import { HarnessError } from '../errors.js';
import type { Lifetime, Registration } from '../proc/lifetime.js';
import { QmpClient, type EventWaitOptions } from '../qmp/client.js';
import type { QmpEvent } from '../qmp/protocol.js';
import { buildQemuArgs, type Accel, type MachineType, type QemuSpec, type SharedFolder } from './args.js';
import { physToFileOffset } from './machines.js';
import { SerialLog, type SerialMatch, type SerialWaitOptions } from './serial.js';
import { requireHostForwardPort } from './usernet.js';

/** What to boot and how; the paths QEMU needs inside its temp folder are filled in by start(). */
export interface QemuStartOptions {
  readonly machine?: MachineType;
  readonly accel?: Accel;
  readonly memoryBytes: number;
  readonly cpus?: number;
  readonly cpu?: string;
  readonly kernel?: string;
  /** `-bios` (qboot for a PVH boot). */
  readonly firmware?: string | undefined;
  readonly initrd?: string;
  readonly append?: string;
  /** Forward a 127.0.0.1 port QEMU picks to the guest's SSH (default true); see sshPort. */
  readonly forwardSsh?: boolean;
  /** Use this host port instead of letting QEMU pick a free one. */
  readonly sshPort?: number;
  readonly pvpanic?: boolean;
  /** `-dtb`: the device tree the kernel boots with (arm64 virt). */
  readonly dtb?: string;
  /** Start with CPUs stopped (-S). */
  readonly paused?: boolean;
  /** A host folder exported over virtio-9p. */
  readonly share?: SharedFolder;
  readonly extraArgs?: readonly string[];
  /** QEMU binary (default qemu-system-aarch64 for virt, else qemu-system-x86_64, from PATH). */
  readonly binary?: string;
  /**
   * Parent folder of the temp folder. Default /dev/shm when writable (guest RAM in tmpfs costs
   * what anonymous RAM costs; a disk-backed file booted ~15% slower here), else the OS temp folder.
   */
  readonly tempParent?: string;
  /** Called with the RAM file's path after it is created (sparse, full size) and before QEMU maps it. */
  readonly prepareRam?: (ramFile: string) => Promise<void>;
  /** Copies of the serial log (serial.log) and QEMU's stderr (qemu-stderr.log) go here. */
  readonly artifactsDir?: string;
  /** Artifact file name prefix, e.g. `cycle1-` (default none). */
  readonly artifactsPrefix?: string;
  /** Registers dispose() here so the run's end kills QEMU whatever happens. */
  readonly lifetime?: Lifetime;
  readonly signal?: AbortSignal;
  /** How long QEMU may take to open its QMP socket (default 15 s). */
  readonly startTimeoutMs?: number;
  /** SIGTERM, then SIGKILL after this delay (default 3 s). */
  readonly killDelayMs?: number;
  /** Told the full argv (binary first) just before QEMU starts, so it is known even when QEMU fails at once. */
  readonly onCommandLine?: (argv: readonly string[]) => void;
}

/** Where QEMU's own files go inside its temp folder. */
export interface QemuPaths {
  readonly ramFile: string;
  readonly qmpSocket: string;
  readonly serial: string;
}

/** The binary and argv QEMU is started with for these options; pure (`--dry-run` prints it without starting anything). */
export function qemuInvocation(options: QemuStartOptions, paths: QemuPaths, sshPort: number | undefined): { readonly binary: string; readonly args: string[] } {
  const machine = options.machine ?? 'q35';
  const spec: QemuSpec = {
    machine,
    accel: options.accel ?? 'tcg',
    memoryBytes: options.memoryBytes,
    ramFile: paths.ramFile,
    qmpSocket: paths.qmpSocket,
    serial: { kind: 'file', path: paths.serial },
    cpus: options.cpus,
    cpu: options.cpu,
    kernel: options.kernel,
    ...(options.firmware === undefined ? {} : { firmware: options.firmware }),
    initrd: options.initrd,
    append: options.append,
    sshPort,
    pvpanic: options.pvpanic,
    dtb: options.dtb,
    paused: options.paused,
    share: options.share,
    extraArgs: options.extraArgs,
  };
  return { binary: options.binary ?? qemuBinary(machine), args: buildQemuArgs(spec) };
}

/** How QEMU ended. */
export interface QemuExit {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  /** Set when QEMU could not be started at all (e.g. ENOENT). */
  readonly spawnError: string | undefined;
}

const TAIL_LINES = 20;

/** A running QEMU with its QMP session and serial log. */
export class QemuProcess {
  private readonly stderrLines: string[] = [];
  private stderrPartial = '';
  private exitInfo: QemuExit | undefined;
  private disposing: Promise<void> | undefined;
  private registration: Registration | undefined;
  private stderrTee: WriteStream | undefined;
  private qmpClient: QmpClient | undefined;
  /** Resolves when QEMU has exited (never rejects). */
  readonly exited: Promise<QemuExit>;

  private constructor(
    private readonly child: ResultPromise<{ reject: false; buffer: false; stdin: 'ignore' }>,
    /** The full argv after the binary, for logs and reports. */
    readonly args: readonly string[],
    readonly machine: MachineType,
    readonly memoryBytes: number,
    /** The temp folder holding ram, qmp.sock and serial.log; removed by dispose(). */
    readonly tempDir: string,
    private readonly removeTemp: () => Promise<void>,
    readonly ramFile: string,
    readonly qmpSocket: string,
    private forwardPort: number | undefined,
    /** The guest's serial console. */
    readonly serial: SerialLog,
  ) {
    const collect = (chunk: Buffer): void => {
      this.stderrTee?.write(chunk);
      const parts = (this.stderrPartial + chunk.toString('utf8')).split('\n');
      this.stderrPartial = parts.pop() ?? '';
      this.stderrLines.push(...parts);
      if (this.stderrLines.length > 200) this.stderrLines.splice(0, this.stderrLines.length - 200);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = child.then(
      (r) => {
        const spawnError = r.exitCode === undefined && r.signal === undefined && r.failed ? r.shortMessage : undefined;
        this.exitInfo = { exitCode: r.exitCode, signal: r.signal, spawnError };
        return this.exitInfo;
      },
      // reject:false makes this unreachable; kept so `exited` can never reject.
      (e: unknown) => {
        this.exitInfo = { exitCode: undefined, signal: undefined, spawnError: String(e) };
        return this.exitInfo;
      },
    );
  }

  /** Creates the temp folder and RAM file, starts QEMU and connects QMP. Cleans up if any step fails. */
  static async start(options: QemuStartOptions): Promise<QemuProcess> {
    const forward = options.forwardSsh ?? true;
    // Port 0: QEMU binds a free port itself and startOnce reads it back, so no other process can
    // take it between a probe of ours and QEMU's bind.
    return QemuProcess.startOnce(options, forward ? (options.sshPort ?? 0) : undefined);
  }

  private static async startOnce(options: QemuStartOptions, sshPort: number | undefined): Promise<QemuProcess> {
    options.signal?.throwIfAborted();
    const machine = options.machine ?? 'q35';
    const tmp = await dir({ unsafeCleanup: true, prefix: 'ramoops-qemu-', tmpdir: options.tempParent ?? defaultTempParent() });
    // Until the QemuProcess exists, this undoes what was made so far.
    const early = options.lifetime?.defer('qemu temp folder', () => tmp.cleanup());
    let serial: SerialLog | undefined;
    let qemu: QemuProcess | undefined;
    try {
      const ramFile = path.join(tmp.path, 'ram');
      const qmpSocket = path.join(tmp.path, 'qmp.sock');
      const serialPath = path.join(tmp.path, 'serial.log');
      // Create the RAM file ourselves at full size (sparse) so prepareRam can write into it;
      // QEMU maps an existing file of the right size as is.
      const fh = await open(ramFile, 'wx');
      try {
        await fh.truncate(options.memoryBytes);
      } finally {
        await fh.close();
      }
      if (options.prepareRam !== undefined) await options.prepareRam(ramFile);

      const { binary, args } = qemuInvocation(options, { ramFile, qmpSocket, serial: serialPath }, sshPort);
      options.onCommandLine?.([binary, ...args]);
      const prefix = options.artifactsPrefix ?? '';
      serial = SerialLog.follow(serialPath, {
        teePath: options.artifactsDir === undefined ? undefined : path.join(options.artifactsDir, `${prefix}serial.log`),
      });
      const child = execa(binary, args, {
        stdin: 'ignore',
        buffer: false,
        reject: false,
        // Kill QEMU if node itself exits without running our cleanup (uncaught error, exit()).
        cleanup: true,
        forceKillAfterDelay: options.killDelayMs ?? 3000,
      });
      qemu = new QemuProcess(child, args, machine, options.memoryBytes, tmp.path, tmp.cleanup, ramFile, qmpSocket, sshPort, serial);
      const q = qemu;
      if (options.artifactsDir !== undefined) {
        q.stderrTee = createWriteStream(path.join(options.artifactsDir, `${prefix}qemu-stderr.log`), { flags: 'a' });
        q.stderrTee.on('error', () => {});
      }
      // From here on the process object owns the temp folder and the child.
      early?.forget();
      q.registration = options.lifetime?.defer('qemu', () => q.dispose());
      // Stop the connect retries as soon as QEMU is gone (or the run is aborted).
      const stopConnect = new AbortController();
      void q.exited.then(() => stopConnect.abort(new HarnessError('qemu', 'QEMU exited')));
      const signal = options.signal === undefined ? stopConnect.signal : AbortSignal.any([options.signal, stopConnect.signal]);
      q.qmpClient = await q.guard(QmpClient.connect(qmpSocket, { timeout: options.startTimeoutMs ?? 15_000, signal }), 'the QMP socket');
      if (sshPort === 0) q.forwardPort = await q.guard(q.boundSshPort(), "the SSH forward's port");
      return q;
    } catch (e) {
      if (qemu !== undefined) {
        await qemu.dispose();
      } else {
        early?.forget();
        await serial?.close().catch(() => {});
        await tmp.cleanup().catch(() => {});
      }
      throw e;
    }
  }

  /** Host port forwarded to the guest's port 22, if any (the one QEMU bound when asked for 0). */
  get sshPort(): number | undefined {
    return this.forwardPort;
  }

  /** The host port QEMU bound for the forward to the guest's port 22. */
  private async boundSshPort(): Promise<number> {
    const text = await this.qmp.executeRaw('human-monitor-command', { 'command-line': 'info usernet' });
    return requireHostForwardPort(typeof text === 'string' ? text : JSON.stringify(text), 22);
  }

  /** The QMP session (capabilities negotiated). */
  get qmp(): QmpClient {
    if (this.qmpClient === undefined) throw new HarnessError('qmp', 'QMP is not connected');
    return this.qmpClient;
  }

  /** QEMU's pid, for logs. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True until QEMU has exited. */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** The last lines QEMU wrote to stderr/stdout. */
  stderrTail(n = TAIL_LINES): string[] {
    const lines = this.stderrPartial.length > 0 ? [...this.stderrLines, this.stderrPartial] : this.stderrLines;
    return lines.slice(-n);
  }

  /**
   * Resolves or rejects like `p`, unless QEMU exits first: then rejects with HarnessError('qemu')
   * naming `what` was awaited, the exit status, and the last stderr and serial lines.
   */
  async guard<T>(p: Promise<T>, what: string): Promise<T> {
    const onExit = this.exited.then((x): never => {
      throw this.exitError(x, what);
    });
    onExit.catch(() => {});
    try {
      return await Promise.race([p, onExit]);
    } catch (e) {
      // The QMP socket closes a moment before node sees the exit; blame QEMU, not QMP.
      if (e instanceof HarnessError && e.stage === 'qmp' && this.qmpClient?.closed !== false) {
        const x = await Promise.race([this.exited, delay(1000)]);
        if (x !== undefined) throw this.exitError(x, what);
      }
      throw e;
    }
  }

  /** Waits for a serial line, failing fast if QEMU exits. */
  waitForSerial(re: RegExp, options: SerialWaitOptions = {}): Promise<SerialMatch> {
    return this.guard(this.serial.waitFor(re, options), `a serial line matching ${re}`);
  }

  /** Waits for a QMP event, failing fast if QEMU exits. */
  waitForEvent(name: string, options: EventWaitOptions = {}): Promise<QmpEvent> {
    return this.guard(this.qmp.waitForEvent(name, options), `QMP event ${name}`);
  }

  /** The RAM file offset of guest-physical [phys, phys + len) (HarnessError('capture') if not RAM). */
  fileOffset(phys: number, len: number): number {
    return physToFileOffset(this.machine, this.memoryBytes, phys, len);
  }

  /** Reads guest-physical [phys, phys + len) straight from the RAM file. Best while the guest is paused. */
  async readRam(phys: number, len: number): Promise<Buffer> {
    const offset = this.fileOffset(phys, len);
    const fh = await open(this.ramFile, 'r');
    try {
      const buf = Buffer.alloc(len);
      let done = 0;
      while (done < len) {
        const { bytesRead } = await fh.read(buf, done, len - done, offset + done);
        if (bytesRead === 0) throw new HarnessError('capture', `RAM file ended at ${offset + done} reading ${len} bytes at ${offset}`);
        done += bytesRead;
      }
      return buf;
    } finally {
      await fh.close();
    }
  }

  /**
   * Stops QEMU (SIGTERM, SIGKILL after the kill delay), closes QMP and the serial follower,
   * removes the temp folder. Idempotent; never throws. Copy anything you need out of the
   * RAM file before calling it.
   */
  dispose(): Promise<void> {
    this.disposing ??= this.disposeOnce();
    return this.disposing;
  }

  private async disposeOnce(): Promise<void> {
    this.registration?.forget();
    if (this.running) this.child.kill('SIGTERM');
    await this.exited;
    await this.qmpClient?.close().catch(() => {});
    await this.serial.close().catch(() => {});
    const tee = this.stderrTee;
    if (tee !== undefined) await new Promise<void>((resolve) => tee.end(() => resolve()));
    await this.removeTemp().catch(() => {});
  }

  private exitError(x: QemuExit, what: string): HarnessError {
    const status =
      x.spawnError !== undefined
        ? `could not be started: ${x.spawnError}`
        : x.signal !== undefined
          ? `was killed by ${x.signal}`
          : `exited with code ${x.exitCode}`;
    const stderr = this.stderrTail();
    const serial = this.serial.tail(TAIL_LINES);
    return new HarnessError(
      'qemu',
      `QEMU ${status} while waiting for ${what}` +
        (stderr.length > 0 ? `\n--- QEMU stderr (last ${stderr.length} lines) ---\n${stderr.join('\n')}` : '') +
        (serial.length > 0 ? `\n--- serial (last ${serial.length} lines) ---\n${serial.join('\n')}` : ''),
    );
  }
}

/** The QEMU system emulator that runs a machine type. */
export function qemuBinary(machine: MachineType): string {
  return machine === 'virt' ? 'qemu-system-aarch64' : 'qemu-system-x86_64';
}

/** /dev/shm if this process may write there, else undefined (tmp-promise then uses os.tmpdir()). */
export function defaultTempParent(): string | undefined {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return undefined;
  }
}

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}
