// makedumpfile's "flattened" format: a dump written as a stream of (offset, size, data) records
// so it can go through a pipe (makedumpfile -F; QEMU 7.2 writes kdump this way too). We index
// the record headers in one pass (memory grows with the number of records, not their bytes) and
// serve the dump it describes as a random-access ByteSource, without rewriting it.
import { DumpFormatError, TruncatedError, hex } from '../errors.js';
import { ByteReader } from '../bytes/reader.js';
import type { ByteSource } from './memory.js';
import { isFlattened } from './magic.js';

// struct makedumpfile_header (makedumpfile.h; QEMU include/sysemu/dump.h MakedumpfileHeader):
//   char signature[16] = "makedumpfile" (checked by isFlattened, magic.ts); int64_t type = 1; int64_t version = 1;
// padded to MAX_SIZE_MDF_HEADER (4096) bytes. Both writers store the integers big endian
// ("for sending dump data to a different architecture", makedumpfile.c write_start_flat_header).
const MDF_HEADER_SIZE = 4096;
// struct makedumpfile_data_header: int64_t offset; int64_t buf_size; big endian, then buf_size
// bytes. offset = buf_size = -1 (END_FLAG_FLAT_HEADER) ends the stream.
const DATA_HEADER_SIZE = 16;

export { isFlattened };

/** A flattened dump seen as the file it describes. */
export interface FlattenedSource extends ByteSource {
  /** Number of data records in the stream. */
  readonly records: number;
  /** True when the stream ended with the end marker (false: it was cut short). */
  readonly complete: boolean;
}

/**
 * Indexes a flattened dump's records (one sequential pass over their headers) and returns the
 * dump they describe. Later records win where records overlap; bytes no record wrote read as
 * zero, as they would in the file makedumpfile -R rebuilds.
 */
export function unflatten(source: ByteSource): FlattenedSource {
  const head = source.read(0, Math.min(MDF_HEADER_SIZE, source.size));
  if (head.length < 32) throw new TruncatedError('makedumpfile flattened header', 0, 32, head.length);
  if (!isFlattened(head)) throw new DumpFormatError('flattened', 0, 'no "makedumpfile" signature');
  const h = new ByteReader(head, 'makedumpfile flattened header', false);
  const type = h.u64At(16);
  const version = h.u64At(24);
  if (type !== 1n) throw new DumpFormatError('flattened', 16, `type ${type}, expected 1 (TYPE_FLAT_HEADER)`);
  if (version !== 1n) throw new DumpFormatError('flattened', 24, `version ${version}, expected 1 (VERSION_FLAT_HEADER)`);

  // Records in stream order: where they go in the dump and where their bytes are in the stream.
  const dumpStart: number[] = [];
  const length: number[] = [];
  const streamPos: number[] = [];
  let pos = MDF_HEADER_SIZE;
  let complete = false;
  while (pos + DATA_HEADER_SIZE <= source.size) {
    const r = new ByteReader(source.read(pos, DATA_HEADER_SIZE), 'makedumpfile data header', false);
    const off = r.u64At(0);
    const size = r.u64At(8);
    if (off === 0xffff_ffff_ffff_ffffn && size === 0xffff_ffff_ffff_ffffn) {
      complete = true;
      break;
    }
    if (off > BigInt(Number.MAX_SAFE_INTEGER) || size > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new DumpFormatError('flattened', pos, `record header (offset ${hex(off)}, size ${hex(size)}) is not a sane record`);
    }
    const n = Number(size);
    if (pos + DATA_HEADER_SIZE + n > source.size) {
      // A stream cut inside a record: keep what is there, like a partially written file.
      const have = source.size - pos - DATA_HEADER_SIZE;
      if (have > 0) {
        dumpStart.push(Number(off));
        length.push(have);
        streamPos.push(pos + DATA_HEADER_SIZE);
      }
      pos = source.size;
      break;
    }
    if (n > 0) {
      dumpStart.push(Number(off));
      length.push(n);
      streamPos.push(pos + DATA_HEADER_SIZE);
    }
    pos += DATA_HEADER_SIZE + n;
  }
  if (!complete && pos < source.size) {
    throw new TruncatedError('makedumpfile data header', pos, DATA_HEADER_SIZE, source.size - pos);
  }
  const pieces = resolvePieces(dumpStart, length, streamPos);
  // Pieces are sorted and disjoint, so the last one ends the dump.
  const size = pieces.end[pieces.end.length - 1] ?? 0;
  return {
    size,
    records: dumpStart.length,
    complete,
    read(at, len) {
      const want = Math.max(0, Math.min(len, size - at));
      const out = new Uint8Array(want);
      let i = findPiece(pieces.start, at);
      if (i < 0) i = 0;
      for (; i < pieces.start.length && want > 0; i++) {
        const s = pieces.start[i] as number;
        const e = pieces.end[i] as number;
        if (s >= at + want) break;
        if (e <= at) continue;
        const from = Math.max(s, at);
        const to = Math.min(e, at + want);
        const bytes = source.read((pieces.stream[i] as number) + (from - s), to - from);
        if (from === at && to - from === want && bytes.length === want) return bytes;
        out.set(bytes, from - at);
      }
      return out;
    },
  };
}

/** Index of the last piece starting at or before `at`, or -1. */
function findPiece(starts: readonly number[], at: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if ((starts[mid] as number) <= at) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

/**
 * Turns records (possibly overlapping, in stream order) into disjoint sorted pieces, each taken
 * from the latest record covering it. Writers emit non-overlapping records in practice, so the
 * common path is a sort and a check; the sweep only runs when records overlap.
 */
function resolvePieces(
  dumpStart: readonly number[],
  length: readonly number[],
  streamPos: readonly number[],
): { start: number[]; end: number[]; stream: number[] } {
  const order = dumpStart.map((_, i) => i).sort((a, b) => (dumpStart[a] as number) - (dumpStart[b] as number) || a - b);
  let overlaps = false;
  for (let k = 1; k < order.length; k++) {
    const prev = order[k - 1] as number;
    const cur = order[k] as number;
    if ((dumpStart[prev] as number) + (length[prev] as number) > (dumpStart[cur] as number)) overlaps = true;
  }
  const start: number[] = [];
  const end: number[] = [];
  const stream: number[] = [];
  const emit = (rec: number, s: number, e: number): void => {
    const last = start.length - 1;
    const sp = (streamPos[rec] as number) + (s - (dumpStart[rec] as number));
    // Merge with the previous piece when it continues it in both the dump and the stream.
    if (last >= 0 && end[last] === s && (stream[last] as number) + (s - (start[last] as number)) === sp) {
      end[last] = e;
      return;
    }
    start.push(s);
    end.push(e);
    stream.push(sp);
  };
  if (!overlaps) {
    for (const rec of order) emit(rec, dumpStart[rec] as number, (dumpStart[rec] as number) + (length[rec] as number));
    return { start, end, stream };
  }
  // Sweep over record boundaries; between two boundaries the covering record latest in the
  // stream wins. `active` holds covering records; ended ones are dropped lazily.
  const bounds = [...new Set(dumpStart.flatMap((s, i) => [s, s + (length[i] as number)]))].sort((a, b) => a - b);
  const active: number[] = [];
  let next = 0;
  for (let b = 0; b + 1 < bounds.length; b++) {
    const s = bounds[b] as number;
    const e = bounds[b + 1] as number;
    while (next < order.length && (dumpStart[order[next] as number] as number) <= s) active.push(order[next++] as number);
    let best = -1;
    for (let k = active.length - 1; k >= 0; k--) {
      const rec = active[k] as number;
      if ((dumpStart[rec] as number) + (length[rec] as number) <= s) {
        active.splice(k, 1);
        continue;
      }
      if (rec > best) best = rec;
    }
    if (best >= 0) emit(best, s, e);
  }
  return { start, end, stream };
}
