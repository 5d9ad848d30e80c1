// The ELF vmcore reader in all four class/byte-order combinations, on files from our tiny
// writer whose headers binutils' readelf must read the same way (so the writer is not the only
// judge). Real QEMU ELF dumps are read in test/integration/dump-formats.test.ts.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddressNotCapturedError, DumpFormatError, TruncatedError, elfNotes, elfVmcoreinfo, openDump, openElf, type ByteSource } from '../../../src/index.js';
import { writeElf, type TestElf } from './elf-writer.js';
import { readFileSync } from 'node:fs';
import { configFromCmdline, extract } from '../../../src/index.js';
import { loadFixtures } from '../../helpers/fixtures.js';
import { repoRoot } from '../../helpers/paths.js';
import { REGION } from './fixtures/contents.js';

function pattern(seed: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const source = (b: Uint8Array): ByteSource => ({ size: b.length, read: (p, n) => b.subarray(p, p + n) });

const A = pattern(1, 0x2000);
const B = pattern(2, 0x1000);
const C = pattern(3, 0x800);
const VMCOREINFO = 'OSRELEASE=6.1.0-test\nPAGESIZE=4096\n';

function spec(bits: 32 | 64, littleEndian: boolean, extra: Partial<TestElf> = {}): TestElf {
  return {
    bits,
    littleEndian,
    // File order A, C, B: B continues A physically but not in the file.
    loads: [
      { paddr: 0x1000, data: A },
      { paddr: 0x10000, data: C, memsz: 0x2000 },
      { paddr: 0x3000, data: B },
    ],
    notes: [
      { name: 'CORE', type: 1, desc: pattern(4, 0x150) },
      { name: 'VMCOREINFO', type: 0, desc: new TextEncoder().encode(VMCOREINFO) },
    ],
    ...extra,
  };
}

const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

const combos: readonly [32 | 64, boolean][] = [
  [64, true],
  [64, false],
  [32, true],
  [32, false],
];

for (const [bits, le] of combos) {
  const name = `ELF${bits} ${le ? 'LE' : 'BE'}`;
  const file = writeElf(spec(bits, le));

  test(`${name}: ranges are the PT_LOADs by physical address, merged`, (t) => {
    const mem = openElf(source(file));
    t.deepEqual(mem.ranges(), [
      { start: 0x1000, end: 0x4000 },
      { start: 0x10000, end: 0x12000 },
    ]);
    t.is(mem.elf.bits, bits);
    t.is(mem.elf.littleEndian, le);
    t.regex(mem.description, new RegExp(`ELF${bits} ${le ? 'LE' : 'BE'}`));
  });

  test(`${name}: reads inside, across adjacent segments and into the zero-filled tail`, (t) => {
    const mem = openElf(source(file));
    t.deepEqual(mem.read(0x1000, 0x2000), A);
    t.deepEqual(mem.read(0x2ff8, 16), cat(A.subarray(0x1ff8), B.subarray(0, 8)));
    t.deepEqual(mem.read(0x1000, 0x3000), cat(A, B));
    t.deepEqual(mem.read(0x107f8, 16), cat(C.subarray(0x7f8), new Uint8Array(8)));
    t.deepEqual(mem.read(0x11ff0, 16), new Uint8Array(16));
    t.deepEqual(mem.read(0x1234, 0), new Uint8Array(0));
  });

  test(`${name}: a gap or the end of the segments is AddressNotCaptured naming the address`, (t) => {
    const mem = openElf(source(file));
    const gap = t.throws(() => mem.read(0x3ffc, 8), { instanceOf: AddressNotCapturedError });
    t.is(gap?.address, 0x3ffc);
    t.regex(gap?.message ?? '', /0x4000/);
    const before = t.throws(() => mem.read(0x800, 4), { instanceOf: AddressNotCapturedError });
    t.is(before?.address, 0x800);
    t.throws(() => mem.read(0x12000, 1), { instanceOf: AddressNotCapturedError });
  });

  test(`${name}: notes and VMCOREINFO`, (t) => {
    const notes = elfNotes(source(file));
    t.deepEqual(
      notes.map((n) => [n.name, n.type, n.desc.length]),
      [
        ['CORE', 1, 0x150],
        ['VMCOREINFO', 0, VMCOREINFO.length],
      ],
    );
    t.deepEqual(notes[0]?.desc, pattern(4, 0x150));
    t.is(elfVmcoreinfo(source(file)), VMCOREINFO);
  });

  test(`${name}: PN_XNUM (count in section header 0) reads the same`, (t) => {
    const x = writeElf(spec(bits, le, { xnum: true }));
    const mem = openElf(source(x));
    t.is(mem.elf.loads.length, 3);
    t.deepEqual(mem.read(0x2ff8, 16), cat(A.subarray(0x1ff8), B.subarray(0, 8)));
  });

  test(`${name}: openDump detects it`, (t) => {
    const mem = openDump(source(file), { name: 'test.elf' });
    t.regex(mem.description, /test\.elf/);
    t.deepEqual(mem.read(0x3000, 0x1000), B);
  });
}

function hasReadelf(): boolean {
  return spawnSync('readelf', ['--version']).status === 0;
}

(hasReadelf() ? test : test.skip)("binutils readelf reads our writer's headers and notes as we do", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rh-elf-'));
  try {
    for (const [bits, le] of combos) {
      const path = join(dir, `core${bits}${le ? 'le' : 'be'}`);
      const file = writeElf(spec(bits, le));
      writeFileSync(path, file);
      const out = execFileSync('readelf', ['-lnW', path], { encoding: 'utf8' });
      // LOAD  Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align
      const loads = [...out.matchAll(/^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)/gm)].map((m) => ({
        offset: Number(m[1]),
        paddr: Number(m[3]),
        filesz: Number(m[4]),
        memsz: Number(m[5]),
      }));
      const ours = openElf(source(file)).elf.loads.map((l) => ({ offset: l.offset, paddr: l.paddr, filesz: l.filesz, memsz: l.memsz }));
      t.deepEqual(ours, loads, `ELF${bits} ${le ? 'LE' : 'BE'} program headers`);
      t.regex(out, /CORE\s+0x00000150/);
      t.regex(out, /VMCOREINFO\s+0x0000002[0-9a-f]/);
      t.regex(execFileSync('readelf', ['-h', path], { encoding: 'utf8' }), le ? /little endian/ : /big endian/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('overlapping segments (QEMU paging=true maps a page more than once): the first covering segment serves it', (t) => {
  const file = writeElf({
    bits: 64,
    littleEndian: true,
    loads: [
      { paddr: 0x2000, data: A.subarray(0x1000), vaddr: 0xffff0000 },
      { paddr: 0x1000, data: A },
    ],
  });
  const mem = openElf(source(file));
  t.deepEqual(mem.ranges(), [{ start: 0x1000, end: 0x3000 }]);
  t.deepEqual(mem.read(0x1000, 0x2000), A);
});

test('truncated ELF header: TruncatedError at offset 0', (t) => {
  const file = writeElf(spec(64, true)).subarray(0, 40);
  const e = t.throws(() => openElf(source(file)), { instanceOf: TruncatedError });
  t.is(e?.offset, 0);
  t.is(e?.need, 64);
});

test('program header table past the end: TruncatedError naming its offset', (t) => {
  const file = writeElf(spec(64, true)).subarray(0, 100);
  const e = t.throws(() => openElf(source(file)), { instanceOf: TruncatedError });
  t.is(e?.offset, 64);
  t.regex(e?.message ?? '', /program header table.*0x40/);
});

test('a segment pointing past the end of the file: ranges stop where the file does, reads name the file offset', (t) => {
  const full = writeElf(spec(64, true));
  const mem0 = openElf(source(full));
  const b = mem0.elf.loads.find((l) => l.paddr === 0x3000);
  if (!b) return t.fail('no segment B');
  // Cut the file 0x100 bytes into B's data.
  const cut = full.subarray(0, b.offset + 0x100);
  const mem = openElf(source(cut));
  t.deepEqual(mem.ranges(), [
    { start: 0x1000, end: 0x3100 },
    { start: 0x10000, end: 0x12000 },
  ]);
  t.deepEqual(mem.read(0x3000, 0x100), B.subarray(0, 0x100));
  const e = t.throws(() => mem.read(0x30f0, 0x20), { instanceOf: AddressNotCapturedError });
  t.is(e?.address, 0x30f0);
  t.regex(e?.message ?? '', new RegExp(`file offset 0x${(b.offset + 0x100).toString(16)}.*truncated`));
});

test('not a core file, bad class, bad byte order: DumpFormatError with the offset', (t) => {
  const exec = writeElf({ ...spec(64, true), type: 2 });
  t.is(t.throws(() => openElf(source(exec)), { instanceOf: DumpFormatError })?.offset, 16);
  const badClass = writeElf(spec(64, true)).slice();
  badClass[4] = 3;
  t.is(t.throws(() => openElf(source(badClass)), { instanceOf: DumpFormatError })?.offset, 4);
  const badData = writeElf(spec(64, true)).slice();
  badData[5] = 0;
  t.is(t.throws(() => openElf(source(badData)), { instanceOf: DumpFormatError })?.offset, 5);
});

test('forcing --format kdump on an ELF file is a DumpFormatError', (t) => {
  t.throws(() => openDump(source(writeElf(spec(64, true))), { format: 'kdump' }), { instanceOf: DumpFormatError });
});

// A real one: QEMU 7.2's dump-guest-memory ELF (fixtures/README.md), which also puts section
// headers between the ELF header and the program headers.
const qemuElfPath = join(repoRoot(), 'test', 'core', 'dump', 'fixtures', 'qemu-region.elf');

test("real QEMU ELF: segment by physical address, QEMU's notes, the planted capture extracts", (t) => {
  const file = new Uint8Array(readFileSync(qemuElfPath));
  const mem = openElf(source(file));
  t.deepEqual(mem.ranges(), [{ start: REGION - 4096, end: REGION + 0x100000 + 4096 }]);
  t.is(mem.elf.bits, 64);
  t.true(mem.elf.littleEndian);
  // EM_386: the paused CPU never left real mode, and QEMU names the machine by the CPU's mode
  // (target/i386/arch_dump.c cpu_get_dump_info) while the class follows the RAM's extent.
  t.is(mem.elf.machine, 3);
  t.deepEqual([...new Set(elfNotes(source(file)).map((n) => n.name))], ['CORE', 'QEMU']);
  t.is(elfVmcoreinfo(source(file)), undefined);
  const capture = loadFixtures().find((f) => f.name === 'c61-full-deflate');
  if (!capture) return t.fail('fixture c61-full-deflate missing');
  t.true(Buffer.from(mem.read(REGION, capture.region.length)).equals(Buffer.from(capture.region)));
  const x = extract(mem, { ...configFromCmdline(capture.cmdline, capture.release), memAddress: REGION });
  t.deepEqual(x.files.map((f) => f.name).sort(), capture.expected.map((e) => e.name).sort());
  t.throws(() => mem.read(REGION - 8192, 16), { instanceOf: AddressNotCapturedError });
});

(hasReadelf() ? test : test.skip)('real QEMU ELF: readelf sees the same segment and notes', (t) => {
  const out = execFileSync('readelf', ['-lnW', qemuElfPath], { encoding: 'utf8' });
  const m = /^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)/m.exec(out);
  const l = openElf(source(new Uint8Array(readFileSync(qemuElfPath)))).elf.loads[0];
  t.deepEqual([l?.offset, l?.paddr, l?.filesz, l?.memsz], [Number(m?.[1]), Number(m?.[3]), Number(m?.[4]), Number(m?.[5])]);
  const notes = [...out.matchAll(/^\s+(CORE|QEMU)\s+(0x[0-9a-f]+)/gm)].map((x) => [x[1], Number(x[2])]);
  t.deepEqual(
    notes,
    elfNotes(source(new Uint8Array(readFileSync(qemuElfPath)))).map((n) => [n.name, n.desc.length]),
  );
});
