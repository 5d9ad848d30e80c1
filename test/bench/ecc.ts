// Throughput of our Reed-Solomon codec against Phil Karn's libfec (decode_rs_char) on the same
// ramoops-shaped blocks: 128 data bytes + 16 parity, E = 16. Two workloads: clean blocks (the
// hot path: a dump is mostly intact) and blocks with 1..8 symbol errors. The C baseline is
// compiled at bench time from test/bench/libfec-bench.c; without cc or libfec only our
// numbers are printed. Times are process CPU time, best of several interleaved rounds, so a
// busy machine hurts both sides alike.
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rsCodec, type RsCodec } from '../../src/zone/ecc/rs.js';
import { repoRoot } from '../helpers/paths.js';

const E = 16;
const DATA = 128;
const REC = DATA + E;
const BLOCKS = 20_000;
const ROUNDS = 5;
const MIN_SECONDS = 0.4;

/** xorshift32: the same blocks on every run, so runs compare. */
function prng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

interface Workload {
  readonly clean: Uint8Array;
  readonly damaged: Uint8Array;
  /** Symbols changed in `damaged`, i.e. what a perfect decoder reports in total. */
  readonly injected: number;
}

function makeWorkload(rs: RsCodec): Workload {
  const rnd = prng(0x1234567);
  const clean = new Uint8Array(BLOCKS * REC);
  for (let b = 0; b < BLOCKS; b++) {
    const data = clean.subarray(b * REC, b * REC + DATA);
    for (let i = 0; i < DATA; i++) data[i] = rnd(256);
    clean.set(rs.encode(data), b * REC + DATA);
  }
  const damaged = clean.slice();
  let injected = 0;
  for (let b = 0; b < BLOCKS; b++) {
    const errors = 1 + rnd(E / 2);
    const hit = new Set<number>();
    while (hit.size < errors) hit.add(rnd(REC));
    for (const pos of hit) damaged[b * REC + pos] = damaged[b * REC + pos]! ^ (1 + rnd(255));
    injected += errors;
  }
  return { clean, damaged, injected };
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface Run {
  readonly mbPerSecond: number;
  /** Sum of non-negative results and number of -1 results over one pass. */
  readonly sum: number;
  readonly failed: number;
}

/**
 * Decodes every block, restoring the input before each pass as the C side does. With
 * `viewsPerCall` the subarray views are made inside the timed loop (what a zone reader does)
 * instead of once up front.
 */
function runOurs(rs: RsCodec, input: Uint8Array, viewsPerCall = false): Run {
  const work = input.slice();
  const data: Uint8Array[] = [];
  const parity: Uint8Array[] = [];
  for (let b = 0; b < BLOCKS; b++) {
    data.push(work.subarray(b * REC, b * REC + DATA));
    parity.push(work.subarray(b * REC + DATA, (b + 1) * REC));
  }
  let passes = 0;
  let sum = 0;
  let failed = 0;
  const t0 = cpuSeconds();
  let elapsed = 0;
  do {
    work.set(input);
    sum = 0;
    failed = 0;
    for (let b = 0; b < BLOCKS; b++) {
      const r = viewsPerCall
        ? rs.decode(work.subarray(b * REC, b * REC + DATA), work.subarray(b * REC + DATA, (b + 1) * REC))
        : rs.decode(data[b]!, parity[b]!);
      if (r < 0) failed++;
      else sum += r;
    }
    passes++;
    elapsed = cpuSeconds() - t0;
  } while (elapsed < MIN_SECONDS);
  return { mbPerSecond: (passes * BLOCKS * DATA) / elapsed / 1e6, sum, failed };
}

interface CReport {
  readonly blocks: number;
  readonly passes: number;
  readonly seconds: number;
  readonly sum: number;
  readonly failed: number;
}

async function runLibfec(exe: string, file: string, seconds: number, outPrefix?: string): Promise<Run> {
  const args = [file, String(DATA), String(E), String(seconds)];
  if (outPrefix) args.push(outPrefix);
  const { stdout } = await execa(exe, args);
  const r = JSON.parse(stdout) as CReport;
  return { mbPerSecond: (r.passes * r.blocks * DATA) / r.seconds / 1e6, sum: r.sum, failed: r.failed };
}

/** Blocks on which our decoder's verdict and output differ from libfec's (both follow the 5.3+ rule). */
async function compareWithLibfec(rs: RsCodec, damaged: Uint8Array, outPrefix: string): Promise<number> {
  const theirData = await readFile(outPrefix + '.data');
  const theirRet = new Int32Array(new Uint8Array(await readFile(outPrefix + '.ret')).buffer);
  const work = damaged.slice();
  let differ = 0;
  for (let b = 0; b < BLOCKS; b++) {
    const r = rs.decode(work.subarray(b * REC, b * REC + DATA), work.subarray(b * REC + DATA, (b + 1) * REC));
    const theirs = theirRet[b]! < 0 ? -1 : theirRet[b]!;
    if (r !== theirs || Buffer.compare(work.subarray(b * REC, b * REC + DATA), theirData.subarray(b * REC, b * REC + DATA)) !== 0) differ++;
  }
  return differ;
}

const best = (runs: readonly Run[]): Run => runs.reduce((a, b) => (b.mbPerSecond > a.mbPerSecond ? b : a));
const mbs = (r: Run): string => `${r.mbPerSecond.toFixed(1).padStart(7)} MB/s`;

/** Runs the ECC benchmark; returns printable report lines. */
export async function benchEcc(): Promise<string> {
  const rs = rsCodec(E);
  const w = makeWorkload(rs);
  const lines = [
    `ecc: RS(255,${255 - E}) shortened to ${REC}, ${BLOCKS} blocks of ${DATA} data bytes; MB/s of data, process CPU time, best of ${ROUNDS} rounds`,
  ];

  const dir = await mkdtemp(join(tmpdir(), 'ecc-bench-'));
  try {
    const cleanFile = join(dir, 'clean.bin');
    const damagedFile = join(dir, 'damaged.bin');
    await writeFile(cleanFile, w.clean);
    await writeFile(damagedFile, w.damaged);
    const exe = join(dir, 'libfec-bench');
    let baseline = true;
    try {
      await execa('cc', ['-O2', '-o', exe, join(repoRoot(), 'test/bench/libfec-bench.c'), '-lfec']);
    } catch (err) {
      baseline = false;
      lines.push(`  libfec baseline unavailable (cc -lfec failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
    }

    // warm-up, so the JIT has compiled the hot paths before the first timed round
    runOurs(rs, w.clean);
    runOurs(rs, w.damaged);

    const ours = { verify: [] as Run[], correct: [] as Run[], views: [] as Run[] };
    const theirs = { verify: [] as Run[], correct: [] as Run[] };
    for (let round = 0; round < ROUNDS; round++) {
      ours.verify.push(runOurs(rs, w.clean));
      ours.views.push(runOurs(rs, w.clean, true));
      ours.correct.push(runOurs(rs, w.damaged));
      if (baseline) {
        theirs.verify.push(await runLibfec(exe, cleanFile, MIN_SECONDS));
        theirs.correct.push(await runLibfec(exe, damagedFile, MIN_SECONDS));
      }
    }
    const ov = best(ours.verify);
    const oc = best(ours.correct);
    const ow = best(ours.views);
    if (baseline) {
      const tv = best(theirs.verify);
      const tc = best(theirs.correct);
      const rv = ov.mbPerSecond / tv.mbPerSecond;
      const rc = oc.mbPerSecond / tc.mbPerSecond;
      lines.push(
        `  verify clean blocks   ours ${mbs(ov)}   libfec ${mbs(tv)}   ours/libfec ${rv.toFixed(2)}x (target >= 5x)${rv >= 5 ? '' : '  BELOW TARGET'}`,
      );
      lines.push(
        `  correct 1..8 errors   ours ${mbs(oc)}   libfec ${mbs(tc)}   ours/libfec ${rc.toFixed(2)}x (target >= 1x)${rc >= 1 ? '' : '  BELOW TARGET'}`,
      );
      lines.push(`  verify, subarray views made per call (as a zone reader does): ours ${mbs(ow)}, ${(ow.mbPerSecond / tv.mbPerSecond).toFixed(2)}x libfec`);
      const outPrefix = join(dir, 'libfec-out');
      const check = await runLibfec(exe, damagedFile, 0, outPrefix);
      const differ = await compareWithLibfec(rs, w.damaged, outPrefix);
      lines.push(
        `  corrected symbols: injected ${w.injected}, ours ${oc.sum} (${oc.failed} failed), libfec ${check.sum} (${check.failed} failed); ` +
          `blocks with a different verdict or output: ${differ}`,
      );
    } else {
      lines.push(`  verify clean blocks   ours ${mbs(ov)}  (subarray views per call: ${mbs(ow)})`);
      lines.push(`  correct 1..8 errors   ours ${mbs(oc)}`);
      lines.push(`  corrected symbols: injected ${w.injected}, ours ${oc.sum} (${oc.failed} failed)`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return lines.join('\n');
}
