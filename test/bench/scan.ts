// `ramoops scan` over a multi-GiB dump beside ripgrep (`rg -c -a DBGC`, the obvious way to find
// ramoops headers by hand) on the same file in the same run, plus both peak RSS figures.
// Target: no slower than ripgrep, peak RSS at most 256 MB whatever the dump size.
import { execa } from 'execa';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

const GIB = 1 << 30;

/** A dump like a crashed machine's RAM: zero pages, pseudo-random pages, text, and one ramoops region. */
function writeDump(path: string, size: number, region: Uint8Array, at: number): void {
  const block = new Uint8Array(64 << 20);
  let s = 0x9e3779b9;
  for (let i = 0; i < block.length; i += 4) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    // A quarter of the pages stay zero, as in real RAM.
    if ((i >> 12) % 4 !== 0) new DataView(block.buffer).setUint32(i, s >>> 0, true);
  }
  const fd = openSync(path, 'w');
  try {
    for (let off = 0; off < size; off += block.length) {
      const chunk = block.subarray(0, Math.min(block.length, size - off));
      if (at >= off && at < off + chunk.length) {
        const copy = Uint8Array.from(chunk);
        copy.set(region.subarray(0, Math.min(region.length, copy.length - (at - off))), at - off);
        writeSync(fd, copy, 0, copy.length, off);
      } else writeSync(fd, chunk, 0, chunk.length, off);
    }
  } finally {
    closeSync(fd);
  }
}

async function timed(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<{ seconds: number; rssMb: number; stdout: string }> {
  const r = await execa('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { reject: false, all: false, ...(env === undefined ? {} : { env, extendEnv: false }) });
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [e, m] = last.split(' ');
  return { seconds: Number(e), rssMb: Number(m) / 1024, stdout: r.stdout };
}

/** The best (fastest) of several runs, and the highest peak RSS seen in any of them. */
function best(runs: readonly { seconds: number; rssMb: number }[]): { seconds: number; rssMb: number } {
  return { seconds: Math.min(...runs.map((r) => r.seconds)), rssMb: Math.max(...runs.map((r) => r.rssMb)) };
}

/**
 * The scan benchmark; the dump sizes come from RAMOOPS_BENCH_SCAN_GIB (default "2,8": a small
 * dump, where Node's fixed start-up of about 0.1 s weighs most, and a machine-sized one), the runs
 * per tool from RAMOOPS_BENCH_SCAN_RUNS (default 3). The tools take turns, so both see the same
 * machine load, and each is judged by its best run (timings on a shared machine only err upward).
 */
export async function benchScan(): Promise<string> {
  const sizes = (process.env.RAMOOPS_BENCH_SCAN_GIB ?? '2,8')
    .split(',')
    .map(Number)
    .filter((g) => g > 0);
  const out: string[] = [];
  for (const gib of sizes) out.push(await benchScanSize(gib));
  return out.join('\n');
}

async function benchScanSize(gib: number): Promise<string> {
  const runs = Math.max(1, Number(process.env.RAMOOPS_BENCH_SCAN_RUNS ?? '3'));
  const dir = await mkdtemp(join(tmpdir(), 'rh-scanbench-'));
  const root = repoRoot();
  try {
    const dump = join(dir, 'dump.bin');
    const region = new Uint8Array(readFileSync(join(root, 'test/fixtures/deb61-ecc16-1panic/region.bin')));
    writeDump(dump, gib * GIB, region, Math.floor(gib * GIB * 0.6));
    // Written back before timing, so no run competes with writeback; then read once so that
    // the page cache holds it and neither tool pays for the disk.
    await execa('sync', []);
    await execa('cat', [dump], { stdout: 'ignore' });
    const { searchEngine } = await import('../../harness/io/parallel-search.js');
    const lines = [`scan bench: ${gib} GiB dump (random, zero and ramoops pages), best of ${runs} runs each, taking turns; search engine: ${searchEngine()}`];
    const hasRg = await execa('rg', ['--version'], { reject: false }).then(
      (r) => r.exitCode === 0,
      () => false,
    );
    const rgRuns: { seconds: number; rssMb: number }[] = [];
    const ourRuns: { seconds: number; rssMb: number }[] = [];
    let found = 0;
    // Node 20 reads a NODE_EXTRA_CA_CERTS bundle while it starts (~55 ms for Debian's, before any
    // of our code), and some environments set it for every process: then scan is also timed
    // without it, as on a machine that does not set it.
    const extraCa = process.env['NODE_EXTRA_CA_CERTS'];
    const plainEnv = extraCa === undefined ? undefined : Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
    const plainRuns: { seconds: number; rssMb: number }[] = [];
    const scanArgs = [join(root, 'dist/harness/cli/main.js'), 'scan', dump, '--json'];
    for (let i = 0; i < runs; i++) {
      if (hasRg) rgRuns.push(await timed('rg', ['-c', '-a', 'DBGC', dump]));
      const ours = await timed(process.execPath, scanArgs);
      found = (JSON.parse(ours.stdout) as { regions: unknown[] }).regions.length;
      ourRuns.push(ours);
      if (plainEnv) plainRuns.push(await timed(process.execPath, scanArgs, plainEnv));
    }
    const ours = best(ourRuns);
    const all = (rs: readonly { seconds: number }[]): string => rs.map((r) => r.seconds.toFixed(2)).join(' ');
    lines.push(
      `  ramoops scan: ${ours.seconds.toFixed(2)} s (${((gib * 1024) / ours.seconds).toFixed(0)} MB/s; runs ${all(ourRuns)}), peak RSS ${ours.rssMb.toFixed(0)} MB, ${found} region(s) found`,
    );
    const plain = plainRuns.length > 0 ? best(plainRuns) : undefined;
    if (plain)
      lines.push(
        `  ramoops scan without NODE_EXTRA_CA_CERTS=${extraCa ?? ''}: ${plain.seconds.toFixed(2)} s (runs ${all(plainRuns)}), peak RSS ${plain.rssMb.toFixed(0)} MB`,
      );
    if (hasRg && rgRuns.every((r) => Number.isFinite(r.seconds))) {
      const rg = best(rgRuns);
      lines.push(
        `  rg -c -a DBGC: ${rg.seconds.toFixed(2)} s (${((gib * 1024) / rg.seconds).toFixed(0)} MB/s; runs ${all(rgRuns)}), peak RSS ${rg.rssMb.toFixed(0)} MB`,
      );
      lines.push(
        `  speed ratio ripgrep time / scan time: ${(rg.seconds / ours.seconds).toFixed(2)}x${plain ? ` (${(rg.seconds / plain.seconds).toFixed(2)}x without NODE_EXTRA_CA_CERTS)` : ''} (target >= 1.0); peak RSS ${Math.max(ours.rssMb, plain?.rssMb ?? 0) <= 256 ? 'within' : 'OVER'} 256 MB`,
      );
    } else lines.push('  ripgrep not installed: no ratio');
    return lines.join('\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
