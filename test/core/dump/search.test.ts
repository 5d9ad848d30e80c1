// findAll through ELF and QEMU RAM readers: the source's file-offset hits become physical
// addresses, and the answer equals a plain search of memory read through read() — including
// needles that straddle segment ends, and file hits that are not memory (headers, holes).
import test from 'ava';
import { openElf, qemuRamMemory, type ByteSource, type PhysicalMemory } from '../../../src/index.js';
import { writeElf } from './elf-writer.js';

const NEEDLE = new TextEncoder().encode('DBGC');

/** A searchable in-memory source (the harness's file source does the same with a file). */
function searchable(b: Uint8Array): ByteSource {
  return {
    size: b.length,
    read: (p, n) => b.subarray(p, p + n),
    findAll(needle, max) {
      const out: number[] = [];
      for (
        let i = Buffer.from(b.buffer, b.byteOffset, b.byteLength).indexOf(Buffer.from(needle));
        i >= 0 && out.length < max;
        i = Buffer.from(b.buffer, b.byteOffset, b.byteLength).indexOf(Buffer.from(needle), i + 1)
      )
        out.push(i);
      return out;
    },
  };
}

/** The reference: read every range and search it. */
function bruteForce(mem: PhysicalMemory, needle: Uint8Array): number[] {
  const out: number[] = [];
  const rs = mem.ranges();
  for (const r of rs) {
    const buf = Buffer.from(mem.read(r.start, r.end - r.start));
    // Let a needle run on into a directly following range.
    const next = rs.find((x) => x.start === r.end);
    const tail = next ? Buffer.from(mem.read(next.start, Math.min(needle.length - 1, next.end - next.start))) : Buffer.alloc(0);
    const all = Buffer.concat([buf, tail]);
    for (let i = all.indexOf(Buffer.from(needle)); i >= 0 && i < buf.length; i = all.indexOf(Buffer.from(needle), i + 1)) out.push(r.start + i);
  }
  return out;
}

test('ELF: hits in segments, across physically adjacent segments; none in notes or across file-only neighbours', (t) => {
  const a = new Uint8Array(0x2000);
  const b = new Uint8Array(0x1000);
  const c = new Uint8Array(0x800);
  a.set(NEEDLE, 0x100);
  a.set(NEEDLE.subarray(0, 2), 0x1ffe); // "DB" ends A ...
  b.set(NEEDLE.subarray(2), 0); // ... "GC" starts B, which follows A physically but not in the file
  c.set(NEEDLE.subarray(0, 3), 0x7fd); // "DBG" ends C's file bytes; B's first byte 'G' follows in the file only
  b.set(NEEDLE, 0x800);
  const file = writeElf({
    bits: 64,
    littleEndian: true,
    loads: [
      { paddr: 0x1000, data: a },
      { paddr: 0x10000, data: c, memsz: 0x2000 },
      { paddr: 0x3000, data: b },
    ],
    notes: [{ name: 'VMCOREINFO', type: 0, desc: new TextEncoder().encode('xxDBGCxx') }],
  });
  const mem = openElf(searchable(file));
  if (!mem.findAll) return t.fail('no findAll');
  const hits = mem.findAll(NEEDLE, 100);
  t.deepEqual(hits, [0x1100, 0x2ffe, 0x3800]);
  t.deepEqual(hits, bruteForce(mem, NEEDLE));
  t.deepEqual(mem.findAll(NEEDLE, 2), [0x1100, 0x2ffe]);
});

test('ELF without a searchable source offers no findAll', (t) => {
  const file = writeElf({ bits: 32, littleEndian: false, loads: [{ paddr: 0, data: new Uint8Array(16) }] });
  t.true(openElf({ size: file.length, read: (p, n) => file.subarray(p, p + n) }).findAll === undefined);
});

test('QEMU RAM (q35, 2.75 GiB file, sparse): no hits from the legacy hole or across the 2 GiB split', (t) => {
  const ram = 0xb0000000; // q35 splits at 2 GiB from here on
  // A sparse file: only the pages we plant exist.
  const pages = new Map<number, Uint8Array>();
  const plant = (off: number, bytes: Uint8Array): void => {
    for (let i = 0; i < bytes.length; i++) {
      const page = Math.floor((off + i) / 4096);
      let p = pages.get(page);
      if (!p) pages.set(page, (p = new Uint8Array(4096)));
      p[(off + i) % 4096] = bytes[i] as number;
    }
  };
  plant(0x8000000, NEEDLE); // low RAM
  plant(0xb8000, NEEDLE); // legacy hole: in the file, not guest RAM
  plant(0x80000000 - 2, NEEDLE); // straddles file offset 2 GiB = the end of low RAM / start of high RAM at 4 GiB
  plant(0x90000000, NEEDLE); // high RAM: 4 GiB + 256 MiB
  const src: ByteSource = {
    size: ram,
    read(pos, len) {
      const out = new Uint8Array(Math.max(0, Math.min(len, ram - pos)));
      for (const [page, bytes] of pages) {
        const s = page * 4096;
        if (s + 4096 <= pos || s >= pos + out.length) continue;
        for (let i = Math.max(s, pos); i < Math.min(s + 4096, pos + out.length); i++) out[i - pos] = bytes[i - s] as number;
      }
      return out;
    },
    findAll(needle, max) {
      const out: number[] = [];
      for (const page of [...pages.keys()].sort((x, y) => x - y)) {
        const buf = this.read(page * 4096, 4096 + needle.length - 1);
        for (let i = Buffer.from(buf).indexOf(Buffer.from(needle)); i >= 0 && i < 4096; i = Buffer.from(buf).indexOf(Buffer.from(needle), i + 1))
          out.push(page * 4096 + i);
      }
      return out.slice(0, max);
    },
  };
  const mem = qemuRamMemory(src, 'q35', ram);
  if (!mem.findAll) return t.fail('no findAll');
  t.deepEqual(mem.findAll(NEEDLE, 100), [0x8000000, 0x100000000 + 0x10000000]);
});
