// compareFiles on canned host and guest files: names, sizes, bytes, dmesg mtimes.
import test from 'ava';
import { byteContext, compareFiles, firstDifference, formatComparison } from '../../../harness/cycle/compare.js';
import type { PstoreFile as HostFile } from '../../../src/index.js';
import type { PstoreFile as GuestFile } from '../../../harness/ssh/session.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function host(name: string, text: string, over: Partial<HostFile> = {}): HostFile {
  const bytes = enc(text);
  return {
    name,
    type: name.startsWith('dmesg') ? 'dmesg' : 'console',
    id: 0,
    bytes,
    size: bytes.length,
    mtime: name.startsWith('dmesg') ? { seconds: 1700000000, nanoseconds: 123456000 } : undefined,
    zones: [],
    ecc: undefined,
    compression: undefined,
    notes: [],
    ...over,
  };
}

function guest(name: string, text: string, over: Partial<GuestFile> = {}): GuestFile {
  const bytes = Buffer.from(text, 'utf8');
  return { name, size: bytes.length, mtime: { seconds: 1700000000, nsec: 123456000 }, bytes, ...over };
}

test('equal files match, whatever the console mtime', (t) => {
  const c = compareFiles(
    [host('dmesg-ramoops-0', 'Panic#1 Part1\nsysrq\n'), host('console-ramoops-0', 'boot log')],
    [guest('dmesg-ramoops-0', 'Panic#1 Part1\nsysrq\n'), guest('console-ramoops-0', 'boot log', { mtime: { seconds: 5, nsec: 0 } })],
  );
  t.true(c.matched);
  t.deepEqual(
    c.files.map((f) => [f.name, f.status, f.mtimeCompared]),
    [
      ['console-ramoops-0', 'match', false],
      ['dmesg-ramoops-0', 'match', true],
    ],
  );
  t.is(formatComparison(c), 'all files match\n');
});

test('missing and extra names are mismatches', (t) => {
  const c = compareFiles([host('dmesg-ramoops-0', 'a'), host('dmesg-ramoops-1', 'b')], [guest('dmesg-ramoops-0', 'a'), guest('pmsg-ramoops-0', 'c')]);
  t.false(c.matched);
  t.deepEqual(c.missing, ['dmesg-ramoops-1']);
  t.deepEqual(c.extra, ['pmsg-ramoops-0']);
  t.regex(formatComparison(c), /dmesg-ramoops-1: parsed by the host, not shown by the guest/);
  t.regex(formatComparison(c), /pmsg-ramoops-0: shown by the guest, not parsed by the host/);
});

test('a byte difference reports the first offset with context; stat size is compared with our size', (t) => {
  const text = 'x'.repeat(40) + 'Corrected' + 'y'.repeat(40);
  const c = compareFiles([host('dmesg-ramoops-0', text)], [guest('dmesg-ramoops-0', text.replace('Corrected', 'Corrupted'), { size: 7 })]);
  const f = c.files[0];
  t.is(f?.status, 'differs');
  const bytes = f?.problems.find((p) => p.kind === 'bytes');
  t.like(bytes, { kind: 'bytes', offset: 44, hostLength: 89, guestLength: 89 });
  t.like(
    f?.problems.find((p) => p.kind === 'size'),
    { host: 89, guest: 7 },
  );
  const out = formatComparison(c);
  t.regex(out, /first difference at offset 44 \(0x2c\)/);
  t.regex(out, /\|x{12}Corrected/);
  t.regex(out, /\|x{12}Corrupted/);
});

test('one file a prefix of the other differs at the shorter length', (t) => {
  t.is(firstDifference(enc('abc'), enc('abcd')), 3);
  t.is(firstDifference(enc('abc'), enc('abc')), undefined);
  t.deepEqual(byteContext(enc('\x00A'), 1), { from: 0, hex: '00 41', text: '.A' });
});

test('dmesg mtimes are compared to the nanosecond when stat shows them; a missing fraction compares seconds only', (t) => {
  const h = [host('dmesg-ramoops-0', 'r')];
  t.true(compareFiles(h, [guest('dmesg-ramoops-0', 'r', { mtime: { seconds: 1700000000, nsec: 0 } })]).matched);
  const off = compareFiles(h, [guest('dmesg-ramoops-0', 'r', { mtime: { seconds: 1700000001, nsec: 123456000 } })]);
  t.like(off.files[0]?.problems[0], { kind: 'mtime', host: { seconds: 1700000000 }, guest: { seconds: 1700000001 } });
  t.regex(formatComparison(off), /mtime: host 1700000000\.123456000, guest 1700000001\.123456000/);
  t.false(compareFiles(h, [guest('dmesg-ramoops-0', 'r', { mtime: { seconds: 1700000000, nsec: 5 } })]).matched);
  // A record without a time gets the mount time: nothing to compare.
  const untimed = [host('dmesg-ramoops-0', 'r', { mtime: undefined })];
  t.true(compareFiles(untimed, [guest('dmesg-ramoops-0', 'r', { mtime: { seconds: 1, nsec: 0 } })]).matched);
});
