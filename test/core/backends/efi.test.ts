// The OVMF variable store reader and efi-pstore's naming on the real capture
// (deb61-efi-1panic) and damaged copies of it: live variables only, the kernel's name formats
// and ids, and every record that can be read kept past a damaged header.
import test from 'ava';
import { BackendFormatError, extractBackend, parseKernelVersion } from '../../../src/index.js';
import { genericId, parseDumpName } from '../../../src/backends/efi-pstore.js';
import { liveVariables, readVariableStore } from '../../../src/backends/efi-varstore.js';
import { backendFixture } from '../../helpers/backend-fixtures.js';

const fx = backendFixture('deb61-efi-1panic');
const kernel = parseKernelVersion(fx.release);
const read = (b: Uint8Array, k = kernel): ReturnType<typeof extractBackend> => extractBackend('efi', b, { kernel: k });
const codes = (x: ReturnType<typeof extractBackend>): string[] => x.warnings.map((w) => w.code);
const names = (x: ReturnType<typeof extractBackend>): string[] => x.files.map((f) => f.name);
const all = fx.expected.map((e) => e.name);
const dumpVars = readVariableStore(fx.bytes, []).variables.filter((v) => v.name.startsWith('dump-type'));
/** File offset of the variable header of dump part `part`. */
const partAt = (part: number): number => dumpVars.find((v) => v.name.startsWith(`dump-type0-${part}-`))?.offset ?? -1;
const fileOf = (part: number): string => `dmesg-efi-1796474734${String(part).padStart(2, '0')}001`;

test('the store: authenticated headers, 62 variable headers, 14 efi-pstore parts, deleted copies hidden', (t) => {
  const s = readVariableStore(fx.bytes, []);
  t.true(s.authenticated);
  t.is(s.start, 0x64);
  t.is(s.variables.length, 62);
  t.is(dumpVars.length, 14);
  const live = liveVariables(s);
  t.false(live.some((v) => v.name === 'InitialAttemptOrder' && v.state !== 0x3f));
  t.is(live.filter((v) => v.name === 'ConOut').length, 1);
});

test('efivarfs names the guest saw are the dump variables of the store', (t) => {
  t.deepEqual(dumpVars.map((v) => `${v.name}-${v.vendor}`).sort(), [
    ...'1 10 11 12 13 14 2 3 4 5 6 7 8 9'.split(' ').map((p) => `dump-type0-${p}-1-1796474734-C-cfc8fc79-be2e-4ddc-97f0-9f98bfe298a0`),
  ]);
});

test('sscanf formats: with data type, without it, and the oldest three-field one', (t) => {
  t.deepEqual(parseDumpName('dump-type0-3-1-1796474734-C'), { type: 0, part: 3, count: 1, time: 1796474734n, compressed: true });
  t.deepEqual(parseDumpName('dump-type0-3-1-1796474734-D'), { type: 0, part: 3, count: 1, time: 1796474734n, compressed: false });
  t.deepEqual(parseDumpName('dump-type0-3-1-1796474734'), { type: 0, part: 3, count: 1, time: 1796474734n, compressed: false });
  t.deepEqual(parseDumpName('dump-type1-2-1796474734'), { type: 1, part: 2, count: 0, time: 1796474734n, compressed: false });
  t.is(parseDumpName('Boot0000'), undefined);
  t.is(genericId(1796474734n, 14, 1), 179647473414001n);
});

test('kernel 6.2+ names the backend efi_pstore (KBUILD_MODNAME), 6.1 efi', (t) => {
  t.deepEqual(
    names(read(fx.bytes, parseKernelVersion('6.12.118+deb12-amd64'))),
    all.map((n) => n.replace('dmesg-efi-', 'dmesg-efi_pstore-')),
  );
  t.deepEqual(names(read(fx.bytes)), all);
});

test('a deleted dump variable is not shown; the others are', (t) => {
  const b = fx.bytes.slice();
  b[partAt(5) + 2] = 0x3c; // VAR_ADDED & VAR_DELETED & VAR_IN_DELETED_TRANSITION
  const x = read(b);
  t.deepEqual(
    names(x),
    all.filter((n) => n !== fileOf(5)),
  );
  t.true(x.decisions.some((d) => /1 deleted, superseded or boot-time-only efi-pstore variable/.test(d)));
});

test('a variable caught in deletion with no newer copy is still live (firmware rule)', (t) => {
  const b = fx.bytes.slice();
  b[partAt(5) + 2] = 0x3e;
  t.deepEqual(names(read(b)), all);
});

test('a variable without runtime access is invisible to the OS', (t) => {
  const b = fx.bytes.slice();
  b[partAt(2) + 4] = 0x3; // NV | BS, no RT
  t.deepEqual(
    names(read(b)),
    all.filter((n) => n !== fileOf(2)),
  );
});

test('a smashed variable header: the firmware stops there, we resume and keep every other part', (t) => {
  const b = fx.bytes.slice();
  b.fill(0, partAt(3), partAt(3) + 4); // StartId and State of part 3
  const x = read(b);
  t.deepEqual(
    names(x),
    all.filter((n) => n !== fileOf(3)),
  );
  for (const e of fx.expected.filter((ee) => ee.name !== fileOf(3))) {
    const f = x.files.find((ff) => ff.name === e.name);
    t.true(!!f && Buffer.from(f.bytes).equals(Buffer.from(e.bytes)), e.name);
  }
  t.deepEqual(codes(x), ['efi-bad-variable']);
  t.true(x.files.filter((f) => f.notes.some((n) => /behind a damaged variable header/.test(n))).length === 11);
});

test('a damaged payload is kept compressed as .enc.z', (t) => {
  const b = fx.bytes.slice();
  const dataAt = partAt(7) + 60 + 56;
  b.fill(0xff, dataAt, dataAt + 40);
  const x = read(b);
  t.true(names(x).includes(`${fileOf(7)}.enc.z`));
  t.is(x.files.length, 14);
  t.deepEqual(codes(x), ['backend-decompress-failed']);
});

test('a crash-GUID variable that is no dump name ends the kernel read (efi_pstore_read_func returns 0)', (t) => {
  const b = fx.bytes.slice();
  b[partAt(4) + 60] = 'D'.charCodeAt(0); // "Dump-type0-4-…"
  const x = read(b);
  t.deepEqual(
    names(x),
    all.filter((n) => ['01', '02', '03'].some((p) => n.endsWith(`${p}001`))),
  );
  t.deepEqual(codes(x), ['read-stopped']);
});

test('a file without a variable firmware volume is a BackendFormatError', (t) => {
  const e = t.throws(() => read(new Uint8Array(0x1000)));
  t.true(e instanceof BackendFormatError);
  t.regex(e?.message ?? '', /no _FVH firmware volume signature/);
});

test('a store cut short keeps the parts before the cut', (t) => {
  const x = read(fx.bytes.slice(0, partAt(9) + 100));
  t.deepEqual(
    names(x),
    all.filter((n) => ['01', '02', '03', '04', '05', '06', '07', '08'].some((p) => n.endsWith(`${p}001`))),
  );
});
