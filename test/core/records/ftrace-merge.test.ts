// The per-CPU ftrace merge against a line-by-line port of the kernel's algorithm:
// fs/pstore/ram.c ramoops_pstore_read (zones 0..nr_cpu_ids-1, each with data merged into the
// running buffer) and fs/pstore/ftrace.c pstore_ftrace_combine_log (identical in 6.1 and 6.12):
// drop `size % 24` leading bytes of both logs, two-way merge by pstore_ftrace_read_timestamp
// (ts >> 8 outside 32-bit ARM), `<` so that on equal counters the source (later zone) goes first.
import test from 'ava';
import fc from 'fast-check';
import { combineFtrace, formatFtrace, FTRACE_RECORD_SIZE } from '../../../src/records/ftrace/format.js';

const R = FTRACE_RECORD_SIZE;

/** struct pstore_ftrace_record {ip, parent_ip, ts} little-endian, ts = counter << 8 | cpu. */
function rec(ip: bigint, parent: bigint, counter: bigint, cpu: number): Uint8Array {
  const b = new Uint8Array(R);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, ip, true);
  dv.setBigUint64(8, parent, true);
  dv.setBigUint64(16, (counter << 8n) | BigInt(cpu), true);
  return b;
}

function cat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** pstore_ftrace_combine_log, transcribed (indices instead of pointers). */
function kernelCombine(dest: Uint8Array, src: Uint8Array): Uint8Array {
  const readTs = (buf: Uint8Array, idx: number, off: number): bigint => new DataView(buf.buffer, buf.byteOffset).getBigUint64(off + idx * R + 16, true) >> 8n;
  const destOff = dest.length % R;
  let destSize = dest.length - destOff;
  const srcOff = src.length % R;
  let srcSize = src.length - srcOff;
  const merged: Uint8Array[] = [];
  let destIdx = 0;
  let srcIdx = 0;
  const take = (buf: Uint8Array, off: number, idx: number): Uint8Array => buf.subarray(off + idx * R, off + (idx + 1) * R);
  while (destSize > 0 && srcSize > 0) {
    if (readTs(dest, destIdx, destOff) < readTs(src, srcIdx, srcOff)) {
      merged.push(take(dest, destOff, destIdx++));
      destSize -= R;
    } else {
      merged.push(take(src, srcOff, srcIdx++));
      srcSize -= R;
    }
  }
  while (destSize > 0) {
    merged.push(take(dest, destOff, destIdx++));
    destSize -= R;
  }
  while (srcSize > 0) {
    merged.push(take(src, srcOff, srcIdx++));
    srcSize -= R;
  }
  return cat(merged);
}

/** ramoops_pstore_read's per-CPU loop: zones without data are skipped (prz_ok). */
function kernelRead(zones: readonly Uint8Array[]): Uint8Array {
  let log: Uint8Array = new Uint8Array(0);
  for (const z of zones) if (z.length > 0) log = kernelCombine(log, z);
  return log;
}

test('two CPUs: interleaved by counter, CPU bits ignored, equal counters put the later zone first', (t) => {
  const cpu0 = cat([rec(0x10n, 0x1n, 1n, 0), rec(0x11n, 0x1n, 3n, 0), rec(0x12n, 0x1n, 5n, 0)]);
  const cpu1 = cat([rec(0x20n, 0x2n, 2n, 1), rec(0x21n, 0x2n, 3n, 1), rec(0x22n, 0x2n, 9n, 1)]);
  const merged = combineFtrace(combineFtrace(new Uint8Array(0), cpu0), cpu1);
  const ips = Array.from({ length: merged.length / R }, (_, i) => new DataView(merged.buffer, merged.byteOffset).getBigUint64(i * R, true));
  t.deepEqual(ips, [0x10n, 0x20n, 0x21n, 0x11n, 0x12n, 0x22n]);
  t.deepEqual(merged, kernelRead([cpu0, cpu1]));
  // The text: one line per record, CPU from the low 8 bits, ts the counter.
  t.is(formatFtrace(merged, '5.2', undefined).split('\n')[1], 'CPU:1 ts:2 00000020  00000002  0x20 <- 0x2');
});

test('a log whose length is not a multiple of 24 loses its first len % 24 bytes, as in the kernel', (t) => {
  const cpu0 = cat([new Uint8Array([0xaa, 0xbb, 0xcc]), rec(0x10n, 0x1n, 4n, 0)]);
  const cpu1 = cat([new Uint8Array(5).fill(0xee), rec(0x20n, 0x2n, 1n, 1)]);
  const merged = combineFtrace(combineFtrace(new Uint8Array(0), cpu0), cpu1);
  t.is(merged.length, 2 * R);
  t.deepEqual(merged, kernelRead([cpu0, cpu1]));
});

test("property: merging any per-CPU zones equals the kernel's algorithm, byte for byte", (t) => {
  const record = fc.record({
    ip: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    parent: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    counter: fc.bigInt({ min: 0n, max: 40n }),
    cpu: fc.integer({ min: 0, max: 255 }),
  });
  // Real zones hold ascending counters per CPU (a ring can wrap: not assumed sorted here either).
  const zone = fc
    .tuple(fc.uint8Array({ maxLength: 23 }), fc.array(record, { maxLength: 12 }))
    .map(([junk, rs]) => cat([junk, ...rs.map((r) => rec(r.ip, r.parent, r.counter, r.cpu))]));
  fc.assert(
    fc.property(fc.array(zone, { minLength: 1, maxLength: 6 }), (zones) => {
      let ours: Uint8Array = new Uint8Array(0);
      for (const z of zones) if (z.length > 0) ours = combineFtrace(ours, z);
      return Buffer.from(ours).equals(Buffer.from(kernelRead(zones)));
    }),
    { numRuns: 2000 },
  );
  t.pass();
});
