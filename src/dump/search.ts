// Native search through a format that stores memory as plain file bytes (ELF PT_LOADs, QEMU RAM
// files): the source finds the needle's file offsets (fast, constant memory), we map them to
// physical addresses, and check the few places the two orders disagree by reading.
import type { ByteSource, PhysicalMemory } from './memory.js';

/** A run of physical memory stored as plain bytes at a file offset. */
export interface StoredRun {
  readonly phys: number;
  readonly fileOffset: number;
  readonly size: number;
}

/**
 * A findAll for `mem` when `source` can search: hits inside a run map to physical addresses;
 * needles that straddle the end of a run are confirmed (or found) by reading memory across
 * the boundary. Memory not stored as file bytes (ELF zero-fill past p_filesz) is searched by
 * reading it, so the answer is exact. Returns undefined when the source cannot search.
 */
export function storedSearch(source: ByteSource, runs: readonly StoredRun[], mem: Pick<PhysicalMemory, 'read' | 'ranges'>): PhysicalMemory['findAll'] {
  const find = source.findAll?.bind(source);
  if (find === undefined) return undefined;
  const byFile = [...runs].filter((r) => r.size > 0).sort((a, b) => a.fileOffset - b.fileOffset);
  return (needle, max, onProgress) => {
    const n = needle.length;
    if (n === 0 || max <= 0) return [];
    const found = new Set<number>();
    // Hits in headers or between runs are dropped, so ask for a few more than max.
    for (const o of find(needle, max + 64, onProgress)) {
      const r = lastAtOrBefore(byFile, o);
      if (r === undefined || o >= r.fileOffset + r.size) continue;
      const phys = r.phys + (o - r.fileOffset);
      if (o + n <= r.fileOffset + r.size || matchesAt(mem, phys, needle)) found.add(phys);
    }
    // Physical places the file search cannot see whole: every end of a run, and every byte
    // that is memory but not a run's file bytes (zero-fill).
    const stored = [...runs].sort((a, b) => a.phys - b.phys);
    for (const r of stored) {
      const end = r.phys + r.size;
      for (let p = Math.max(r.phys, end - n + 1); p < end; p++) if (matchesAt(mem, p, needle)) found.add(p);
    }
    // (Needles that start in a run and end in a gap were found by the run-end check above.)
    const CH = 1 << 20;
    for (const g of unstored(mem.ranges(), stored)) {
      for (let p = g.start; p < g.end; p += CH) {
        const len = Math.min(CH, g.end - p);
        let buf: Uint8Array;
        try {
          // Reach n - 1 bytes on for needles that end in the next stored run, when there is one.
          buf = mem.read(p, len + n - 1);
        } catch {
          buf = mem.read(p, len);
        }
        for (let i = indexOf(buf, needle, 0); i >= 0 && i < len; i = indexOf(buf, needle, i + 1)) found.add(p + i);
      }
    }
    return [...found].sort((a, b) => a - b).slice(0, max);
  };
}

function lastAtOrBefore(runs: readonly StoredRun[], o: number): StoredRun | undefined {
  let lo = 0;
  let hi = runs.length - 1;
  let best: StoredRun | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const r = runs[mid] as StoredRun;
    if (r.fileOffset <= o) {
      best = r;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

function matchesAt(mem: Pick<PhysicalMemory, 'read'>, phys: number, needle: Uint8Array): boolean {
  let b: Uint8Array;
  try {
    b = mem.read(phys, needle.length);
  } catch {
    return false;
  }
  for (let i = 0; i < needle.length; i++) if (b[i] !== needle[i]) return false;
  return true;
}

/** Parts of `ranges` that no run stores. */
function unstored(ranges: readonly { start: number; end: number }[], runs: readonly StoredRun[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const r of ranges) {
    let at = r.start;
    for (const s of runs) {
      if (s.phys + s.size <= at || s.phys >= r.end) continue;
      if (s.phys > at) out.push({ start: at, end: s.phys });
      at = Math.max(at, s.phys + s.size);
    }
    if (at < r.end) out.push({ start: at, end: r.end });
  }
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0] as number;
  for (let i = hay.indexOf(first, from); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(first, i + 1)) {
    let k = 1;
    while (k < needle.length && hay[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
  }
  return -1;
}
