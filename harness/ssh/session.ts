// SSH into the guest (ssh2 client -> QEMU's 127.0.0.1 forward -> dropbear). dropbear starts
// late in the boot and slirp accepts the host-side TCP connection before the guest listens,
// so connect() retries whole handshakes until a deadline. Commands run with exec (dropbear
// has no sftp-server in our image), with stdout collected as bytes so binary pstore files
// come back exactly.

import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import { HarnessError } from '../errors.js';
import type { Lifetime, Registration } from '../proc/lifetime.js';

/** The guest's line announcing its SSH host key (guest/init prints it before READY). */
export const HOSTKEY_LINE = /RAMOOPS-HARNESS-HOSTKEY (\S+) ([A-Za-z0-9+/=]+)/;

/**
 * Which host key the guest may present. Either told in advance (expect(): from the guest's
 * RAMOOPS-HARNESS-HOSTKEY serial line, a channel the host trusts), or, when nothing was
 * told, the first key seen is pinned for the rest of the run. Our guest makes a new key on
 * every boot, so after a reboot call expect() with the new announcement.
 */
export class HostKeyPin {
  private expected: string | undefined;
  /** The last key refused, base64, for the error message. */
  lastRefused: string | undefined;

  /** Starts pinned to `base64Blob` (the key's SSH wire blob, as in authorized_keys), or unpinned. */
  constructor(base64Blob?: string) {
    this.expected = base64Blob;
  }

  /** Pins from a serial line `RAMOOPS-HARNESS-HOSTKEY <type> <base64>`; false if the line is not one. */
  expectFromLine(line: string): boolean {
    const m = HOSTKEY_LINE.exec(line);
    if (m === null || m[2] === undefined) return false;
    this.expect(m[2]);
    return true;
  }

  /** Pins this key (base64 of the SSH public key blob). */
  expect(base64Blob: string): void {
    this.expected = base64Blob;
  }

  /** The pinned key, if any. */
  get pinned(): string | undefined {
    return this.expected;
  }

  /** ssh2's hostVerifier: accept the pinned key only (pinning the first one if none is set). */
  verify(key: Buffer): boolean {
    const b64 = key.toString('base64');
    if (this.expected === undefined) this.expected = b64;
    if (b64 === this.expected) return true;
    this.lastRefused = b64;
    return false;
  }
}

/** How to reach the guest. */
export interface SshConnectOptions {
  /** Host port QEMU forwards to the guest's port 22. */
  readonly port: number;
  /** Default 127.0.0.1: the forward listens nowhere else. */
  readonly host?: string;
  /** Default root. */
  readonly username?: string;
  readonly privateKey: string;
  readonly hostKey: HostKeyPin;
  /** Give up connecting after this many milliseconds (default 60 s). */
  readonly timeout?: number;
  /** One handshake's limit (default 20 s; TCG guests are slow to do the key exchange). */
  readonly readyTimeout?: number;
  /** Pause between attempts (default 250 ms). */
  readonly retryMs?: number;
  /**
   * Retry failed connections until `timeout` (default true: a booting guest refuses until its
   * sshd is up). false: one attempt, so a refused port is said at once (harvest without --wait).
   */
  readonly retry?: boolean;
  readonly signal?: AbortSignal;
  /** Registers close() so the run's end closes the connection. */
  readonly lifetime?: Lifetime;
}

/** A finished command. `code` is null when it was killed by a signal (then `signal` is set). */
export interface ExecResult {
  readonly code: number | null;
  readonly signal: string | undefined;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

/** Options of exec. */
export interface ExecOptions {
  /** Milliseconds; the channel is closed and HarnessError('ssh') thrown when it passes. */
  readonly timeout?: number;
  readonly signal?: AbortSignal;
  /** Refuse output beyond this many bytes per stream (default 256 MiB). */
  readonly maxBytes?: number;
}

/** One file of the guest's /sys/fs/pstore as the guest shows it. */
export interface PstoreFile {
  readonly name: string;
  /** i_size as stat reports it. */
  readonly size: number;
  /** Modification time: pstore sets it from the record's timestamp. */
  readonly mtime: { readonly seconds: number; readonly nsec: number };
  /** The file's contents, read with cat. */
  readonly bytes: Buffer;
}

/** A logged-in SSH connection to the guest. */
export class SshSession {
  private closedFlag = false;
  private registration: Registration | undefined;

  private constructor(private readonly client: ssh2.Client) {
    client.on('close', () => {
      this.closedFlag = true;
    });
    // Errors after the handshake surface through the exec that was running; an unhandled
    // 'error' event would crash the process.
    client.on('error', () => {});
  }

  /** Connects, retrying refused or dropped handshakes until options.timeout; a host key mismatch fails at once. */
  static async connect(options: SshConnectOptions): Promise<SshSession> {
    const timeout = options.timeout ?? 60_000;
    const deadline = Date.now() + timeout;
    const retryMs = options.retryMs ?? 250;
    let attempts = 0;
    let lastError: unknown;
    for (;;) {
      options.signal?.throwIfAborted();
      attempts++;
      options.hostKey.lastRefused = undefined;
      try {
        const remaining = deadline - Date.now();
        const client = await handshake(
          {
            host: options.host ?? '127.0.0.1',
            port: options.port,
            username: options.username ?? 'root',
            privateKey: options.privateKey,
            readyTimeout: Math.max(1000, Math.min(options.readyTimeout ?? 20_000, remaining)),
            hostVerifier: (key: Buffer) => options.hostKey.verify(key),
          },
          options.signal,
        );
        const session = new SshSession(client);
        session.registration = options.lifetime?.defer(`ssh 127.0.0.1:${options.port}`, () => session.close());
        return session;
      } catch (e) {
        lastError = e;
        if (options.signal?.aborted === true) throw options.signal.reason;
        // Set by verify() during the handshake; TypeScript still sees the reset above.
        const refused = options.hostKey.lastRefused as string | undefined;
        if (refused !== undefined) {
          throw new HarnessError('ssh', `guest SSH host key ${refused} is not the pinned ${options.hostKey.pinned ?? '(none)'}`, {
            cause: e,
          });
        }
        if (e instanceof Error && /authentication methods failed/i.test(e.message)) {
          // dropbear answered and refused our key: retrying will not change that.
          throw new HarnessError('ssh', `guest refused the run's SSH key (is rh.key= on the kernel command line?)`, { cause: e });
        }
        if (options.retry === false || Date.now() + retryMs >= deadline) break;
        await sleep(retryMs, options.signal);
      }
    }
    const why = lastError instanceof Error ? lastError.message : String(lastError);
    const where = `${options.host ?? '127.0.0.1'}:${options.port}`;
    const tried = options.retry === false ? `(one attempt: ${why})` : `within ${timeout} ms (${attempts} attempts; last: ${why})`;
    throw new HarnessError('ssh', `no SSH login to ${where} ${tried}`, {
      cause: lastError,
    });
  }

  /** True once the connection is gone. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** Runs a command and collects its exit status and output (as bytes). */
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const channel = await this.openExec(command);
    const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    return new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outLen = 0;
      let errLen = 0;
      let code: number | null = null;
      let sig: string | undefined;
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const finish = (error?: HarnessError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (error !== undefined) {
          channel.close();
          reject(error);
          return;
        }
        resolve({ code, signal: sig, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
      };
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        channel.close();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the abort reason as given, like signal.throwIfAborted()
        reject(options.signal?.reason);
      };
      if (options.timeout !== undefined) {
        const ms = options.timeout;
        timer = setTimeout(() => finish(new HarnessError('ssh', `command timed out after ${ms} ms: ${command}`)), ms);
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      channel.on('data', (d: Buffer) => {
        outLen += d.length;
        if (outLen > maxBytes) finish(new HarnessError('ssh', `command printed more than ${maxBytes} bytes: ${command}`));
        else out.push(d);
      });
      channel.stderr.on('data', (d: Buffer) => {
        errLen += d.length;
        if (errLen <= maxBytes) err.push(d);
      });
      channel.on('exit', (c: number | null, s?: string) => {
        code = c;
        sig = s ?? undefined;
      });
      channel.on('close', () => {
        // No exit status means the command did not end by itself: the connection or guest went away.
        if (code === null && sig === undefined) finish(new HarnessError('ssh', `SSH channel closed without an exit status: ${command}`));
        else finish();
      });
    });
  }

  /**
   * Starts a command and resolves once the guest accepted it, without waiting for it to end.
   * For the crash trigger: that command never returns (the guest dies under it). Take a QMP
   * or serial mark before calling, so the crash is seen even if it beats this promise.
   */
  async start(command: string, options: { readonly timeout?: number } = {}): Promise<void> {
    const ms = options.timeout ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HarnessError('ssh', `guest did not accept the command within ${ms} ms: ${command}`)), ms);
    });
    let channel: ClientChannel;
    try {
      channel = await Promise.race([this.openExec(command), timedOut]);
    } finally {
      clearTimeout(timer);
    }
    // Output and the channel's end are of no interest; ignore them so nothing is buffered.
    channel.on('data', () => {});
    channel.stderr.on('data', () => {});
  }

  /**
   * exec for a command that changes nothing (a listing, a read, a probe): run again, up to three
   * times in all, when dropbear closed the channel without an exit status, as it does now and
   * then on a loaded machine. Commands with effects must use exec and take that as a fault.
   */
  execRepeatable(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return againIfDropped(
      () => this.exec(command, options),
      () => this.closedFlag,
    );
  }

  /**
   * Lists a pstore mount (default /sys/fs/pstore) with stat and reads each file with cat.
   * Files come back sorted by name. Throws HarnessError('ssh') when a command fails.
   */
  async readPstore(dir = '/sys/fs/pstore', options: ExecOptions = {}): Promise<PstoreFile[]> {
    // `for f in *` with a test: an empty folder leaves the literal `*`, which must not be stat'ed.
    // %Y gives whole seconds; busybox's and GNU's %y carry the nanoseconds.
    const list = await this.execRepeatable(
      `cd ${shellQuote(dir)} && for f in *; do [ -e "$f" ] || continue; stat -c '%n|%s|%Y|%y' -- "$f" || exit 3; done`,
      options,
    );
    if (list.code !== 0) {
      throw new HarnessError('ssh', `listing ${dir} failed (exit ${list.code}): ${list.stderr.toString('utf8').trim()}`);
    }
    const files: PstoreFile[] = [];
    for (const line of list.stdout.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      const { name, size, mtime } = parseStatLine(line);
      const cat = await this.execRepeatable(`cat -- ${shellQuote(`${dir}/${name}`)}`, options);
      if (cat.code !== 0) {
        throw new HarnessError('ssh', `reading ${dir}/${name} failed (exit ${cat.code}): ${cat.stderr.toString('utf8').trim()}`);
      }
      files.push({ name, size, mtime, bytes: cat.stdout });
    }
    return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Closes the connection; quick even when the guest is dead (then the socket is dropped). Idempotent. */
  async close(): Promise<void> {
    this.registration?.forget();
    if (this.closedFlag) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        // A dead guest never answers the disconnect: drop the socket.
        this.client.destroy();
        resolve();
      }, 500);
      this.client.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.client.end();
    });
    this.closedFlag = true;
  }

  /** Drops the connection without the SSH goodbye: for a guest known to be dead (crashed, paused). */
  destroy(): void {
    this.registration?.forget();
    this.client.destroy();
    this.closedFlag = true;
  }

  private openExec(command: string): Promise<ClientChannel> {
    if (this.closedFlag) return Promise.reject(new HarnessError('ssh', `SSH connection is closed; cannot run: ${command}`));
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, channel) => {
        if (err !== undefined && err !== null) reject(new HarnessError('ssh', `exec refused: ${command}: ${err.message}`, { cause: err }));
        else resolve(channel);
      });
    });
  }
}

/** Parses one `%n|%s|%Y|%y` line of stat into name, size and mtime (seconds + nanoseconds). */
export function parseStatLine(line: string): Pick<PstoreFile, 'name' | 'size' | 'mtime'> {
  const parts = line.split('|');
  const [name, size, seconds, human] = parts;
  if (parts.length !== 4 || name === undefined || size === undefined || seconds === undefined || human === undefined) {
    throw new HarnessError('ssh', `unexpected stat output: ${JSON.stringify(line)}`);
  }
  // `2024-05-06 07:08:09.123456789 +0000`: the fraction has 9 digits (fewer on some stats).
  const frac = /\.(\d{1,9})/.exec(human)?.[1] ?? '';
  const nsec = frac === '' ? 0 : Number(frac.padEnd(9, '0'));
  const sizeN = Number(size);
  const secN = Number(seconds);
  if (!Number.isSafeInteger(sizeN) || !Number.isSafeInteger(secN)) {
    throw new HarnessError('ssh', `unexpected stat output: ${JSON.stringify(line)}`);
  }
  return { name, size: sizeN, mtime: { seconds: secN, nsec } };
}

/** Quotes a word for the guest's sh (busybox ash): single quotes, with `'` written as `'\''`. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

function handshake(config: ConnectConfig, signal: AbortSignal | undefined): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let settled = false;
    const done = (e?: unknown): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (e === undefined) {
        resolve(client);
      } else {
        client.destroy();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- ssh2's error, ours, or the abort reason as given
        reject(e);
      }
    };
    const onAbort = (): void => done(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => done());
    client.on('error', (e) => done(e));
    client.once('close', () => done(new Error('connection closed before the SSH handshake finished')));
    client.connect(config);
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(t);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the abort reason as given, like signal.throwIfAborted()
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `run` (a command that changes nothing), again up to three times in all while it fails only
 * because dropbear closed the channel without an exit status and the session is still open.
 */
export async function againIfDropped<T>(run: () => Promise<T>, closed: () => boolean = () => false): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (attempt >= 3 || closed() || !(e instanceof HarnessError) || !/without an exit status/.test(e.message)) throw e;
    }
  }
}
