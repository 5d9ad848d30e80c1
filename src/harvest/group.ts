// From the files of one /sys/fs/pstore to crashes: dmesg records are classified and the parts
// of one dump grouped (same reason, counter and time), each dump gets its archive name, and
// the boot's own logs (console, pmsg, ftrace) are set beside the newest crash. Hashing is
// passed in so this stays pure (the harness gives node:crypto's SHA-256).

import { concatBytes } from '../bytes/concat.js';
import { decompress, type Algorithm } from '../records/decompress/index.js';
import { classifyDmesg, frameFunction, type DmesgInfo } from './dmesg.js';
import { parseEccNotice, withoutEccNotice, type EccNoticeInfo } from './ecc.js';
import { archiveName, isoSeconds, parsePstoreName, type PstoreName } from './names.js';

/** A file as read from the machine. */
export interface HarvestedFile {
  readonly name: string;
  /** Size as stat reported it (ftrace: the binary length, not the text's). */
  readonly size: number;
  readonly mtime: { readonly seconds: number; readonly nsec: number };
  readonly bytes: Uint8Array;
}

/** SHA-256 as lowercase hex; supplied by the caller. */
export type Sha256 = (bytes: Uint8Array) => string;

/** One harvested file, understood. */
export interface RecordInfo {
  readonly file: string;
  readonly type: string;
  readonly backend: string;
  readonly id: number;
  readonly encZ: boolean;
  readonly size: number;
  /** Bytes read (differs from size for ftrace). */
  readonly length: number;
  readonly mtime: { readonly seconds: number; readonly nsec: number };
  /** Of the whole file as read, to check the archive against. */
  readonly sha256: string;
  readonly ecc: EccNoticeInfo | undefined;
  /** dmesg only. */
  readonly dmesg: DmesgInfo | undefined;
  /** For `.enc.z`: the algorithm that decoded it here although the kernel could not, if any. */
  readonly decodedWith: Algorithm | undefined;
}

/** One dump (all its parts): one crash in the archive. */
export interface CrashInfo {
  /** Archive folder name: `<time>-<reason>-<hash12>`. */
  readonly name: string;
  readonly time: { readonly seconds: number; readonly nsec: number };
  readonly reason: string | undefined;
  readonly counter: number | undefined;
  readonly headline: string | undefined;
  readonly cause: string | undefined;
  readonly rip: string | undefined;
  readonly frames: readonly string[];
  /** Parts in order (part 1 first). */
  readonly parts: readonly RecordInfo[];
  /** SHA-256 over the parts' text without ECC notices (the hash in the name). */
  readonly contentSha256: string;
  /** The one-line summary. */
  readonly summary: string;
}

/** What one pstore listing holds. */
export interface Analysis {
  /** Oldest first (record time, then dump counter). */
  readonly crashes: readonly CrashInfo[];
  /** console, pmsg, ftrace and other non-dmesg records: logs of the boot before the harvest. */
  readonly bootLogs: readonly RecordInfo[];
  /** Names that are not pstore's: never read into commands, never archived. */
  readonly refused: readonly string[];
}

/** Largest text a `.enc.z` record is decoded to here (a kernel work buffer is far smaller). */
const DECODE_LIMIT = 4 * 1024 * 1024;
const TRY_ALGORITHMS: readonly Algorithm[] = ['deflate', 'zstd', 'zlib'];
const SUMMARY_FRAMES = 4;

/** Classifies every file and groups dmesg parts into crashes. */
export function analyze(files: readonly HarvestedFile[], sha256: Sha256): Analysis {
  const refused: string[] = [];
  const dmesg: RecordInfo[] = [];
  const bootLogs: RecordInfo[] = [];
  // The text without the ECC notice, kept aside for the crash hash.
  const content = new Map<RecordInfo, Uint8Array>();
  for (const f of files) {
    const parsed = parsePstoreName(f.name);
    if (parsed === undefined) {
      refused.push(f.name);
      continue;
    }
    const rec = recordInfo(f, parsed, sha256);
    if (parsed.type === 'dmesg') {
      dmesg.push(rec);
      content.set(rec, withoutEccNotice(f.bytes));
    } else {
      bootLogs.push(rec);
    }
  }
  const groups = new Map<string, RecordInfo[]>();
  for (const r of dmesg) {
    // Parts of one dump share reason, counter and (being written together) the second.
    const d = r.dmesg;
    const key = d?.reason !== undefined && d.counter !== undefined ? `${r.backend}|${d.reason}|${d.counter}|${r.mtime.seconds}` : `file|${r.file}`;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [r]);
    else g.push(r);
  }
  const crashes = [...groups.values()].map((parts) => crashInfo(parts, content, sha256));
  crashes.sort((a, b) => a.time.seconds - b.time.seconds || a.time.nsec - b.time.nsec || (a.counter ?? 0) - (b.counter ?? 0) || cmp(a.name, b.name));
  bootLogs.sort((a, b) => cmp(a.file, b.file));
  return { crashes, bootLogs, refused: refused.sort(cmp) };
}

function recordInfo(f: HarvestedFile, parsed: PstoreName, sha256: Sha256): RecordInfo {
  const ecc = parseEccNotice(f.bytes);
  let dmesg: DmesgInfo | undefined;
  let decodedWith: Algorithm | undefined;
  if (parsed.type === 'dmesg') {
    if (parsed.encZ) {
      const decoded = tryDecode(withoutEccNotice(f.bytes));
      if (decoded !== undefined) {
        decodedWith = decoded.algorithm;
        dmesg = classifyDmesg(decoded.text);
      }
    } else {
      dmesg = classifyDmesg(new TextDecoder('utf-8').decode(withoutEccNotice(f.bytes)));
    }
  }
  return {
    file: f.name,
    type: parsed.type,
    backend: parsed.backend,
    id: parsed.id,
    encZ: parsed.encZ,
    size: f.size,
    length: f.bytes.length,
    mtime: f.mtime,
    sha256: sha256(f.bytes),
    ecc,
    dmesg,
    decodedWith,
  };
}

/**
 * The kernel shows `.enc.z` when it could not decompress (a damaged stream, or an algorithm
 * the reading kernel lacks, e.g. zstd records read by 6.6+). Try ours; accept only text that
 * starts with pstore's part header, so garbage that happens to inflate is not believed.
 */
function tryDecode(payload: Uint8Array): { readonly algorithm: Algorithm; readonly text: string } | undefined {
  for (const algorithm of TRY_ALGORITHMS) {
    try {
      const out = decompress(algorithm, payload, DECODE_LIMIT);
      const text = new TextDecoder('utf-8').decode(out);
      if (/^[A-Za-z]+#\d+ Part\d+\n/.test(text)) return { algorithm, text };
    } catch {
      // Not this algorithm, or damaged: the next one, then give up.
    }
  }
  return undefined;
}

function crashInfo(unsorted: readonly RecordInfo[], content: ReadonlyMap<RecordInfo, Uint8Array>, sha256: Sha256): CrashInfo {
  const parts = [...unsorted].sort((a, b) => (a.dmesg?.part ?? 0) - (b.dmesg?.part ?? 0) || a.id - b.id);
  const first = parts[0];
  if (first === undefined) throw new RangeError('crashInfo: no parts');
  const d = first.dmesg;
  // The name's hash covers what the record says, not the ECC notice a later boot may count differently.
  const contentSha256 = sha256(concatBytes(parts.map((p) => content.get(p))));
  const reason = d?.reason ?? (first.encZ ? 'undecoded' : 'unknown');
  const name = archiveName(first.mtime.seconds, reason, contentSha256);
  const base = {
    name,
    time: first.mtime,
    reason: d?.reason,
    counter: d?.counter,
    headline: d?.headline,
    cause: d?.cause,
    rip: d?.rip,
    frames: d?.frames ?? [],
    parts,
    contentSha256,
  };
  return { ...base, summary: crashSummary(base) };
}

/** The one line per crash: time, reason#counter, the panic/oops line, what caused it, where, and the first frames. */
export function crashSummary(c: Omit<CrashInfo, 'summary' | 'name' | 'contentSha256'>): string {
  const what =
    c.reason === undefined ? (c.parts[0]?.encZ === true ? 'undecodable record (.enc.z)' : 'record without a part header') : `${c.reason}#${c.counter ?? '?'}`;
  const parts = [
    `${isoSeconds(c.time.seconds)} ${what}:`,
    c.headline ??
      (c.parts[0]?.dmesg?.lastLine !== undefined
        ? `(no panic/oops line; last: ${c.parts[0].dmesg.lastLine})`
        : '(compressed text the kernel could not decompress, nor could we)'),
  ];
  if (c.cause !== undefined) parts.push(`[after: ${c.cause}]`);
  if (c.rip !== undefined) parts.push(`at ${c.rip.replace(/^(?:RIP: [0-9a-f]{4}:|pc : )/, '')}`);
  if (c.frames.length > 0) parts.push(`| ${c.frames.slice(0, SUMMARY_FRAMES).map(frameFunctionShown).join(' < ')}`);
  const ecc = c.parts.map((p) => p.ecc).find((e) => e !== undefined && (e.corrected > 0 || e.unrecoverable > 0));
  if (ecc !== undefined) parts.push(`{${ecc.text}}`);
  return parts.join(' ');
}

function frameFunctionShown(f: string): string {
  return (f.startsWith('? ') ? '?' : '') + frameFunction(f);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
