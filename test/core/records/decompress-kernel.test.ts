// Differential test against the kernel's own decoders: lib/lz4, lib/lzo and lib/842 from a
// kernel source tree, built for the host (test/golden/decompress/kernel-codecs/build.sh), and
// ours get the same damaged streams and output limits. Both must fail, or both must succeed
// with the same bytes. The one allowed difference: the kernel's 842 decoder writes index and
// short-data output without checking the space left (it overruns its buffer and reports
// success); ours reports OutputLimitError there.
//
// Needs gcc and a kernel tree: $RAMOOPS_KERNEL_SRC, or the linux-source-6.1 that
// `ramoops kernel build` unpacked into the cache. Skipped without them.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from '../../../harness/io/cache-dir.js';
import { isRamoopsError, OutputLimitError } from '../../../src/errors.js';
import { decompress, type Algorithm } from '../../../src/records/decompress/index.js';
import { repoRoot } from '../../helpers/paths.js';

function kernelSource(): string | undefined {
  const env = process.env['RAMOOPS_KERNEL_SRC'];
  if (env !== undefined && env !== '') return existsSync(join(env, 'lib/842/842_decompress.c')) ? env : undefined;
  const root = join(cacheDir(), 'kernel-src');
  if (!existsSync(root)) return undefined;
  const tree = readdirSync(root).find((d) => d.startsWith('linux-source-6.1_') && existsSync(join(root, d, '.unpacked')));
  return tree === undefined ? undefined : join(root, tree);
}

function hasGcc(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const golden = join(repoRoot(), 'test', 'golden', 'decompress');
const vector = (name: string): Buffer => readFileSync(join(golden, name));
const TEXT_LENGTH = 20606;

/** A small deterministic generator, so a failure names a reproducible case. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    return s / 0x80000000;
  };
}

/** Damaged copies of the kernel-written vectors: byte flips, cuts, extensions, bytes that mean something to the formats, plain noise. */
function cases(vectors: readonly Buffer[], n: number, seed: number): { readonly input: Buffer; readonly limit: number }[] {
  const rnd = lcg(seed);
  const pick = (k: number): number => Math.floor(rnd() * k);
  const out: { input: Buffer; limit: number }[] = [];
  for (let i = 0; i < n; i++) {
    const base = vectors[pick(vectors.length)] ?? Buffer.alloc(0);
    let b = Buffer.from(base);
    switch (pick(6)) {
      case 0:
        for (let j = 1 + pick(3); j > 0; j--) {
          const at = pick(b.length);
          b[at] = (b[at] ?? 0) ^ (1 + pick(255));
        }
        break;
      case 1:
        b = b.subarray(0, pick(b.length));
        break;
      case 2:
        b = Buffer.concat([b, Buffer.from([pick(256), 0, 0, pick(256)].slice(0, 1 + pick(4)))]);
        break;
      case 3:
        b = Buffer.alloc(1 + pick(64));
        for (let j = 0; j < b.length; j++) b[j] = pick(256);
        break;
      case 4:
        b = Buffer.from(b.subarray(0, pick(b.length) + pick(64)));
        for (let j = 0; j < 3; j++) b[pick(b.length)] = [0, 255, 17, 0x1e][pick(4)] ?? 0;
        break;
      default:
        break;
    }
    const limits = [TEXT_LENGTH, TEXT_LENGTH - 1, TEXT_LENGTH + 1, TEXT_LENGTH - 16, pick(TEXT_LENGTH), 65536, 0, 3, 20];
    out.push({ input: b, limit: limits[pick(limits.length)] ?? 0 });
  }
  return out;
}

function runKernel(
  tool: string,
  alg: string,
  list: readonly { readonly input: Buffer; readonly limit: number }[],
): { readonly status: number; readonly out: Buffer }[] {
  const parts: Buffer[] = [];
  for (const c of list) {
    const h = Buffer.alloc(8);
    h.writeUInt32LE(c.input.length, 0);
    h.writeUInt32LE(c.limit, 4);
    parts.push(h, c.input);
  }
  const res = execFileSync(tool, [alg], { input: Buffer.concat(parts), maxBuffer: 1 << 30 });
  const results: { status: number; out: Buffer }[] = [];
  let p = 0;
  for (let i = 0; i < list.length; i++) {
    const status = res.readInt32LE(p);
    const len = res.readUInt32LE(p + 4);
    results.push({ status, out: res.subarray(p + 8, p + 8 + len) });
    p += 8 + len;
  }
  return results;
}

const src = kernelSource();
const available = src !== undefined && hasGcc();
const SUITES: readonly (readonly [tool: string, algorithm: Algorithm, files: readonly string[]])[] = [
  ['lz4', 'lz4', ['dmesg.lz4', 'dmesg.lz4hc']],
  ['lzo', 'lzo', ['dmesg.lzo', 'dmesg.lzo-rle']],
  ['842', '842', ['dmesg.842']],
];

if (!available) {
  test.skip('differential against the kernel decoders (needs gcc and a kernel source: RAMOOPS_KERNEL_SRC or `ramoops kernel build`)', () => undefined);
} else {
  const work = mkdtempSync(join(tmpdir(), 'rh-kcodecs-'));
  let built: Error | undefined;
  try {
    execFileSync('sh', [join(golden, 'kernel-codecs', 'build.sh'), src, work], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    built = e instanceof Error ? e : new Error(String(e));
  }
  test.after.always(() => rmSync(work, { recursive: true, force: true }));

  for (const [tool, algorithm, files] of SUITES) {
    test(`${algorithm}: same verdicts and bytes as the kernel's decoder on 3000 damaged streams`, (t) => {
      if (built !== undefined) return t.fail(`kernel-codecs/build.sh failed: ${built.message}`);
      const list = cases(files.map(vector), 3000, 0x5eed + algorithm.length);
      const kernel = runKernel(join(work, 'kdecompress'), tool, list);
      let agreed = 0;
      for (const [i, c] of list.entries()) {
        const k = kernel[i];
        if (k === undefined) return t.fail('kdecompress gave fewer results than cases');
        let ours: Uint8Array | undefined;
        let err: unknown;
        try {
          ours = decompress(algorithm, new Uint8Array(c.input), c.limit);
        } catch (e) {
          if (!isRamoopsError(e)) throw e;
          err = e;
        }
        // The kernel's 842 overrun: success with more bytes than the buffer holds.
        if (k.status === 0 && k.out.length > c.limit && err instanceof OutputLimitError) {
          agreed++;
          continue;
        }
        const same = k.status === 0 ? ours !== undefined && Buffer.from(ours).equals(k.out) : err !== undefined;
        if (!same) {
          return t.fail(
            `case ${i} (${c.input.length} bytes, limit ${c.limit}): kernel ${k.status === 0 ? `ok, ${k.out.length} bytes` : `error ${k.status}`}, ours ${ours !== undefined ? `ok, ${ours.length} bytes` : String(err)}`,
          );
        }
        agreed++;
      }
      t.is(agreed, list.length);
    });
  }
}
