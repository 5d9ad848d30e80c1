// What the reading kernel does with one zone at probe (docs/format.md §3, §4):
// ECC-correct the header, check the signature, decide empty/invalid, ECC-correct the data
// blocks below `size`, and linearise the ring into the "old log".
import { ByteReader } from '../bytes/reader.js';
import { hex } from '../errors.js';
import { rsCodec } from './ecc/rs.js';
import { ECC_BLOCK_SIZE, HEADER_SIZE, PERSISTENT_RAM_SIG, type ZoneGeometry } from './geometry.js';

export type ZoneStatus =
  /** Signature wrong: the kernel rewrites it and resets the zone; no record. */
  | 'bad-signature'
  | 'empty'
  /** size > capacity or start > size: reset, no record. */
  | 'invalid'
  | 'ok';

export interface EccCounts {
  readonly corrected: number;
  readonly unrecoverable: number;
}

export interface ZoneRead {
  readonly status: ZoneStatus;
  readonly sig: number;
  readonly start: number;
  readonly size: number;
  /** The linearised ring contents (length = size); empty unless status is 'ok'. */
  readonly oldLog: Uint8Array;
  /** undefined when ECC is off. */
  readonly ecc: EccCounts | undefined;
  /** Human-readable detail for reports (e.g. why a zone was ignored). */
  readonly detail: string;
}

export interface ZoneReadOptions {
  readonly expectedSig: number;
  /** 6.6+ (and backports): size == 0 counts as empty only with start == 0. */
  readonly emptyNeedsStartZero: boolean;
  readonly rsMode: 'v5.3+' | 'legacy';
  /**
   * Only the first `prefix` bytes of the old log are wanted (scan's compressor guess), read as
   * they are: no ECC correction at all (`ecc` undefined). A guess that fails on damaged bytes
   * is made again from a full read. The kernel always reads and corrects the whole zone;
   * extraction never sets this.
   */
  readonly prefix?: number | undefined;
  /** The writing CPU's byte order for the header's sig, start and size (default little-endian). */
  readonly littleEndian?: boolean | undefined;
}

/** Decode one zone. `bytes` is the zone's RAM (length = geometry.size); it is not modified. */
export function readZone(bytes: Uint8Array, g: ZoneGeometry, opts: ZoneReadOptions): ZoneRead {
  // Corrections are written back into RAM by the kernel; work on a copy so the caller's dump stays intact.
  const zone = g.eccSize && opts.prefix === undefined ? Uint8Array.from(bytes) : bytes;
  let corrected = 0;
  let unrecoverable = 0;
  const codec = g.eccSize && opts.prefix === undefined ? rsCodec(g.eccSize) : undefined;
  const count = (r: number): void => {
    if (r > 0) corrected += r;
    else if (r < 0) unrecoverable += 1;
  };
  if (codec) {
    count(codec.decode(zone.subarray(0, HEADER_SIZE), zone.subarray(g.headerParityOffset, g.headerParityOffset + g.eccSize), opts.rsMode));
  }
  const r = new ByteReader(zone, 'zone header', opts.littleEndian ?? true);
  const sig = r.u32At(0);
  const start = r.i32At(4);
  const size = r.i32At(8);
  const eccNow = (): EccCounts | undefined => (codec ? { corrected, unrecoverable } : undefined);
  const none = new Uint8Array(0);
  if (sig !== opts.expectedSig) {
    return { status: 'bad-signature', sig, start, size, oldLog: none, ecc: eccNow(), detail: `signature ${hex(sig)}, expected ${hex(opts.expectedSig)}` };
  }
  // The kernel reads the fields as int and widens them to size_t: negative values are huge.
  const uSize = size < 0 ? Number.MAX_SAFE_INTEGER : size;
  const uStart = start < 0 ? Number.MAX_SAFE_INTEGER : start;
  if (size === 0 && (!opts.emptyNeedsStartZero || start === 0)) {
    return { status: 'empty', sig, start, size, oldLog: none, ecc: eccNow(), detail: 'empty' };
  }
  if (uSize > g.capacity || uStart > uSize) {
    return { status: 'invalid', sig, start, size, oldLog: none, ecc: eccNow(), detail: `invalid buffer: size ${size}, start ${start}, capacity ${g.capacity}` };
  }
  if (codec) {
    const data = zone.subarray(HEADER_SIZE, HEADER_SIZE + g.capacity);
    for (let j = 0, off = 0; off < uSize; j++, off += ECC_BLOCK_SIZE) {
      const len = Math.min(ECC_BLOCK_SIZE, g.capacity - off);
      const p = g.parityOffset + j * g.eccSize;
      count(codec.decode(data.subarray(off, off + len), zone.subarray(p, p + g.eccSize), opts.rsMode));
    }
  }
  const data = zone.subarray(HEADER_SIZE, HEADER_SIZE + g.capacity);
  // The ring from `start` to `size`, then from 0 to `start` (cut at the prefix, when one is asked).
  const oldLog = new Uint8Array(opts.prefix === undefined ? uSize : Math.min(opts.prefix, uSize));
  const head = data.subarray(uStart, Math.min(uSize, uStart + oldLog.length));
  oldLog.set(head, 0);
  oldLog.set(data.subarray(0, oldLog.length - head.length), head.length);
  return { status: 'ok', sig, start, size, oldLog, ecc: eccNow(), detail: `${uSize} bytes${uStart !== uSize ? ' (ring wrapped)' : ''}` };
}

/** The ECC notice the reading kernel appends to records from ECC zones (§3.4). */
export function eccNotice(ecc: EccCounts | undefined, withPrefix: boolean): Uint8Array {
  if (!ecc) return new Uint8Array(0);
  const p = withPrefix ? 'ECC: ' : '';
  const text =
    ecc.corrected || ecc.unrecoverable ? `\n${p}${ecc.corrected} Corrected bytes, ${ecc.unrecoverable} unrecoverable blocks\n` : `\n${p}No errors detected\n`;
  return new TextEncoder().encode(text);
}

/** The signature as the kernel sees it after header ECC correction (for choosing between layouts). */
export function probeSignature(bytes: Uint8Array, g: ZoneGeometry, rsMode: 'v5.3+' | 'legacy', littleEndian = true): number {
  const head = Uint8Array.from(bytes.subarray(0, HEADER_SIZE));
  if (g.eccSize && bytes.length >= g.size) {
    rsCodec(g.eccSize).decode(head, bytes.subarray(g.headerParityOffset, g.headerParityOffset + g.eccSize), rsMode);
  }
  return new ByteReader(head, 'zone header', littleEndian).u32At(0);
}

export { PERSISTENT_RAM_SIG };
