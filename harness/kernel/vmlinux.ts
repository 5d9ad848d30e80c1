// The uncompressed vmlinux inside a bzImage, extracted once per kernel with the system
// decompressor its payload names: PVH boots need the ELF, and decompressing 10 MB of xz
// under TCG on every boot is most of the cost that PVH removes.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseBzImage, type KernelCompressor } from '../../src/kernel/bzimage.js';
import { pvhEntry } from '../../src/kernel/elf-notes.js';
import { cacheDir as defaultCacheDir } from '../io/cache-dir.js';
import { withLock } from '../io/lock.js';
import { runToolBytes } from '../proc/tool.js';

/** No x86 vmlinux we boot comes near this; a bigger output means a broken or hostile payload. */
export const MAX_VMLINUX_BYTES = 512 * 1024 * 1024;

const DECOMPRESSORS: Readonly<Record<KernelCompressor, readonly [string, readonly string[], string]>> = {
  gzip: ['gzip', ['-dc'], 'gzip'],
  xz: ['xz', ['-dc', '--single-stream'], 'xz-utils'],
  lzma: ['xz', ['-dc', '--format=lzma'], 'xz-utils'],
  zstd: ['zstd', ['-dcq'], 'zstd'],
  lz4: ['lz4', ['-dcq'], 'lz4'],
  lzo: ['lzop', ['-dc'], 'lzop'],
  bzip2: ['bzip2', ['-dc'], 'bzip2'],
};

export interface VmlinuxOptions {
  readonly cacheDir?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly log?: ((line: string) => void) | undefined;
}

/** The payload as its decompressor expects it. */
function payloadOf(bytes: Uint8Array, what: string): { readonly compressor: KernelCompressor; readonly data: Uint8Array } {
  const h = parseBzImage(bytes, what);
  const payload = bytes.subarray(h.payloadStart, h.payloadStart + h.payloadLength);
  // Every compressor but gzip is run by Kbuild's `*_with_size`, which appends the 4-byte
  // uncompressed size; the tools would call it trailing garbage.
  return { compressor: h.compressor, data: h.compressor === 'gzip' ? payload : payload.subarray(0, Math.max(0, payload.length - 4)) };
}

/** Path of the cached vmlinux of `bzImagePath`, extracting it first when absent. */
export async function extractVmlinux(bzImagePath: string, opts: VmlinuxOptions = {}): Promise<string> {
  const bytes = await readFile(bzImagePath);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const dir = join(opts.cacheDir ?? defaultCacheDir(), 'vmlinux', sha);
  const out = join(dir, 'vmlinux');
  const present = async (): Promise<boolean> =>
    stat(out).then(
      (s) => s.isFile() && s.size > 0,
      () => false,
    );
  if (await present()) return out;
  await mkdir(dir, { recursive: true });
  return withLock(
    join(dir, 'lock'),
    { stage: 'kernel', signal: opts.signal, log: opts.log },
    async () => {
      if (await present()) return out;
      const { compressor, data } = payloadOf(bytes, bzImagePath);
      const [cmd, args, pkg] = DECOMPRESSORS[compressor];
      opts.log?.(`kernel: extracting the ${compressor} vmlinux of ${bzImagePath} for a PVH boot`);
      const elf = await runToolBytes(cmd, args, data, MAX_VMLINUX_BYTES, { signal: opts.signal, missing: `install ${pkg} (scripts/install-system-deps.sh)` });
      const tmp = `${out}.${process.pid}.tmp`;
      try {
        await writeFile(tmp, elf);
        await rename(tmp, out);
      } finally {
        await rm(tmp, { force: true });
      }
      return out;
    },
    { what: 'extracting vmlinux' },
  );
}

/**
 * The PVH entry of a cached vmlinux (undefined: built without CONFIG_PVH), kept beside it: the
 * note is found by reading the whole ELF (tens of MB), which every run would otherwise repeat.
 */
export async function cachedPvhEntry(vmlinuxPath: string): Promise<number | undefined> {
  const s = await stat(vmlinuxPath);
  const file = `${vmlinuxPath}.pvh.json`;
  const stamp = `${s.size}:${s.mtimeMs}`;
  try {
    const kept = JSON.parse(await readFile(file, 'utf8')) as { stamp?: unknown; entry?: unknown };
    if (kept.stamp === stamp && (typeof kept.entry === 'number' || kept.entry === null)) return kept.entry ?? undefined;
  } catch {
    // not worked out yet
  }
  const entry = pvhEntry(await readFile(vmlinuxPath), vmlinuxPath);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ stamp, entry: entry ?? null }) + '\n');
  await rename(tmp, file);
  return entry;
}
