// Finding zone headers in a dump without being told where ramoops lives: every zone the
// kernel has probed starts with "DBGC" (dmesg, console, pmsg) or DBGC xor the kernel's version
// code (ftrace). One streaming pass over the dump, a bounded window per chunk.
import type { PhysicalMemory } from '../dump/memory.js';
import { PERSISTENT_RAM_SIG } from '../zone/geometry.js';

export interface SigHit {
  readonly address: number;
  readonly kind: 'D' | 'F';
  /** For 'F': the version code carried in the signature. */
  readonly versionCode: number | undefined;
  readonly start: number;
  readonly size: number;
}

export interface ScanProgress {
  readonly done: number;
  readonly total: number;
}

const CHUNK = 8 << 20;
const DBGC = Uint8Array.of(0x44, 0x42, 0x47, 0x43);
/** Enough for a runaway dump full of signatures, small enough to bound memory. */
const MAX_HITS = 1 << 20;

function le32(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) | ((b[i + 1] ?? 0) << 8) | ((b[i + 2] ?? 0) << 16) | ((b[i + 3] ?? 0) << 24)) >>> 0;
}

function i32(b: Uint8Array, i: number): number {
  return le32(b, i) | 0;
}

/** A version code a real kernel could carry: 3.x .. 9.x, minor < 64. */
export function plausibleVersionCode(code: number): boolean {
  const major = code >>> 16;
  const minor = (code >>> 8) & 0xff;
  return major >= 3 && major <= 9 && minor < 64;
}

/** Every "DBGC" in the dump (byte-aligned: zones need not be word-aligned), with its header fields. */
export function findDbgc(mem: PhysicalMemory, onProgress?: (p: ScanProgress) => void): SigHit[] {
  const hits: SigHit[] = [];
  if (mem.findAll) {
    const at = mem.findAll(DBGC, MAX_HITS, (done, total) => onProgress?.({ done, total }));
    for (const a of at) {
      let h: Uint8Array;
      try {
        h = mem.read(a, 12);
      } catch {
        continue; // a signature in the last 11 bytes of the dump has no header to read
      }
      hits.push({ address: a, kind: 'D', versionCode: undefined, start: i32(h, 4), size: i32(h, 8) });
    }
    return hits;
  }
  const ranges = mem.ranges();
  const total = ranges.reduce((a, r) => a + (r.end - r.start), 0);
  let done = 0;
  for (const r of ranges) {
    // Chunks overlap by 11 bytes so a header straddling a boundary is still read whole.
    for (let a = r.start; a < r.end; a += CHUNK) {
      const len = Math.min(CHUNK + 11, r.end - a);
      const buf = mem.read(a, len);
      const limit = Math.min(CHUNK, len);
      let i = buf.indexOf(0x44);
      while (i >= 0 && i < limit) {
        if (buf[i + 1] === 0x42 && buf[i + 2] === 0x47 && buf[i + 3] === 0x43 && i + 12 <= len) {
          hits.push({ address: a + i, kind: 'D', versionCode: undefined, start: i32(buf, i + 4), size: i32(buf, i + 8) });
          if (hits.length >= MAX_HITS) return hits;
        }
        i = buf.indexOf(0x44, i + 1);
      }
      done += Math.min(CHUNK, r.end - a);
      onProgress?.({ done, total });
    }
  }
  return hits;
}

/**
 * ftrace signatures (DBGC xor a version code) inside [from, to): read only near known zones.
 * With `limit`, the first `limit` of them: the range is then read in growing pieces and the
 * reading stops once they are found (scan asks for the first one in up to 16 MiB).
 */
export function findFtraceSigs(mem: PhysicalMemory, from: number, to: number, limit = Infinity): SigHit[] {
  const out: SigHit[] = [];
  for (const r of mem.ranges()) {
    const s = Math.max(from, r.start);
    const e = Math.min(to, r.end);
    if (e - s < 12) continue;
    // Pieces overlap by 11 bytes, so a signature starting in one is read whole; it belongs to
    // the piece it starts in. Without a limit, one piece.
    let piece = Number.isFinite(limit) ? 64 << 10 : e - s;
    for (let a = s; a < e && out.length < limit; a += piece, piece *= 2) {
      const buf = mem.read(a, Math.min(e, a + piece + 11) - a);
      const starts = Math.min(piece, e - a);
      // The top byte of a version code is 0, so the last signature byte is always 'C' (0x43).
      for (let i = buf.indexOf(0x43, 3); i >= 0 && i + 9 <= buf.length && i - 3 < starts; i = buf.indexOf(0x43, i + 1)) {
        const at = i - 3;
        const code = (le32(buf, at) ^ PERSISTENT_RAM_SIG) >>> 0;
        if (code !== 0 && plausibleVersionCode(code)) {
          out.push({ address: a + at, kind: 'F', versionCode: code, start: i32(buf, at + 4), size: i32(buf, at + 8) });
          if (out.length >= limit) return out;
        }
      }
    }
  }
  return out;
}

/**
 * The ftrace zone header at exactly `address`, if one plausibly starts there: the signature
 * carries a version code a kernel could have, and 0 <= start <= size as in every zone the
 * kernel has written (text that happens to hold the signature bytes rarely passes both).
 */
export function ftraceSigAt(mem: PhysicalMemory, address: number): SigHit | undefined {
  let h: Uint8Array;
  try {
    h = mem.read(address, 12);
  } catch {
    return undefined;
  }
  const code = (le32(h, 0) ^ PERSISTENT_RAM_SIG) >>> 0;
  if (code === 0 || !plausibleVersionCode(code)) return undefined;
  const start = i32(h, 4);
  const size = i32(h, 8);
  return start >= 0 && start <= size ? { address, kind: 'F', versionCode: code, start, size } : undefined;
}
