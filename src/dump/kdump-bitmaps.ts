// The kdump bitmaps read on demand: which pfns were RAM (1st) and which were dumped (2nd), the
// rank of a pfn among the dumped ones (its descriptor's index), and the dumped ranges.
import type { PhysRange } from './memory.js';
import { Lru, readExact, type KdumpGeometry } from './kdump-geometry.js';

/** Pfns per rank-index entry: one 4 KiB block of the 2nd bitmap. */
const RANK_CHUNK_BYTES = 4096;
const RANK_CHUNK_PFNS = RANK_CHUNK_BYTES * 8;
const BITMAP_CACHE = 8;

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let n = 0;
  for (let b = i; b; b >>= 1) n += b & 1;
  return n;
});

/** One bitmap block with prefix counts, so a pfn's rank inside it is one lookup. */
interface BitmapChunk {
  readonly bits: Uint8Array;
  /** prefix[i] = set bits in bytes [0, i). */
  readonly prefix: Uint16Array;
}

export interface KdumpBitmaps {
  readonly bit: (which: 1 | 2, pfn: number) => boolean;
  /** Set bits of the 2nd bitmap before `pfn`. */
  readonly rank: (pfn: number) => number;
  /** The dumped physical ranges, from the 2nd bitmap (within a split file's pfns). */
  readonly ranges: () => readonly PhysRange[];
}

export function kdumpBitmaps(g: KdumpGeometry): KdumpBitmaps {
  const rankBefore = rankIndex(g);
  const chunks = rankBefore.length - 1;
  const chunk = chunkReader(g);
  const bit = (which: 1 | 2, pfn: number): boolean => {
    if (pfn >= g.bitmapHalf * 8) return false;
    const ch = chunk(which, Math.floor(pfn / RANK_CHUNK_PFNS));
    const i = pfn % RANK_CHUNK_PFNS;
    return (((ch.bits[i >> 3] as number) >> (i & 7)) & 1) === 1;
  };
  const rank = (pfn: number): number => {
    const c = Math.floor(pfn / RANK_CHUNK_PFNS);
    if (c >= chunks) return rankBefore[chunks] as number;
    const ch = chunk(2, c);
    const i = pfn % RANK_CHUNK_PFNS;
    const byte = i >> 3;
    const partial = ((ch.bits[byte] ?? 0) & ((1 << (i & 7)) - 1)) >>> 0;
    return (rankBefore[c] as number) + (ch.prefix[byte] as number) + (POPCOUNT[partial] as number);
  };
  return { bit, rank, ranges: () => dumpedRanges(g, chunks, chunk) };
}

/** rankBefore[c] = set bits of the 2nd bitmap before chunk c. One sequential pass. */
function rankIndex({ source, bitmapHalf, bitmap2At }: KdumpGeometry): Float64Array {
  const chunks = Math.ceil(bitmapHalf / RANK_CHUNK_BYTES);
  const rankBefore = new Float64Array(chunks + 1);
  const READ = 1 << 20;
  for (let pos = 0, c = 0; pos < bitmapHalf; pos += READ) {
    const n = Math.min(READ, bitmapHalf - pos);
    const buf = readExact(source, bitmap2At + pos, n, 'kdump 2nd bitmap');
    for (let o = 0; o < n; o += RANK_CHUNK_BYTES, c++) {
      let count = 0;
      const end = Math.min(o + RANK_CHUNK_BYTES, n);
      for (let i = o; i < end; i++) count += POPCOUNT[buf[i] as number] as number;
      rankBefore[c + 1] = (rankBefore[c] as number) + count;
    }
  }
  return rankBefore;
}

type ChunkReader = (which: 1 | 2, c: number) => BitmapChunk;

function chunkReader({ source, bitmapAt, bitmap2At, bitmapHalf }: KdumpGeometry): ChunkReader {
  const bitmapCache = new Lru<number, BitmapChunk>(BITMAP_CACHE);
  return (which, c) => {
    const key = which === 2 ? c : -1 - c;
    const hit = bitmapCache.get(key);
    if (hit) return hit;
    const at = (which === 2 ? bitmap2At : bitmapAt) + c * RANK_CHUNK_BYTES;
    const bits = readExact(source, at, Math.min(RANK_CHUNK_BYTES, bitmapHalf - c * RANK_CHUNK_BYTES), `kdump bitmap ${which}`);
    const prefix = new Uint16Array(bits.length + 1);
    for (let i = 0; i < bits.length; i++) prefix[i + 1] = (prefix[i] as number) + (POPCOUNT[bits[i] as number] as number);
    const v = { bits, prefix };
    bitmapCache.set(key, v);
    return v;
  };
}

function dumpedRanges({ h, bs, pfnLimit }: KdumpGeometry, chunks: number, chunk: ChunkReader): readonly PhysRange[] {
  const out: PhysRange[] = [];
  const from = h.split ? h.startPfn : 0;
  let runStart = -1;
  for (let c = 0; c < chunks && c * RANK_CHUNK_PFNS < pfnLimit; c++) {
    const bits = chunk(2, c).bits;
    for (let i = 0; i < bits.length; i++) {
      const b = bits[i] as number;
      // Whole bytes that continue the current state need no per-bit look.
      if ((b === 0 && runStart < 0) || (b === 0xff && runStart >= 0)) continue;
      const base = c * RANK_CHUNK_PFNS + i * 8;
      for (let k = 0; k < 8; k++) {
        const pfn = base + k;
        const set = ((b >> k) & 1) === 1 && pfn >= from && pfn < pfnLimit;
        if (set && runStart < 0) runStart = pfn;
        else if (!set && runStart >= 0) {
          out.push({ start: runStart * bs, end: Math.min(pfn, pfnLimit) * bs });
          runStart = -1;
        }
      }
    }
  }
  if (runStart >= 0) out.push({ start: runStart * bs, end: Math.min(pfnLimit, chunks * RANK_CHUNK_PFNS) * bs });
  return out;
}
