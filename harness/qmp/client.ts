// QMP over a unix socket: the transport around protocol.ts. It connects (retrying until QEMU
// has created the socket), negotiates capabilities, runs commands with timeouts, and keeps an
// ordered log of events so a wait can start after the event it waits for already happened
// (the guest can panic between "trigger the crash" and "wait for GUEST_PANICKED").

import net from 'node:net';
import { HarnessError } from '../errors.js';
import { abortPromise } from '../proc/lifetime.js';
import {
  ABANDONED,
  QmpProtocol,
  type JsonObject,
  type JsonValue,
  type QmpCommandName,
  type QmpCommands,
  type QmpEvent,
  type QmpGreeting,
  type QmpMessage,
} from './protocol.js';

/** Options of every wait: a deadline and a signal to give up early. */
export interface WaitOptions {
  /** Milliseconds; no deadline when absent. */
  readonly timeout?: number;
  readonly signal?: AbortSignal;
}

/** A position in the event log; events after it are "new". See QmpClient.mark(). */
export type EventMark = number;

/** Options of waitForEvent. */
export interface EventWaitOptions extends WaitOptions {
  /** Also accept events logged after this mark (from mark() earlier); default: only new events. */
  readonly since?: EventMark;
  /** Only accept events for which this returns true (e.g. SHUTDOWN with reason guest-reset). */
  readonly where?: (e: QmpEvent) => boolean;
}

/** Options of QmpClient.connect. */
export interface ConnectOptions extends WaitOptions {
  /** How often to retry while the socket does not exist yet (default 50 ms). */
  readonly retryMs?: number;
}

type Reply = { readonly ok: true; readonly value: JsonValue } | { readonly ok: false; readonly error: HarnessError };

interface EventWaiter {
  readonly accept: (e: QmpEvent) => boolean;
  readonly resolve: (e: QmpEvent) => void;
}

const CLOSED_MESSAGE = 'QMP connection closed (QEMU exited?)';

/** Events kept for late waiters; a QEMU run of the harness sends a few dozen. */
const EVENT_LOG_LIMIT = 10_000;

/** A connected, negotiated QMP session. */
export class QmpClient {
  private readonly protocol = new QmpProtocol();
  private readonly replies = new Map<string, (r: Reply) => void>();
  private readonly eventLog: QmpEvent[] = [];
  private eventBase = 0; // how many events were dropped from the front of eventLog
  private readonly waiters = new Set<EventWaiter>();
  private readonly listeners = new Set<(e: QmpEvent) => void>();
  private readonly closeListeners = new Set<(err: HarnessError) => void>();
  private closedError: HarnessError | undefined;
  private greetingResolve: ((g: QmpGreeting) => void) | undefined;
  private socket: net.Socket;
  private greetingMessage: QmpGreeting | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // A reset or broken pipe is QEMU going away (quit, crash, kill), not a transport fault.
      const gone = e.code === 'ECONNRESET' || e.code === 'EPIPE';
      this.onClose(new HarnessError('qmp', gone ? CLOSED_MESSAGE : `QMP socket error: ${e.message}`, { cause: e }));
    });
    socket.on('close', () => this.onClose(new HarnessError('qmp', CLOSED_MESSAGE)));
  }

  /**
   * Connects to QEMU's QMP socket, reads the greeting and negotiates capabilities. Retries
   * while the socket is missing or refuses (QEMU creates it a moment after it starts).
   */
  static async connect(path: string, options: ConnectOptions = {}): Promise<QmpClient> {
    const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout;
    const retryMs = options.retryMs ?? 50;
    for (;;) {
      options.signal?.throwIfAborted();
      let socket: net.Socket;
      try {
        socket = await openSocket(path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const retriable = code === 'ENOENT' || code === 'ECONNREFUSED';
        if (!retriable || Date.now() + retryMs > deadline) {
          throw new HarnessError('qmp', `cannot connect to QMP socket ${path}: ${(e as Error).message}`, { cause: e });
        }
        await sleep(retryMs, options.signal);
        continue;
      }
      const client = new QmpClient(socket);
      try {
        const remaining = deadline === Infinity ? undefined : Math.max(1, deadline - Date.now());
        await client.handshake({ timeout: remaining, signal: options.signal });
        return client;
      } catch (e) {
        client.destroy();
        throw e;
      }
    }
  }

  private async handshake(opts: WaitOptions): Promise<void> {
    const greeting = new Promise<QmpGreeting>((resolve) => {
      this.greetingResolve = resolve;
    });
    this.greetingMessage = await this.race(greeting, opts, 'the QMP greeting');
    const cmd = this.protocol.negotiate();
    await this.send(cmd.id, cmd.bytes, 'qmp_capabilities', opts);
  }

  /** What QEMU said when we connected (its version and capabilities). */
  get greeting(): QmpGreeting | undefined {
    return this.greetingMessage;
  }

  /** Runs a command and resolves with its return value; QEMU's error replies reject with HarnessError('qmp'). */
  execute<C extends QmpCommandName>(
    name: C,
    ...rest: QmpCommands[C]['args'] extends undefined ? [args?: undefined, options?: WaitOptions] : [args: QmpCommands[C]['args'], options?: WaitOptions]
  ): Promise<QmpCommands[C]['ret']> {
    const [args, options] = rest;
    const cmd = this.protocol.command(name, args);
    // The protocol layer does not check return shapes: QEMU is the schema's authority.
    return this.send(cmd.id, cmd.bytes, name, options ?? {}) as Promise<QmpCommands[C]['ret']>;
  }

  /** Runs a command the typed map does not list. */
  executeRaw(name: string, args?: JsonObject, options: WaitOptions = {}): Promise<JsonValue> {
    const cmd = this.protocol.command(name, args);
    return this.send(cmd.id, cmd.bytes, name, options);
  }

  /**
   * Asks QEMU to exit. QEMU may close the socket before its reply arrives, so a close after
   * the command was written counts as success.
   */
  async quit(options: WaitOptions = {}): Promise<void> {
    if (this.closedError !== undefined) return;
    let onClosed: (() => void) | undefined;
    const closed = new Promise<void>((resolve) => {
      onClosed = () => resolve();
      this.closeListeners.add(onClosed);
    });
    try {
      await Promise.race([this.execute('quit', undefined, options), closed]);
    } catch (e) {
      if (this.closedError === undefined) throw e;
    } finally {
      if (onClosed !== undefined) this.closeListeners.delete(onClosed);
    }
  }

  /** The current end of the event log: pass it as `since` to see events from now on, including ones that arrive before the wait starts. */
  mark(): EventMark {
    return this.eventBase + this.eventLog.length;
  }

  /** Every event received so far (at most the last 10,000). */
  events(): readonly QmpEvent[] {
    return this.eventLog;
  }

  /**
   * Resolves with the first event named `name` (and matching `where`) logged after `since`
   * (default: after now). Rejects with HarnessError('qmp') on timeout or if the connection
   * closes first, and with the signal's reason when aborted.
   */
  waitForEvent(name: string, options: EventWaitOptions = {}): Promise<QmpEvent> {
    const accept = (e: QmpEvent): boolean => e.event === name && (options.where === undefined || options.where(e));
    const since = options.since ?? this.mark();
    for (let i = Math.max(0, since - this.eventBase); i < this.eventLog.length; i++) {
      const e = this.eventLog[i];
      if (e !== undefined && accept(e)) return Promise.resolve(e);
    }
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    let waiter: EventWaiter | undefined;
    const p = new Promise<QmpEvent>((resolve) => {
      waiter = { accept, resolve };
      this.waiters.add(waiter);
    });
    return this.race(p, options, `QMP event ${name}`).finally(() => {
      if (waiter !== undefined) this.waiters.delete(waiter);
    });
  }

  /** Registers a listener for every event from now on; returns a function that removes it. */
  onEvent(listener: (e: QmpEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** True once the connection is gone. */
  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** Closes the connection (QEMU keeps running); pending commands and waits reject. */
  async close(): Promise<void> {
    if (this.closedError !== undefined) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      // A peer that never acknowledges our FIN must not hold close() up.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }

  private destroy(): void {
    this.socket.destroy();
  }

  private send(id: string, bytes: Uint8Array, name: string, options: WaitOptions): Promise<JsonValue> {
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    const p = new Promise<JsonValue>((resolve, reject) => {
      this.replies.set(id, (r) => (r.ok ? resolve(r.value) : reject(r.error)));
    });
    this.socket.write(bytes);
    return this.race(p, options, `the reply to ${name}`).catch((e: unknown) => {
      // Timed out or aborted: the reply may still come; the protocol must not treat it as stray.
      if (this.replies.delete(id)) this.protocol.abandon(id);
      throw e;
    });
  }

  private async race<T>(p: Promise<T>, options: WaitOptions, what: string): Promise<T> {
    const contenders: Promise<T>[] = [p];
    let timer: NodeJS.Timeout | undefined;
    if (options.timeout !== undefined) {
      const ms = options.timeout;
      contenders.push(
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new HarnessError('qmp', `timed out after ${ms} ms waiting for ${what}`)), ms);
        }),
      );
    }
    const ab = options.signal === undefined ? undefined : abortPromise(options.signal);
    if (ab !== undefined) contenders.push(ab.promise);
    let offClose: (() => void) | undefined;
    contenders.push(
      new Promise<never>((_, reject) => {
        if (this.closedError !== undefined) return reject(this.closedError);
        const l = (err: HarnessError): void => reject(new HarnessError('qmp', `${err.message} while waiting for ${what}`, { cause: err }));
        this.closeListeners.add(l);
        offClose = () => this.closeListeners.delete(l);
      }),
    );
    try {
      return await Promise.race(contenders);
    } finally {
      clearTimeout(timer);
      ab?.cancel();
      offClose?.();
    }
  }

  private onData(chunk: Buffer): void {
    let messages: QmpMessage[];
    try {
      messages = this.protocol.feed(chunk);
    } catch (e) {
      // A broken stream cannot be resynchronised: fail everything that waits on it.
      this.onClose(e instanceof HarnessError ? e : new HarnessError('qmp', String(e)));
      this.socket.destroy();
      return;
    }
    for (const m of messages) this.dispatch(m);
  }

  private dispatch(m: QmpMessage): void {
    switch (m.type) {
      case 'greeting':
        this.greetingResolve?.(m);
        return;
      case 'event':
        this.eventLog.push(m);
        if (this.eventLog.length > EVENT_LOG_LIMIT) {
          this.eventLog.shift();
          this.eventBase++;
        }
        for (const l of this.listeners) l(m);
        for (const w of this.waiters) {
          if (w.accept(m)) {
            this.waiters.delete(w);
            w.resolve(m);
          }
        }
        return;
      case 'return':
      case 'error': {
        if (m.command === ABANDONED) return;
        const r = this.replies.get(m.id);
        this.replies.delete(m.id);
        if (r === undefined) return;
        if (m.type === 'return') r({ ok: true, value: m.value });
        else r({ ok: false, error: new HarnessError('qmp', `${m.command} failed: ${m.errorClass}: ${m.desc}`) });
        return;
      }
    }
  }

  private onClose(err: HarnessError): void {
    if (this.closedError !== undefined) return;
    this.closedError = err;
    for (const l of this.closeListeners) l(err);
    this.closeListeners.clear();
    for (const r of this.replies.values()) r({ ok: false, error: err });
    this.replies.clear();
  }
}

function openSocket(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path });
    const onError = (e: Error): void => {
      s.destroy();
      reject(e);
    };
    s.once('error', onError);
    s.once('connect', () => {
      s.off('error', onError);
      resolve(s);
    });
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the abort reason as given, like signal.throwIfAborted()
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
