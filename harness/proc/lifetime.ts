// A run-scoped cleanup registry. Everything a run creates that outlives a function call (a
// QEMU process, a temp folder, an SSH connection) registers how to undo itself here, and the
// registry undoes all of it exactly once, last-created first, whichever way the run ends:
// normal return, a thrown error, Ctrl-C / SIGTERM, or the job-wide timeout. One AbortSignal
// for the run lets every wait (serial, QMP, SSH) stop early on the same cause.
//
// The model is tuxrun's __main__.py (signal handlers + alarm + `finally: rmtree`); what a
// signal cannot reach (the node process killed with SIGKILL) is covered for children by
// execa's `cleanup` (they are killed when node exits), which process.ts keeps on.

/** Undoes one thing; may be async. Must be safe to call once at any time. */
export type Disposer = () => void | Promise<void>;

/** Why a run stopped before its work finished. */
export type AbortCause = 'SIGINT' | 'SIGTERM' | 'timeout';

/** The run was interrupted (signal) or ran out of time; exitCode is what the CLI should exit with. */
export class RunAbortedError extends Error {
  readonly exitCode: number;
  constructor(
    readonly abortCause: AbortCause,
    detail?: string,
  ) {
    super(abortCause === 'timeout' ? `run timed out${detail === undefined ? '' : ` (${detail})`}` : `interrupted by ${abortCause}`);
    this.name = 'RunAbortedError';
    // 128 + signal number, the shell convention CI understands; 124 like coreutils' timeout.
    this.exitCode = abortCause === 'SIGINT' ? 130 : abortCause === 'SIGTERM' ? 143 : 124;
  }
}

/** How a Lifetime behaves beyond the cleanup list. */
export interface LifetimeOptions {
  /** Abort the run (and clean up) after this many milliseconds. */
  readonly timeoutMs?: number;
  /**
   * Take over SIGINT/SIGTERM: abort, clean up, then exit 130/143. Only for the process's top
   * level (the CLI); tests and libraries leave it off. A second signal exits at once.
   */
  readonly handleSignals?: boolean;
  /** How long one disposer may take before the next one runs anyway (default 15 s). */
  readonly disposerTimeoutMs?: number;
  /** Where cleanup problems are reported (default: stderr); they never replace the run's error. */
  readonly warn?: (message: string) => void;
  /** Called instead of process.exit after a signal's cleanup; for tests. */
  readonly exit?: (code: number) => void;
}

/** A registered disposer: run it early (and forget it), or just forget it. */
export interface Registration {
  dispose(): Promise<void>;
  forget(): void;
}

interface Entry {
  readonly label: string;
  readonly fn: Disposer;
}

/** The cleanup registry and abort signal of one run. */
export class Lifetime {
  private readonly controller = new AbortController();
  private readonly entries: Entry[] = [];
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly signalHandlers: ReadonlyArray<readonly [NodeJS.Signals, () => void]>;
  private closing: Promise<void> | undefined;
  private readonly disposerTimeoutMs: number;
  private readonly warn: (message: string) => void;

  constructor(private readonly options: LifetimeOptions = {}) {
    this.disposerTimeoutMs = options.disposerTimeoutMs ?? 15_000;
    this.warn = options.warn ?? ((m) => process.stderr.write(`ramoops: cleanup: ${m}\n`));
    const timeoutMs = options.timeoutMs;
    this.timer = timeoutMs === undefined ? undefined : setTimeout(() => this.abort(new RunAbortedError('timeout', `${timeoutMs} ms`)), timeoutMs);
    const handlers: Array<readonly [NodeJS.Signals, () => void]> = [];
    if (options.handleSignals === true) {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        const h = (): void => this.onSignal(sig);
        process.on(sig, h);
        handlers.push([sig, h]);
      }
    }
    this.signalHandlers = handlers;
  }

  /** Aborted when the run must stop; its reason is a RunAbortedError or what abort() got. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once close() started: new registrations are disposed at once. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Registers a disposer; they run last-registered first. */
  defer(label: string, fn: Disposer): Registration {
    const entry: Entry = { label, fn };
    if (this.closing !== undefined) {
      // Something was created while the run was being torn down (a start racing a Ctrl-C):
      // undo it now rather than leak it.
      void this.runOne(entry);
      return { dispose: async () => {}, forget: () => {} };
    }
    this.entries.push(entry);
    let done: Promise<void> | undefined;
    return {
      dispose: () => {
        done ??= this.remove(entry) ? this.runOne(entry) : Promise.resolve();
        return done;
      },
      forget: () => {
        this.remove(entry);
      },
    };
  }

  /** Stops the run: the signal fires with this reason. Cleanup happens in close(). */
  abort(reason: unknown): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** Runs every disposer still registered, newest first; idempotent; never throws. */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    // An aborted signal tells in-flight waits to give up while their resources go away.
    this.abort(new Error('run finished'));
    for (let e = this.entries.pop(); e !== undefined; e = this.entries.pop()) {
      await this.runOne(e);
    }
    for (const [sig, h] of this.signalHandlers) process.off(sig, h);
  }

  private remove(entry: Entry): boolean {
    const i = this.entries.indexOf(entry);
    if (i < 0) return false;
    this.entries.splice(i, 1);
    return true;
  }

  private async runOne(entry: Entry): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.disposerTimeoutMs);
    });
    try {
      const r = await Promise.race([Promise.resolve().then(entry.fn), limit]);
      if (r === 'timeout') this.warn(`${entry.label}: still running after ${this.disposerTimeoutMs} ms, moving on`);
    } catch (e) {
      this.warn(`${entry.label}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private onSignal(sig: 'SIGINT' | 'SIGTERM'): void {
    const err = new RunAbortedError(sig);
    const exit = this.options.exit ?? ((code: number) => process.exit(code));
    if (this.closing !== undefined) {
      // Second signal while cleaning up: the user wants out now. execa's exit hook still
      // sends SIGTERM to children that are left.
      exit(err.exitCode);
      return;
    }
    this.abort(err);
    // setImmediate: callers awaiting the run see the RunAbortedError (and can print it)
    // before the process goes.
    void this.close().then(() => setImmediate(() => exit(err.exitCode)));
  }
}

/**
 * Runs fn with a fresh Lifetime and always closes it. If the run is aborted (signal, timeout)
 * while fn is still going, this rejects with the abort reason right away and cleans up, even
 * when fn does not watch the signal. With handleSignals, the process exits 130/143 afterwards.
 */
export async function withLifetime<T>(options: LifetimeOptions, fn: (life: Lifetime) => Promise<T>): Promise<T> {
  const life = new Lifetime(options);
  const aborted = new Promise<never>((_, reject) => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the abort reason as given, like signal.throwIfAborted()
    const onAbort = (): void => reject(life.signal.reason);
    if (life.signal.aborted) onAbort();
    else life.signal.addEventListener('abort', onAbort, { once: true });
  });
  // The abort promise rejects at close() too; nobody may be listening by then.
  aborted.catch(() => {});
  try {
    return await Promise.race([fn(life), aborted]);
  } finally {
    await life.close();
  }
}

/** A promise that rejects with signal.reason when signal aborts, for racing against a wait. */
export function abortPromise(signal: AbortSignal): { promise: Promise<never>; cancel: () => void } {
  let onAbort: (() => void) | undefined;
  const promise = new Promise<never>((_, reject) => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the abort reason as given, like signal.throwIfAborted()
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return {
    promise,
    cancel: () => {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    },
  };
}
