// The pstore side of reading a backend, shared by ERST and efi-pstore: decompress_record()
// and pstore_mkfile() of fs/pstore (platform.c, inode.c): a compressed dmesg record is
// inflated into the reading kernel's work buffer, or kept as it is and named .enc.z.
import { DecompressError, isRamoopsError, type Warning } from '../errors.js';
import { atLeast, readerDecompressor, workBufferRules } from '../kernel/version.js';
import { decompress, workBufferSize, type Algorithm } from '../records/decompress/index.js';
import type { BackendFile, BackendOptions } from './types.js';

/** pstore_type_names[] (fs/pstore/platform.c): index = enum pstore_type_id. */
const TYPE_NAMES = ['dmesg', 'mce', 'console', 'ftrace', 'rtas', 'powerpc-ofw', 'powerpc-common', 'pmsg', 'powerpc-opal'] as const;

/** pstore_type_to_name(): "unknown" past the table (the kernel WARNs once). */
export function pstoreTypeName(type: number): string {
  return TYPE_NAMES[type] ?? 'unknown';
}

/** One record as a backend's read() hands it to pstore. */
export interface BackendRecord {
  readonly type: number;
  readonly id: bigint;
  readonly compressed: boolean;
  readonly payload: Uint8Array;
  /** record->time.tv_sec (0: the file gets the mount time). */
  readonly seconds: bigint;
  readonly offset: number;
  readonly notes: readonly string[];
}

/** How the reading kernel decompresses: the algorithm and its work buffer for a backend bufsize. */
export interface Inflater {
  // A name the kernel may have been given that no decompressor exists for stays a plain string.
  readonly algorithm: string;
  limit(bufsize: number): number;
}

const KNOWN: readonly string[] = ['deflate', 'zlib', 'zstd', 'lzo', 'lz4', 'lz4hc', '842'];

/** The reading kernel's decompressor (the same rules as for ramoops records: kernel/version.ts). */
export function inflaterFor(options: BackendOptions, decisions: string[]): Inflater {
  const v = options.kernel;
  if (!v) decisions.push('no kernel version given: records read as a current kernel reads them (6.6+ work buffer)');
  const reader = v ? readerDecompressor(v) : 'inflate-raw-15';
  const algorithm = reader === 'zlib' ? (options.compress ?? 'zlib') : reader === 'crypto' ? (options.compress ?? 'deflate') : 'deflate';
  const rules = { inflate66: reader === 'inflate-raw-15', ...(v ? workBufferRules(v) : {}) };
  return { algorithm, limit: (bufsize) => (KNOWN.includes(algorithm) ? workBufferSize(algorithm as Algorithm, bufsize, rules) : 0) };
}

/** The kernel version from which a rule holds; true without a version (current kernels). */
export function since(options: BackendOptions, major: number, minor: number): boolean {
  return options.kernel ? atLeast(options.kernel, major, minor) : true;
}

/**
 * decompress_record() + pstore_mkfile(): the file for one record. Only dmesg records are
 * decompressed; one that does not decompress keeps its stored bytes and the .enc.z suffix.
 */
export function recordFile(rec: BackendRecord, backendName: string, inflater: Inflater, bufsize: number, warnings: Warning[]): BackendFile {
  const type = pstoreTypeName(rec.type);
  const base = `${type}-${backendName}-${rec.id}`;
  const notes = [...rec.notes];
  let bytes = rec.payload;
  let name = base;
  let compression: BackendFile['compression'];
  if (rec.compressed) {
    const algorithm = inflater.algorithm as Algorithm;
    try {
      if (rec.type !== 0) throw new DecompressError(algorithm, `a compressed ${type} record: the kernel decompresses dmesg records only`);
      if (!KNOWN.includes(algorithm))
        throw new DecompressError(algorithm, `pstore.compress=${algorithm}: no decompressor is set up, the kernel cannot decompress`);
      bytes = decompress(algorithm, rec.payload, inflater.limit(bufsize));
      compression = { algorithm, ok: true };
    } catch (e) {
      if (!isRamoopsError(e)) throw e;
      name = `${base}.enc.z`;
      compression = { algorithm, ok: false, error: e.message };
      notes.push(`decompression failed (${e.message}); kept compressed as the kernel does`);
      warnings.push({
        code: 'backend-decompress-failed',
        address: rec.offset,
        message: `record at file offset 0x${rec.offset.toString(16)}: ${e.message}; written as ${name}`,
      });
    }
  }
  const seconds = Number(BigInt.asIntN(64, rec.seconds));
  return {
    name,
    type,
    id: rec.id,
    bytes,
    size: bytes.length,
    mtime: seconds !== 0 ? { seconds, nanoseconds: 0 } : undefined,
    offset: rec.offset,
    compression,
    notes,
  };
}

/** pstore_mkfile() refuses a second file of the same name (-EEXIST): the first one stays. */
export function dropDuplicates(files: readonly BackendFile[], warnings: Warning[]): BackendFile[] {
  const seen = new Set<string>();
  const out: BackendFile[] = [];
  for (const f of files) {
    if (seen.has(f.name)) {
      warnings.push({
        code: 'backend-duplicate-name',
        address: f.offset,
        message: `a second record named ${f.name} at file offset 0x${f.offset.toString(16)}: the kernel keeps the first`,
      });
      continue;
    }
    seen.add(f.name);
    out.push(f);
  }
  return out;
}
