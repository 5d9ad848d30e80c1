// Follows the guest's serial console, which QEMU writes to a file (args.ts: -chardev file).
// A file rather than a pipe or socket: QEMU never blocks on it, nothing is lost while nobody
// reads, and the whole log is there for the report. We read new bytes on inotify (fs.watch)
// and on a short poll (inotify can coalesce or miss events for a file another process
// writes), split them into lines, optionally tee the raw bytes to an artifacts log, and let
// callers wait for a line matching a pattern, including lines that came before the wait.

import { createWriteStream, watch, type FSWatcher, type WriteStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { HarnessError, type HarnessStage } from '../errors.js';
import { abortPromise } from '../proc/lifetime.js';

/** A position in the line log; see SerialLog.mark(). */
export type LineMark = number;

/** Options of SerialLog.waitFor. */
export interface SerialWaitOptions {
  /** Milliseconds; no deadline when absent. */
  readonly timeout?: number;
  readonly signal?: AbortSignal;
  /** Also match lines logged after this mark (from mark()); default: only lines from now on. */
  readonly since?: LineMark;
  /** The stage a timeout is blamed on (default 'boot'; 'guest' when waiting for a crash). */
  readonly stage?: HarnessStage;
}

/** A line that matched, with its regex match and its index in the log. */
export interface SerialMatch {
  readonly line: string;
  readonly match: RegExpExecArray;
  readonly index: LineMark;
}

/** Options of SerialLog.follow. */
export interface FollowOptions {
  /** Append every byte read to this file as well (the artifacts copy outlives the temp folder). */
  readonly teePath?: string;
  /** Poll interval in milliseconds (default 100). */
  readonly pollMs?: number;
  /** Lines kept in memory for late waiters and excerpts (default 20,000). */
  readonly keepLines?: number;
}

interface LineWaiter {
  readonly re: RegExp;
  readonly resolve: (m: SerialMatch) => void;
  readonly reject: (e: HarnessError) => void;
}

/** A live view of a serial log file. */
export class SerialLog {
  private readonly lineLog: string[] = [];
  private lineBase = 0;
  private partial = '';
  private readonly decoder = new TextDecoder('utf-8');
  private position = 0;
  private reading: Promise<void> | undefined;
  private again = false;
  private closedFlag = false;
  private readonly waiters = new Set<LineWaiter>();
  private readonly lineListeners = new Set<(line: string) => void>();
  private watcher: FSWatcher | undefined;
  private readonly timer: NodeJS.Timeout;
  private handle: FileHandle | undefined;
  private readonly tee: WriteStream | undefined;
  private readonly keepLines: number;

  private constructor(
    /** The file being followed. */
    readonly path: string,
    options: FollowOptions,
  ) {
    this.keepLines = options.keepLines ?? 20_000;
    this.tee = options.teePath === undefined ? undefined : createWriteStream(options.teePath, { flags: 'a' });
    // Errors on the artifacts copy must not stop the run; they surface when it is closed.
    this.tee?.on('error', () => {});
    this.timer = setInterval(() => this.poke(), options.pollMs ?? 100);
    this.tryWatch();
  }

  /** Starts following `path`. The file may not exist yet (QEMU creates it when it starts). */
  static follow(path: string, options: FollowOptions = {}): SerialLog {
    return new SerialLog(path, options);
  }

  /** The current end of the line log: pass it as `since` to match lines from this moment on. */
  mark(): LineMark {
    return this.lineBase + this.lineLog.length;
  }

  /** The complete lines from `mark` on that are still kept (a chained cell's share of the log). */
  since(mark: LineMark): string[] {
    return this.lineLog.slice(Math.max(0, mark - this.lineBase));
  }

  /** The last n complete lines (and the unfinished one, if any), for error messages. */
  tail(n = 20): string[] {
    const lines = this.lineLog.slice(-n);
    if (this.partial.length > 0) lines.push(this.partial);
    return lines.slice(-n);
  }

  /** Calls listener with every complete line from now on; returns a function that removes it. */
  onLine(listener: (line: string) => void): () => void {
    this.lineListeners.add(listener);
    return () => {
      this.lineListeners.delete(listener);
    };
  }

  /**
   * Resolves with the first complete line after `since` (default: now) that matches `re`.
   * Rejects with HarnessError('boot') on timeout, with the signal's reason when aborted.
   */
  async waitFor(re: RegExp, options: SerialWaitOptions = {}): Promise<SerialMatch> {
    // Read what is already in the file first, so `since` sees every line written so far.
    await this.readNow();
    const pattern = new RegExp(re.source, re.flags.replace('g', '').replace('y', ''));
    const since = options.since ?? this.mark();
    for (let i = Math.max(0, since - this.lineBase); i < this.lineLog.length; i++) {
      const line = this.lineLog[i];
      const m = line === undefined ? null : pattern.exec(line);
      if (line !== undefined && m !== null) return { line, match: m, index: this.lineBase + i };
    }
    const stage = options.stage ?? 'boot';
    if (this.closedFlag) throw new HarnessError(stage, `serial log closed before a line matched ${re}`);
    let waiter: LineWaiter | undefined;
    const found = new Promise<SerialMatch>((resolve, reject) => {
      waiter = { re: pattern, resolve, reject };
      this.waiters.add(waiter);
    });
    const contenders: Promise<SerialMatch>[] = [found];
    let timer: NodeJS.Timeout | undefined;
    if (options.timeout !== undefined) {
      const ms = options.timeout;
      contenders.push(
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            // One last read: the line may be in the file but not yet seen.
            void this.readNow().finally(() =>
              reject(new HarnessError(stage, `no serial line matched ${re} within ${ms} ms; last lines:\n${this.tail(20).join('\n')}`)),
            );
          }, ms);
        }),
      );
    }
    const ab = options.signal === undefined ? undefined : abortPromise(options.signal);
    if (ab !== undefined) contenders.push(ab.promise);
    try {
      return await Promise.race(contenders);
    } finally {
      clearTimeout(timer);
      ab?.cancel();
      if (waiter !== undefined) this.waiters.delete(waiter);
    }
  }

  /** Reads whatever QEMU wrote since the last read; resolves when it is processed. */
  async readNow(): Promise<void> {
    this.poke();
    while (this.reading !== undefined) await this.reading;
  }

  /** Stops following after a final read; flushes and closes the artifacts copy. Idempotent. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    await this.readNow().catch(() => {});
    this.closedFlag = true;
    clearInterval(this.timer);
    this.watcher?.close();
    if (this.partial.length > 0) {
      // The unfinished last line (a panic message cut off by the reset) is still a line.
      this.pushLine(this.partial);
      this.partial = '';
    }
    for (const w of this.waiters) w.reject(new HarnessError('boot', `serial log closed before a line matched ${w.re}`));
    this.waiters.clear();
    await this.handle?.close().catch(() => {});
    this.handle = undefined;
    const tee = this.tee;
    if (tee !== undefined) await new Promise<void>((resolve) => tee.end(() => resolve()));
  }

  private tryWatch(): void {
    if (this.watcher !== undefined || this.closedFlag) return;
    try {
      this.watcher = watch(this.path, { persistent: false }, () => this.poke());
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // Not created yet; the poll keeps trying.
    }
  }

  private poke(): void {
    if (this.closedFlag) return;
    if (this.reading !== undefined) {
      this.again = true;
      return;
    }
    this.reading = this.readLoop().finally(() => {
      this.reading = undefined;
    });
  }

  private async readLoop(): Promise<void> {
    do {
      this.again = false;
      if (this.handle === undefined) {
        try {
          this.handle = await open(this.path, 'r');
        } catch {
          return;
        }
        this.tryWatch();
      }
      const buf = Buffer.allocUnsafe(64 * 1024);
      for (;;) {
        const { bytesRead } = await this.handle.read(buf, 0, buf.length, this.position);
        if (bytesRead === 0) break;
        this.position += bytesRead;
        const chunk = buf.subarray(0, bytesRead);
        this.tee?.write(Buffer.from(chunk));
        this.ingest(this.decoder.decode(chunk, { stream: true }));
      }
    } while (this.again && !this.closedFlag);
  }

  private ingest(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const p of parts) this.pushLine(p.endsWith('\r') ? p.slice(0, -1) : p);
  }

  private pushLine(line: string): void {
    this.lineLog.push(line);
    if (this.lineLog.length > this.keepLines) {
      this.lineLog.shift();
      this.lineBase++;
    }
    for (const l of this.lineListeners) l(line);
    for (const w of this.waiters) {
      const m = w.re.exec(line);
      if (m !== null) {
        this.waiters.delete(w);
        w.resolve({ line, match: m, index: this.mark() - 1 });
      }
    }
  }
}
