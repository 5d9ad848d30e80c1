// The kdump header in the other word sizes and byte orders. No writer on this machine makes
// them (QEMU and makedumpfile write the dumped machine's layout: x86_64 here), so we re-lay the
// headers and descriptors of the real QEMU fixture by the struct definitions (makedumpfile
// diskdump_mod.h; QEMU include/sysemu/dump.h DiskDumpHeader32/64, KdumpSubHeader32/64,
// PageDescriptor), keeping its real bitmaps and page data, and read them back.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDump, parseKdumpHeader, type ByteSource, type KdumpMemory } from '../../../src/index.js';
import { repoRoot } from '../../helpers/paths.js';
import { REGION, TEXT, textPage } from './fixtures/contents.js';

const source = (b: Uint8Array): ByteSource => ({ size: b.length, read: (p, n) => b.subarray(p, p + n) });
const original = new Uint8Array(readFileSync(join(repoRoot(), 'test', 'core', 'dump', 'fixtures', 'qemu-zlib.kdump')));

/** Re-lays the 64-bit LE fixture's header, sub header and page descriptors as `bits`/`le`. */
function relay(bits: 32 | 64, le: boolean, machine: string): Uint8Array {
  const src = new DataView(original.buffer, original.byteOffset, original.byteLength);
  const bs = src.getUint32(428, true);
  const sub = src.getUint32(432, true);
  const bm = src.getUint32(436, true);
  const out = original.slice();
  const v = new DataView(out.buffer);
  // Header block: signature and utsname stay; the rest from header_version on is rewritten.
  out.fill(0, 8, 12);
  out.fill(0, 12 + 4 * 65, 12 + 5 * 65);
  for (let i = 0; i < machine.length; i++) out[12 + 4 * 65 + i] = machine.charCodeAt(i);
  out.fill(0, 402, bs);
  v.setUint32(8, src.getUint32(8, true), le);
  const status = bits === 64 ? 424 : 412;
  // status, block_size, sub_hdr_size, bitmap_blocks, max_mapnr, total_ram_blocks, device_blocks,
  // written_blocks, current_cpu, nr_cpus
  for (let k = 0; k < 10; k++) v.setUint32(status + 4 * k, src.getUint32(424 + 4 * k, true), le);
  // kdump_sub_header, from the 64-bit LE original.
  const s64 = (at: number): bigint => src.getBigUint64(bs + at, true);
  const fields = {
    physBase: s64(0),
    dumpLevel: src.getUint32(bs + 8, true),
    split: src.getUint32(bs + 12, true),
    startPfn: s64(16),
    endPfn: s64(24),
    maxMapnr64: s64(96),
  };
  out.fill(0, bs, bs * (1 + sub));
  if (bits === 64) {
    v.setBigUint64(bs, fields.physBase, le);
    v.setUint32(bs + 8, fields.dumpLevel, le);
    v.setUint32(bs + 12, fields.split, le);
    v.setBigUint64(bs + 16, fields.startPfn, le);
    v.setBigUint64(bs + 24, fields.endPfn, le);
    v.setBigUint64(bs + 96, fields.maxMapnr64, le);
  } else {
    v.setUint32(bs, Number(fields.physBase & 0xffffffffn), le);
    v.setUint32(bs + 4, fields.dumpLevel, le);
    v.setUint32(bs + 8, fields.split, le);
    v.setUint32(bs + 12, Number(fields.startPfn), le);
    v.setUint32(bs + 16, Number(fields.endPfn), le);
    v.setBigUint64(bs + 72, fields.maxMapnr64, le);
  }
  // Page descriptors: offset (i64), size, flags (u32), page_flags (u64).
  const descAt = bs * (1 + sub + bm);
  const bitmap2 = original.subarray(bs * (1 + sub) + (bm * bs) / 2, bs * (1 + sub + bm));
  let n = 0;
  for (const b of bitmap2) for (let x = b; x; x >>= 1) n += x & 1;
  for (let i = 0; i < n; i++) {
    const at = descAt + 24 * i;
    v.setBigUint64(at, src.getBigUint64(at, true), le);
    v.setUint32(at + 8, src.getUint32(at + 8, true), le);
    v.setUint32(at + 12, src.getUint32(at + 12, true), le);
    v.setBigUint64(at + 16, src.getBigUint64(at + 16, true), le);
  }
  return out;
}

const variants = [
  [64, false, 's390x'],
  [32, true, 'i686'],
  [32, false, 'ppc'],
  // QEMU writes the 32-bit header for a 32-bit x86 guest with its target's name, x86_64.
  [32, true, 'x86_64'],
] as const;

for (const [bits, le, machine] of variants) {
  test(`kdump ${bits}-bit ${le ? 'LE' : 'BE'} (${machine}): header fields and pages read back`, (t) => {
    const file = relay(bits, le, machine);
    const h = parseKdumpHeader(source(file));
    t.is(h.bits, bits);
    t.is(h.littleEndian, le);
    t.is(h.blockSize, 4096);
    t.is(h.headerVersion, 6);
    t.is(h.utsname.machine, machine);
    t.is(h.dumpLevel, 1);
    const mem = openDump(source(file)) as KdumpMemory;
    t.true(Buffer.from(mem.read(TEXT.address, 4096)).equals(textPage(0)));
    t.deepEqual(mem.read(REGION, 4096), openDump(source(original)).read(REGION, 4096));
    t.deepEqual(mem.ranges(), openDump(source(original)).ranges());
  });
}
