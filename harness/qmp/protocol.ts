// Sans-IO QMP (QEMU Machine Protocol): bytes in, typed messages out; commands out as bytes.
// No sockets, timers or promises here (the shape of ssh2's lib/protocol/Protocol.js), so the
// whole protocol is tested on recorded transcripts and client.ts only moves bytes.
//
// Wire format (qemu docs/interop/qmp-spec.rst): JSON objects, each terminated by CRLF.
//   greeting   {"QMP": {"version": {...}, "capabilities": [...]}}     once, first
//   success    {"return": json-value, "id": json-value}               "id" echoed if sent
//   error      {"error": {"class": string, "desc": string}, "id": json-value}
//   event      {"event": string, "data": json-object, "timestamp": {"seconds", "microseconds"}}
// Until `qmp_capabilities` succeeds the server accepts no other command and sends no events.

import { HarnessError } from '../errors.js';

/** Any JSON value, as QMP carries it. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [k: string]: JsonValue };

/** A JSON object. */
export type JsonObject = { readonly [k: string]: JsonValue };

/** QEMU's version as the greeting states it. */
export interface QmpVersion {
  readonly major: number;
  readonly minor: number;
  readonly micro: number;
  readonly package: string;
}

/** The first message of a QMP session. */
export interface QmpGreeting {
  readonly type: 'greeting';
  readonly version: QmpVersion;
  readonly capabilities: readonly string[];
}

/** A command's successful answer, matched to the command that asked. */
export interface QmpReturn {
  readonly type: 'return';
  readonly id: string;
  readonly command: string;
  readonly value: JsonValue;
}

/** A command's failure as QEMU reports it (class such as GenericError, CommandNotFound). */
export interface QmpErrorReply {
  readonly type: 'error';
  readonly id: string;
  readonly command: string;
  readonly errorClass: string;
  readonly desc: string;
}

/** An asynchronous event (GUEST_PANICKED, SHUTDOWN, STOP, RESUME, RESET, ...). */
export interface QmpEvent {
  readonly type: 'event';
  readonly event: string;
  readonly data: JsonObject;
  /** Host time of the event, in microseconds since the epoch. */
  readonly timestampUs: number;
}

/** Anything the server can send. */
export type QmpMessage = QmpGreeting | QmpReturn | QmpErrorReply | QmpEvent;

/** Commands the harness uses, with their arguments and return values (qapi/*.json). */
export interface QmpCommands {
  qmp_capabilities: { args: { readonly enable?: readonly string[] }; ret: JsonObject };
  stop: { args: undefined; ret: JsonObject };
  cont: { args: undefined; ret: JsonObject };
  system_reset: { args: undefined; ret: JsonObject };
  quit: { args: undefined; ret: JsonObject };
  'query-status': { args: undefined; ret: QmpStatus };
  'set-action': {
    args: {
      readonly reboot?: 'reset' | 'shutdown';
      readonly shutdown?: 'poweroff' | 'pause';
      readonly panic?: 'pause' | 'shutdown' | 'exit-failure' | 'none';
      readonly watchdog?: 'reset' | 'shutdown' | 'poweroff' | 'pause' | 'debug' | 'none' | 'inject-nmi';
    };
    ret: JsonObject;
  };
  /** Saves guest-physical [val, val + size) to a host file, through the guest's memory map. */
  pmemsave: {
    args: { readonly val: number; readonly size: number; readonly filename: string; readonly 'cpu-index'?: number };
    ret: JsonObject;
  };
  'dump-guest-memory': {
    args: {
      readonly paging: boolean;
      /** `file:PATH` or `fd:NAME`. */
      readonly protocol: string;
      readonly detach?: boolean;
      readonly begin?: number;
      readonly length?: number;
      readonly format?: 'elf' | 'kdump-zlib' | 'kdump-lzo' | 'kdump-snappy' | 'win-dmp';
    };
    ret: JsonObject;
  };
  'query-dump': {
    args: undefined;
    ret: { readonly status: 'none' | 'active' | 'completed' | 'failed'; readonly completed: number; readonly total: number };
  };
}

/** A command name the typed API knows. */
export type QmpCommandName = keyof QmpCommands;

/** query-status's answer; status is QEMU's RunState (running, paused, shutdown, prelaunch, ...). */
export interface QmpStatus {
  readonly running: boolean;
  readonly status: string;
  readonly singlestep?: boolean;
}

/** A command ready to be written to the socket. */
export interface EncodedCommand {
  readonly id: string;
  readonly bytes: Uint8Array;
}

type Phase = 'greeting' | 'negotiating' | 'command';

/**
 * The QMP state machine of one connection: splits the byte stream into JSON objects, checks
 * the greeting, numbers commands and pairs each reply with its command. Throws HarnessError
 * ('qmp') on anything QEMU would never send (bad JSON, a reply to no command, no greeting).
 */
export class QmpProtocol {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly pending = new Map<string, string>();
  private phase: Phase = 'greeting';
  private nextId = 1;
  // The JSON splitter's state, kept between feed() calls because objects span chunks.
  private buf = '';
  private scanPos = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Ids of commands sent and not answered yet, with their command names. */
  get outstanding(): ReadonlyMap<string, string> {
    return this.pending;
  }

  /** True once qmp_capabilities succeeded: other commands may be sent and events arrive. */
  get ready(): boolean {
    return this.phase === 'command';
  }

  /** Parses what arrived; returns every complete message, in order. */
  feed(chunk: Uint8Array | string): QmpMessage[] {
    this.buf += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const out: QmpMessage[] = [];
    let start = 0;
    // A brace-depth scanner rather than splitting on CRLF: it also accepts QMP's "pretty"
    // mode, and a "}" inside a string (a desc, a serial line in an event) is skipped correctly.
    for (let i = this.scanPos; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (this.depth === 0 && c !== '{') {
        if (c === ' ' || c === '\r' || c === '\n' || c === '\t') continue;
        throw new HarnessError('qmp', `unexpected ${JSON.stringify(c)} between QMP messages: ${excerpt(this.buf, i)}`);
      }
      if (c === '"') {
        this.inString = true;
      } else if (c === '{') {
        if (this.depth === 0) start = i;
        this.depth++;
      } else if (c === '}') {
        this.depth--;
        if (this.depth === 0) {
          out.push(this.interpret(this.buf.slice(start, i + 1)));
          this.buf = this.buf.slice(i + 1);
          i = -1;
          start = 0;
        }
      }
    }
    this.scanPos = this.buf.length;
    if (this.depth === 0) {
      // Only whitespace is left over between messages.
      this.buf = '';
      this.scanPos = 0;
    }
    return out;
  }

  /** Encodes the capabilities negotiation; the only command allowed right after the greeting. */
  negotiate(enable?: readonly string[]): EncodedCommand {
    if (this.phase !== 'negotiating') {
      throw new HarnessError('qmp', `qmp_capabilities sent in phase ${this.phase}`);
    }
    return this.encode('qmp_capabilities', enable === undefined ? undefined : { enable });
  }

  /** Encodes a command with a fresh id; the reply to it will carry that id. */
  command<C extends QmpCommandName>(name: C, args: QmpCommands[C]['args']): EncodedCommand;
  /** Encodes a command the typed map does not list (its reply value is untyped JSON). */
  command(name: string, args?: JsonObject): EncodedCommand;
  command(name: string, args?: object): EncodedCommand {
    if (this.phase !== 'command') {
      throw new HarnessError('qmp', `command ${name} sent before capabilities negotiation finished`);
    }
    return this.encode(name, args);
  }

  /** Forgets a command whose reply the caller no longer waits for (timed out); it is ignored if it comes. */
  abandon(id: string): void {
    if (this.pending.has(id)) this.pending.set(id, ABANDONED);
  }

  private encode(name: string, args: object | undefined): EncodedCommand {
    const id = `rh-${this.nextId++}`;
    this.pending.set(id, name);
    const msg = args === undefined ? { execute: name, id } : { execute: name, arguments: args, id };
    return { id, bytes: new TextEncoder().encode(JSON.stringify(msg) + '\r\n') };
  }

  private interpret(text: string): QmpMessage {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new HarnessError('qmp', `QMP sent invalid JSON: ${text.slice(0, 200)}`, { cause: e });
    }
    if (!isObject(value)) throw new HarnessError('qmp', `QMP message is not an object: ${text.slice(0, 200)}`);

    if (this.phase === 'greeting') {
      const g = value['QMP'];
      if (!isObject(g)) throw new HarnessError('qmp', `expected the QMP greeting, got ${text.slice(0, 200)}`);
      this.phase = 'negotiating';
      return parseGreeting(g);
    }
    if ('event' in value) {
      const ts = value['timestamp'];
      const seconds = isObject(ts) && typeof ts['seconds'] === 'number' ? ts['seconds'] : 0;
      const micros = isObject(ts) && typeof ts['microseconds'] === 'number' ? ts['microseconds'] : 0;
      const data = value['data'];
      return {
        type: 'event',
        // QMP names events with strings; a malformed name only has to match no awaited event.
        // eslint-disable-next-line @typescript-eslint/no-base-to-string
        event: String(value['event']),
        data: isObject(data) ? data : {},
        timestampUs: seconds * 1_000_000 + micros,
      };
    }
    if ('return' in value || 'error' in value) {
      const rawId = value['id'];
      const id = typeof rawId === 'string' ? rawId : undefined;
      const command = id === undefined ? undefined : this.pending.get(id);
      if (id === undefined || command === undefined) {
        throw new HarnessError('qmp', `QMP reply to no command we sent: ${text.slice(0, 200)}`);
      }
      this.pending.delete(id);
      if (command === 'qmp_capabilities' && 'return' in value) this.phase = 'command';
      if ('error' in value) {
        const err = value['error'];
        return {
          type: 'error',
          id,
          command,
          errorClass: isObject(err) && typeof err['class'] === 'string' ? err['class'] : 'Unknown',
          desc: isObject(err) && typeof err['desc'] === 'string' ? err['desc'] : JSON.stringify(err),
        };
      }
      return { type: 'return', id, command, value: value['return'] ?? null };
    }
    throw new HarnessError('qmp', `unknown QMP message: ${text.slice(0, 200)}`);
  }
}

/** The name pending commands get once abandoned; their replies are delivered with it. */
export const ABANDONED = '(abandoned)';

function parseGreeting(g: JsonObject): QmpGreeting {
  const v = g['version'];
  const q = isObject(v) ? v['qemu'] : undefined;
  const num = (k: string): number => (isObject(q) && typeof q[k] === 'number' ? q[k] : 0);
  const caps = g['capabilities'];
  return {
    type: 'greeting',
    version: {
      major: num('major'),
      minor: num('minor'),
      micro: num('micro'),
      package: isObject(v) && typeof v['package'] === 'string' ? v['package'] : '',
    },
    capabilities: Array.isArray(caps) ? caps.filter((c): c is string => typeof c === 'string') : [],
  };
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function excerpt(s: string, at: number): string {
  return JSON.stringify(s.slice(Math.max(0, at - 40), at + 40));
}
