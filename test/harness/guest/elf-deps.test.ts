// The DT_NEEDED/PT_INTERP reader the arm64 image uses instead of ldd: synthetic files in all
// four class/byte-order combinations, the host's own dropbear against readelf, and bad input.
import test from 'ava';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { HarnessError } from '../../../harness/errors.js';
import { EM_AARCH64, elfDynamicInfo } from '../../../harness/guest/elf-deps.js';

interface Synth {
  readonly bits: 32 | 64;
  readonly le: boolean;
  readonly machine: number;
  readonly interp?: string;
  readonly needed: readonly string[];
}

/** A minimal executable: header, PT_LOAD (whole file) + PT_INTERP + PT_DYNAMIC, interp, strtab, dynamic. */
function synthElf(s: Synth): Uint8Array {
  const ehsize = s.bits === 64 ? 64 : 52;
  const phent = s.bits === 64 ? 56 : 32;
  const phnum = s.interp === undefined ? 2 : 3;
  const vbase = 0x400000;
  let at = ehsize + phnum * phent;
  const interpOff = at;
  const interp = s.interp === undefined ? new Uint8Array(0) : new TextEncoder().encode(s.interp + '\0');
  at += interp.length;
  at = Math.ceil(at / 8) * 8;
  const strOff = at;
  const strs: number[] = [];
  let table = '\0';
  for (const n of s.needed) {
    strs.push(table.length);
    table += n + '\0';
  }
  at += table.length;
  at = Math.ceil(at / 8) * 8;
  const dynOff = at;
  const dynEnt = s.bits === 64 ? 16 : 8;
  const dyn: (readonly [number, number])[] = [...strs.map((o) => [1, o] as const), [5, vbase + strOff], [10, table.length], [0, 0]];
  const total = dynOff + dyn.length * dynEnt;
  const b = new Uint8Array(total);
  const dv = new DataView(b.buffer);
  const u16 = (o: number, v: number): void => dv.setUint16(o, v, s.le);
  const u32 = (o: number, v: number): void => dv.setUint32(o, v, s.le);
  const word = (o: number, v: number): void => (s.bits === 64 ? dv.setBigUint64(o, BigInt(v), s.le) : dv.setUint32(o, v, s.le));
  b.set([0x7f, 0x45, 0x4c, 0x46, s.bits === 64 ? 2 : 1, s.le ? 1 : 2, 1]);
  u16(16, 2);
  u16(18, s.machine);
  u32(20, 1);
  word(s.bits === 64 ? 32 : 28, ehsize);
  u16(s.bits === 64 ? 52 : 40, ehsize);
  u16(s.bits === 64 ? 54 : 42, phent);
  u16(s.bits === 64 ? 56 : 44, phnum);
  const ph = (i: number, type: number, offset: number, filesz: number): void => {
    const p = ehsize + i * phent;
    u32(p, type);
    if (s.bits === 64) {
      word(p + 8, offset);
      word(p + 16, vbase + offset);
      word(p + 24, vbase + offset);
      word(p + 32, filesz);
      word(p + 40, filesz);
    } else {
      u32(p + 4, offset);
      u32(p + 8, vbase + offset);
      u32(p + 12, vbase + offset);
      u32(p + 16, filesz);
      u32(p + 20, filesz);
    }
  };
  ph(0, 1, 0, total);
  ph(1, 2, dynOff, dyn.length * dynEnt);
  if (s.interp !== undefined) ph(2, 3, interpOff, interp.length);
  b.set(interp, interpOff);
  b.set(new TextEncoder().encode(table), strOff);
  dyn.forEach(([tag, val], i) => {
    word(dynOff + i * dynEnt, tag);
    word(dynOff + i * dynEnt + dynEnt / 2, val);
  });
  return b;
}

for (const bits of [64, 32] as const) {
  for (const le of [true, false]) {
    test(`ELF${bits} ${le ? 'LE' : 'BE'}: interpreter and NEEDED in order`, (t) => {
      const needed = ['libtomcrypt.so.1', 'libz.so.1', 'libc.so.6'];
      const info = elfDynamicInfo(synthElf({ bits, le, machine: EM_AARCH64, interp: '/lib/ld-linux-aarch64.so.1', needed }));
      t.is(info.bits, bits);
      t.is(info.littleEndian, le);
      t.is(info.machine, EM_AARCH64);
      t.is(info.interpreter, '/lib/ld-linux-aarch64.so.1');
      t.deepEqual(info.needed, needed);
    });
  }
}

test('a library (no PT_INTERP) still lists its NEEDED; a file without PT_DYNAMIC needs nothing', (t) => {
  const lib = elfDynamicInfo(synthElf({ bits: 64, le: true, machine: EM_AARCH64, needed: ['libgmp.so.10'] }));
  t.is(lib.interpreter, undefined);
  t.deepEqual(lib.needed, ['libgmp.so.10']);
  const b = synthElf({ bits: 64, le: true, machine: EM_AARCH64, needed: [] });
  new DataView(b.buffer).setUint16(56, 1, true); // only the PT_LOAD: a static executable
  t.deepEqual(elfDynamicInfo(b).needed, []);
});

test('bad input is a HarnessError naming the file, never a RangeError', (t) => {
  t.throws(() => elfDynamicInfo(new TextEncoder().encode('#!/bin/sh\necho not elf, but long enough for a header'), 'x'), {
    instanceOf: HarnessError,
    message: /x: not an ELF file/,
  });
  const good = synthElf({ bits: 64, le: true, machine: EM_AARCH64, interp: '/lib/ld.so', needed: ['libc.so.6'] });
  for (const cut of [70, 200, good.length - 20]) {
    t.throws(() => elfDynamicInfo(good.subarray(0, cut), 'cut'), { instanceOf: HarnessError }, `cut at ${cut}`);
  }
  const badName = good.slice();
  // The first DT_NEEDED's string offset far past the table.
  const dynOff = good.length - 4 * 16;
  new DataView(badName.buffer).setBigUint64(dynOff + 8, 0xfffffn, true);
  t.throws(() => elfDynamicInfo(badName, 'b'), { instanceOf: HarnessError, message: /outside the string table/ });
});

const hostDropbear = '/usr/sbin/dropbear';
const hasReadelf = (process.env['PATH'] ?? '').split(':').some((d) => d !== '' && existsSync(`${d}/readelf`));
(existsSync(hostDropbear) && hasReadelf ? test : test.skip)('the host dropbear: the same NEEDED list and interpreter as readelf', async (t) => {
  const info = elfDynamicInfo(new Uint8Array(await readFile(hostDropbear)), hostDropbear);
  const dyn = (await execa('readelf', ['-d', hostDropbear], { env: { LC_ALL: 'C' } })).stdout;
  const want = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  t.deepEqual(info.needed, want);
  const ph = (await execa('readelf', ['-l', hostDropbear], { env: { LC_ALL: 'C' } })).stdout;
  t.is(info.interpreter, /Requesting program interpreter: ([^\]]+)\]/.exec(ph)?.[1]);
});
