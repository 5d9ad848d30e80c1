// ftrace records of 32-bit and big-endian kernels. struct pstore_ftrace_record
// (include/linux/pstore.h, 6.1 and 6.12) is {unsigned long ip; unsigned long parent_ip; u64 ts}:
// 16 bytes on 32-bit ARM (ts 8-aligned right after the two words), 24 on 64-bit. ARM kernels
// with NR_CPUS <= 4 (PSTORE_CPU_IN_IP 0x3; <= 2 with THUMB: 0x1) keep the CPU in ip's low bits
// and the whole ts is the timestamp; the others keep the CPU in ts's low 8 bits (TS_CPU_SHIFT).
// The merge is pstore_ftrace_combine_log, transcribed below for any record size and decoder.
import test from 'ava';
import { cpuAbi, DEFAULT_ABI, type CpuAbi } from '../../../src/config/abi.js';
import { combineFtrace, formatFtrace, ftraceRecordLayout } from '../../../src/records/ftrace/format.js';
import { parseSystemMap } from '../../../src/records/ftrace/symbols.js';

const ARM32: CpuAbi = cpuAbi(32, 'le');
const ARM32_CPU_IN_IP: CpuAbi = cpuAbi(32, 'le', 3);
const BE64: CpuAbi = cpuAbi(64, 'be');

/** One record as the writing kernel stores it: ip, parent_ip as words, ts as u64, in the ABI's byte order. */
function rec(abi: CpuAbi, ip: bigint, parent: bigint, ts: bigint): Uint8Array {
  const w = abi.wordBytes;
  const b = new Uint8Array(2 * w + 8);
  const dv = new DataView(b.buffer);
  if (w === 8) {
    dv.setBigUint64(0, ip, abi.littleEndian);
    dv.setBigUint64(8, parent, abi.littleEndian);
  } else {
    dv.setUint32(0, Number(ip), abi.littleEndian);
    dv.setUint32(4, Number(parent), abi.littleEndian);
  }
  dv.setBigUint64(2 * w, ts, abi.littleEndian);
  return b;
}

function cat(parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

/** pstore_ftrace_combine_log with the record size and read_timestamp of the ABI, indices for pointers. */
function kernelCombine(dest: Uint8Array, src: Uint8Array, R: number, readTs: (buf: Uint8Array, at: number) => bigint): Uint8Array {
  const destOff = dest.length % R;
  const srcOff = src.length % R;
  let dn = (dest.length - destOff) / R;
  let sn = (src.length - srcOff) / R;
  const merged: Uint8Array[] = [];
  let di = 0;
  let si = 0;
  while (dn > 0 && sn > 0) {
    if (readTs(dest, destOff + di * R) < readTs(src, srcOff + si * R)) {
      merged.push(dest.subarray(destOff + di * R, destOff + ++di * R));
      dn--;
    } else {
      merged.push(src.subarray(srcOff + si * R, srcOff + ++si * R));
      sn--;
    }
  }
  merged.push(dest.subarray(destOff + di * R, destOff + (di + dn) * R), src.subarray(srcOff + si * R, srcOff + (si + sn) * R));
  return cat(merged);
}

test('record layouts: 16 bytes on 32-bit, 24 on 64-bit; 4.9 records {ip, parent, cpu} 12 and 24, {ip, parent} with the CPU in ip', (t) => {
  t.deepEqual(ftraceRecordLayout(ARM32), { size: 16, parentAt: 4, tsAt: 8, cpuAt: undefined });
  t.deepEqual(ftraceRecordLayout(DEFAULT_ABI), { size: 24, parentAt: 8, tsAt: 16, cpuAt: undefined });
  t.deepEqual(ftraceRecordLayout(BE64), ftraceRecordLayout(DEFAULT_ABI));
  t.deepEqual(ftraceRecordLayout(ARM32, '4.9'), { size: 12, parentAt: 4, tsAt: undefined, cpuAt: 8 });
  t.deepEqual(ftraceRecordLayout(ARM32_CPU_IN_IP, '4.9'), { size: 8, parentAt: 4, tsAt: undefined, cpuAt: undefined });
  t.deepEqual(ftraceRecordLayout(DEFAULT_ABI, '4.9'), { size: 24, parentAt: 8, tsAt: undefined, cpuAt: 16 });
});

// Addresses in the shape of a 32-bit ARM kernel's (PAGE_OFFSET 0xc0000000, text from 0xc0100000).
const MAP32 = parseSystemMap(
  ['c0100000 T _stext', 'c0108a40 T do_idle', 'c0108c00 T cpu_startup_entry', 'c0108c40 T schedule', 'c0900000 T _etext'].join('\n'),
);

test('32-bit: a record prints its 32-bit words and names them; the CPU from ts low bits', (t) => {
  const buf = cat([rec(ARM32, 0xc0108a44n, 0xc0108c10n, (5n << 8n) | 1n), rec(ARM32, 0xc0108c48n, 0xc0108a50n, (6n << 8n) | 0n)]);
  t.is(
    formatFtrace(buf, '5.2', MAP32, 0n, ARM32),
    'CPU:1 ts:5 c0108a44  c0108c10  do_idle <- cpu_startup_entry+0x10/0x40\n' + 'CPU:0 ts:6 c0108c48  c0108a50  schedule <- do_idle+0x10/0x1c0\n',
  );
});

test('32-bit with PSTORE_CPU_IN_IP: the CPU is ip & 3, the whole ts is the timestamp, the ip printed raw', (t) => {
  // pstore_ftrace_encode_cpu: rec->ip |= cpu. ARM instructions are 4-aligned, so the bits are free.
  const buf = rec(ARM32_CPU_IN_IP, 0xc0108a44n | 2n, 0xc0108c10n, 0x1234n);
  t.is(formatFtrace(buf, '5.2', MAP32, 0n, ARM32_CPU_IN_IP), 'CPU:2 ts:4660 c0108a46  c0108c10  do_idle <- cpu_startup_entry+0x10/0x40\n');
});

test('4.9 on 32-bit: {ip, parent, unsigned int cpu}, 12 bytes, "cpu ip parent" lines', (t) => {
  const b = new Uint8Array(24);
  const dv = new DataView(b.buffer);
  for (const [i, cpu] of [1, 0].entries()) {
    dv.setUint32(i * 12, 0xc0108a44, true);
    dv.setUint32(i * 12 + 4, 0xc0108c10, true);
    dv.setUint32(i * 12 + 8, cpu, true);
  }
  t.is(formatFtrace(b, '4.9', undefined, 0n, ARM32), '1 c0108a44  c0108c10  0xc0108a44 <- 0xc0108c10\n0 c0108a44  c0108c10  0xc0108a44 <- 0xc0108c10\n');
});

test('64-bit big-endian: the same text as the little-endian record with the same values', (t) => {
  const values = [0xffffffc008123450n, 0xffffffc008100010n, (77n << 8n) | 1n] as const;
  t.is(formatFtrace(rec(BE64, ...values), '5.2', undefined, 0n, BE64), formatFtrace(rec(DEFAULT_ABI, ...values), '5.2', undefined));
  t.not(
    formatFtrace(rec(BE64, ...values), '5.2', undefined),
    formatFtrace(rec(DEFAULT_ABI, ...values), '5.2', undefined),
    'read as little-endian, the values differ',
  );
});

/** Two CPUs' zones of records with counters; some equal across zones, leading partial bytes in one. */
function zones(abi: CpuAbi, tsOf: (counter: bigint, cpu: number) => bigint, ipOf: (n: number, cpu: number) => bigint): readonly [Uint8Array, Uint8Array] {
  const z0 = cat([new Uint8Array(3).fill(0xee), ...[1n, 3n, 4n, 9n].map((c, i) => rec(abi, ipOf(i, 0), 0xc0100000n, tsOf(c, 0)))]);
  const z1 = cat([2n, 3n, 5n, 9n, 10n].map((c, i) => rec(abi, ipOf(i + 16, 1), 0xc0100000n, tsOf(c, 1))));
  return [z0, z1];
}

const cases: readonly (readonly [string, CpuAbi, (c: bigint, cpu: number) => bigint, (n: number, cpu: number) => bigint])[] = [
  ['32-bit, CPU in ts', ARM32, (c, cpu) => (c << 8n) | BigInt(cpu), (n) => 0xc0108000n + BigInt(n * 4)],
  ['32-bit, CPU in ip', ARM32_CPU_IN_IP, (c) => c, (n, cpu) => (0xc0108000n + BigInt(n * 4)) | BigInt(cpu)],
  ['64-bit big-endian', BE64, (c, cpu) => (c << 8n) | BigInt(cpu), (n) => 0xffffffc008100000n + BigInt(n * 4)],
];

for (const [name, abi, tsOf, ipOf] of cases) {
  test(`per-CPU merge, ${name}: the kernel's combine, record by record`, (t) => {
    const R = ftraceRecordLayout(abi).size;
    const readTs = (buf: Uint8Array, at: number): bigint => {
      const ts = new DataView(buf.buffer, buf.byteOffset).getBigUint64(at + 2 * abi.wordBytes, abi.littleEndian);
      return abi.cpuInIp ? ts : ts >> 8n;
    };
    const [z0, z1] = zones(abi, tsOf, ipOf);
    const ours = combineFtrace(combineFtrace(new Uint8Array(0), z0, abi), z1, abi);
    const kernels = kernelCombine(kernelCombine(new Uint8Array(0), z0, R, readTs), z1, R, readTs);
    t.deepEqual(ours, kernels);
    t.is(ours.length, 9 * R, 'the 3 leading bytes of zone 0 are dropped');
    const text = formatFtrace(ours, '5.2', undefined, 0n, abi);
    t.deepEqual(
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => /^CPU:(\d) ts:(\d+)/.exec(l)?.slice(1).join('@')),
      ['0@1', '1@2', '1@3', '0@3', '0@4', '1@5', '1@9', '0@9', '1@10'],
      'ascending counters; on equal counters the later zone (CPU 1) first',
    );
  });
}
