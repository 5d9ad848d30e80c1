// The sans-IO QMP core on a transcript recorded from QEMU 7.2.22 (Debian 12), fed whole, byte
// by byte and in random splits: the parse must not depend on how the socket chunks data.
import test from 'ava';
import { HarnessError } from '../../../harness/errors.js';
import { ABANDONED, QmpProtocol, type QmpMessage } from '../../../harness/qmp/protocol.js';

// Recorded with `-S -chardev socket,... -mon chardev=qmp,mode=control`; '>' we send, '<' QEMU sends.
const transcript: ReadonlyArray<readonly ['<' | '>', string]> = [
  ['<', '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}\r\n'],
  ['>', '{"execute": "qmp_capabilities", "id": "rh-1"}\r\n'],
  ['<', '{"return": {}, "id": "rh-1"}\r\n'],
  ['>', '{"execute": "query-status", "id": "rh-2"}\r\n'],
  ['<', '{"return": {"status": "prelaunch", "singlestep": false, "running": false}, "id": "rh-2"}\r\n'],
  ['>', '{"execute": "no-such", "id": "rh-3"}\r\n'],
  ['<', '{"id": "rh-3", "error": {"class": "CommandNotFound", "desc": "The command no-such has not been found"}}\r\n'],
  ['>', '{"execute": "cont", "id": "rh-4"}\r\n'],
  ['<', '{"timestamp": {"seconds": 1795682763, "microseconds": 385531}, "event": "RESUME"}\r\n{"return": {}, "id": "rh-4"}\r\n'],
  ['>', '{"execute": "system_reset", "id": "rh-5"}\r\n'],
  [
    '<',
    '{"timestamp": {"seconds": 1795682763, "microseconds": 988487}, "event": "RESET", "data": {"guest": false, "reason": "host-qmp-system-reset"}}\r\n{"return": {}, "id": "rh-5"}\r\n',
  ],
  ['>', '{"execute": "set-action", "arguments": {"reboot": "reset"}, "id": "rh-6"}\r\n'],
  ['<', '{"return": {}, "id": "rh-6"}\r\n'],
  // quit: QEMU sends the SHUTDOWN event before the reply.
  ['>', '{"execute": "quit", "id": "rh-7"}\r\n'],
  [
    '<',
    '{"timestamp": {"seconds": 1795682764, "microseconds": 587070}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}\r\n{"return": {}, "id": "rh-7"}\r\n',
  ],
];

const expected: readonly QmpMessage[] = [
  {
    type: 'greeting',
    version: { major: 7, minor: 2, micro: 22, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' },
    capabilities: ['oob'],
  },
  { type: 'return', id: 'rh-1', command: 'qmp_capabilities', value: {} },
  { type: 'return', id: 'rh-2', command: 'query-status', value: { status: 'prelaunch', singlestep: false, running: false } },
  { type: 'error', id: 'rh-3', command: 'no-such', errorClass: 'CommandNotFound', desc: 'The command no-such has not been found' },
  { type: 'event', event: 'RESUME', data: {}, timestampUs: 1795682763385531 },
  { type: 'return', id: 'rh-4', command: 'cont', value: {} },
  { type: 'event', event: 'RESET', data: { guest: false, reason: 'host-qmp-system-reset' }, timestampUs: 1795682763988487 },
  { type: 'return', id: 'rh-5', command: 'system_reset', value: {} },
  { type: 'return', id: 'rh-6', command: 'set-action', value: {} },
  { type: 'event', event: 'SHUTDOWN', data: { guest: false, reason: 'host-qmp-quit' }, timestampUs: 1795682764587070 },
  { type: 'return', id: 'rh-7', command: 'quit', value: {} },
];

type Splitter = (bytes: Uint8Array) => Uint8Array[];

/** Replays the transcript; checks that what we send is what was recorded. */
function replay(t: { deepEqual: (a: unknown, b: unknown) => void }, split: Splitter): QmpMessage[] {
  const p = new QmpProtocol();
  const got: QmpMessage[] = [];
  for (const [dir, text] of transcript) {
    if (dir === '<') {
      for (const piece of split(new TextEncoder().encode(text))) got.push(...p.feed(piece));
      continue;
    }
    const want = JSON.parse(text) as { execute: string; arguments?: Record<string, never> };
    const cmd =
      want.execute === 'qmp_capabilities'
        ? p.negotiate()
        : want.execute === 'set-action'
          ? p.command('set-action', { reboot: 'reset' })
          : p.command(want.execute);
    t.deepEqual(JSON.parse(new TextDecoder().decode(cmd.bytes)), want);
  }
  return got;
}

test('whole messages', (t) => {
  t.deepEqual(
    replay(t, (b) => [b]),
    expected,
  );
});

test('one byte at a time', (t) => {
  t.deepEqual(
    replay(t, (b) => Array.from(b, (_, i) => b.subarray(i, i + 1))),
    expected,
  );
});

test('random splits (seeded)', (t) => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 50; round++) {
    const got = replay(t, (b) => {
      const out: Uint8Array[] = [];
      for (let i = 0; i < b.length;) {
        const n = 1 + rnd(40);
        out.push(b.subarray(i, i + n));
        i += n;
      }
      return out;
    });
    t.deepEqual(got, expected);
  }
});

test('multi-byte UTF-8 split across chunks, braces inside strings', (t) => {
  const p = new QmpProtocol();
  p.feed('{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}\r\n');
  p.negotiate();
  p.feed('{"return": {}, "id": "rh-1"}\r\n');
  const ev = new TextEncoder().encode('{"event": "X", "data": {"s": "é}{\\"}"}, "timestamp": {"seconds": 1, "microseconds": 2}}\r\n');
  const cut = ev.indexOf(0xc3) + 1; // inside the two-byte é
  t.deepEqual(p.feed(ev.subarray(0, cut)), []);
  t.deepEqual(p.feed(ev.subarray(cut)), [{ type: 'event', event: 'X', data: { s: 'é}{"}' }, timestampUs: 1_000_002 }]);
});

test('pretty-printed (multi-line) messages are accepted', (t) => {
  const p = new QmpProtocol();
  const got = p.feed('{\n  "QMP": {\n    "version": {"qemu": {"micro": 1, "minor": 0, "major": 8}, "package": "x"},\n    "capabilities": []\n  }\n}\n');
  t.is(got.length, 1);
  t.is(got[0]?.type, 'greeting');
});

test('commands before negotiation are refused', (t) => {
  const p = new QmpProtocol();
  t.throws(() => p.command('query-status'), { instanceOf: HarnessError });
  t.throws(() => p.negotiate(), { instanceOf: HarnessError, message: /phase greeting/ });
  p.feed('{"QMP": {"version": {}, "capabilities": []}}');
  t.throws(() => p.command('stop'), { instanceOf: HarnessError });
  t.false(p.ready);
});

test('a failed negotiation keeps the session closed to commands', (t) => {
  const p = new QmpProtocol();
  p.feed('{"QMP": {"version": {}, "capabilities": []}}');
  p.negotiate();
  const [m] = p.feed('{"error": {"class": "GenericError", "desc": "nope"}, "id": "rh-1"}');
  t.is(m?.type, 'error');
  t.false(p.ready);
});

test('garbage and unmatched replies are HarnessError(qmp)', (t) => {
  const fresh = (): QmpProtocol => {
    const p = new QmpProtocol();
    p.feed('{"QMP": {"version": {}, "capabilities": []}}');
    p.negotiate();
    p.feed('{"return": {}, "id": "rh-1"}');
    return p;
  };
  for (const bad of ['x', '{"return": {}, "id": "rh-99"}', '{"return": {}}', '{"what": 1}', '{"a": tru}']) {
    const e = t.throws(() => fresh().feed(bad), { instanceOf: HarnessError });
    t.is(e?.stage, 'qmp');
  }
  t.throws(() => new QmpProtocol().feed('{"return": {}}'), { message: /greeting/ });
});

test('replies to abandoned commands are recognisable and outstanding is tracked', (t) => {
  const p = new QmpProtocol();
  p.feed('{"QMP": {"version": {}, "capabilities": []}}');
  p.negotiate();
  p.feed('{"return": {}, "id": "rh-1"}');
  const a = p.command('query-status');
  const b = p.command('stop');
  t.deepEqual([...p.outstanding.keys()], [a.id, b.id]);
  p.abandon(a.id);
  const got = p.feed(`{"return": {"running": true, "status": "running"}, "id": "${a.id}"}`);
  t.is(got[0]?.type === 'return' ? got[0].command : '', ABANDONED);
  t.deepEqual([...p.outstanding.keys()], [b.id]);
});
