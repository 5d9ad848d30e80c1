// Where a kdump file keeps its bitmaps and page descriptors, computed once from its headers and
// shared by the bitmap and page readers; and the checked reads and cache every kdump reader uses.
import { DumpFormatError, TruncatedError, hex } from '../errors.js';
import type { ByteReader } from '../bytes/reader.js';
import type { ByteSource } from './memory.js';

/** The header fields the readers need (a KdumpHeader has them). */
export interface KdumpHeaderFields {
  readonly littleEndian: boolean;
  readonly blockSize: number;
  readonly subHdrSize: number;
  readonly bitmapBlocks: number;
  readonly maxMapnr: number;
  readonly split: boolean;
  readonly startPfn: number;
  readonly endPfn: number;
  readonly dumpLevel: number;
  readonly status: number;
}

export interface KdumpGeometry {
  readonly source: ByteSource;
  readonly h: KdumpHeaderFields;
  readonly bs: number;
  readonly bitmapAt: number;
  readonly bitmapHalf: number;
  readonly bitmap2At: number;
  readonly descAt: number;
  /** The bitmaps cannot describe more pfns than they have bits for, whatever max_mapnr says. */
  readonly pfnLimit: number;
}

export function kdumpGeometry(source: ByteSource, h: KdumpHeaderFields): KdumpGeometry {
  const bs = h.blockSize;
  const bitmapAt = bs * (1 + h.subHdrSize);
  const bitmapHalf = (h.bitmapBlocks * bs) / 2;
  return {
    source,
    h,
    bs,
    bitmapAt,
    bitmapHalf,
    bitmap2At: bitmapAt + bitmapHalf,
    descAt: bs * (1 + h.subHdrSize + h.bitmapBlocks),
    pfnLimit: Math.min(h.maxMapnr, bitmapHalf * 8, h.split ? h.endPfn : Infinity),
  };
}

export function readExact(source: ByteSource, pos: number, len: number, what: string): Uint8Array {
  const got = pos <= source.size ? source.read(pos, len) : new Uint8Array(0);
  if (got.length < len) throw new TruncatedError(what, pos, len, got.length);
  return got;
}

export function u64n(r: ByteReader, at: number, base: number): number {
  const v = r.u64At(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DumpFormatError('kdump', base + at, `value ${hex(v)} is beyond 2^53`);
  return Number(v);
}

/** A tiny LRU map: the most recently used entries survive. */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }
}
