// What the archive records about each crash (meta.json in its folder) and about everything
// (manifest.json at the top). The manifest is rebuilt from the meta.json files every time, so
// it lists exactly what is on disk; meta.json is the one source of truth per folder.

import type { DmesgInfo } from './dmesg.js';
import type { CrashInfo, RecordInfo } from './group.js';
import { ARCHIVE_NAME, isoSeconds, isSafePstoreName } from './names.js';

/** meta.json's format tag; bumped on incompatible changes. */
export const CRASH_META_FORMAT = 'ramoops-harness/crash-meta-1';
/** manifest.json's format tag. */
export const MANIFEST_FORMAT = 'ramoops-harness/manifest-1';

/** What identifies the machine, boot and configuration a harvest read from. */
export interface HarvestContext {
  /** When the harvest ran (ISO). */
  readonly harvestedAt: string;
  /** The target as given (`root@board:22`) or `local`. */
  readonly host: string;
  readonly hostname: string | null;
  /** /proc/sys/kernel/random/boot_id of the boot that was harvested FROM (the one after the crash). */
  readonly bootId: string | null;
  readonly kernelRelease: string | null;
  /** `uname -a`. */
  readonly uname: string | null;
  /** /proc/cmdline. */
  readonly cmdline: string | null;
  /** /sys/module/ramoops/parameters/*: name -> value. */
  readonly ramoopsParameters: Readonly<Record<string, string>>;
  /** /sys/module/pstore/parameters/* (backend, compress, ...). */
  readonly pstoreParameters: Readonly<Record<string, string>>;
  /** True when pstore was not mounted and the harvest mounted it. */
  readonly pstoreMountedByHarvest: boolean;
}

/** One archived file. */
export interface RecordMeta {
  /** The file's name in /sys/fs/pstore, and in the archive folder. */
  readonly file: string;
  /** `dump` for dmesg parts, `boot-log` for console, pmsg, ftrace and other records kept beside them. */
  readonly role: 'dump' | 'boot-log';
  readonly type: string;
  readonly backend: string;
  readonly id: number;
  readonly reason: string | null;
  readonly counter: number | null;
  readonly part: number | null;
  /** The file's mtime as ISO (dmesg: the record time; others: when pstore made the file). */
  readonly time: string;
  readonly mtime: { readonly seconds: number; readonly nsec: number };
  readonly size: number;
  readonly length: number;
  readonly sha256: string;
  /** The ECC notice line, null when the zone has no ECC. */
  readonly ecc: string | null;
  readonly encZ: boolean;
  /** For `.enc.z`: which decompressor read it here, null when none could. */
  readonly decodedWith: string | null;
}

/** A folder's meta.json. */
export interface CrashMeta {
  readonly format: typeof CRASH_META_FORMAT;
  readonly name: string;
  /** `crash` holds one dump (+ the boot's logs); `logs` only boot logs that came with no new crash. */
  readonly kind: 'crash' | 'logs';
  readonly reason: string | null;
  readonly counter: number | null;
  readonly time: string;
  readonly summary: string | null;
  readonly headline: string | null;
  readonly cause: string | null;
  readonly rip: string | null;
  readonly frames: readonly string[];
  readonly records: readonly RecordMeta[];
  readonly harvest: HarvestContext;
}

/** A manifest line: one archived record with where it is and which harvest brought it. */
export interface ManifestRecord extends RecordMeta {
  readonly crash: string;
  /** Path relative to the archive root: `<crash>/<file>`. */
  readonly archive: string;
  readonly harvestedAt: string;
  readonly bootId: string | null;
  readonly host: string;
}

/** manifest.json. */
export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly updatedAt: string;
  readonly crashes: readonly {
    readonly name: string;
    readonly kind: 'crash' | 'logs';
    readonly reason: string | null;
    readonly counter: number | null;
    readonly time: string;
    readonly summary: string | null;
    readonly files: readonly string[];
  }[];
  readonly records: readonly ManifestRecord[];
}

/** The meta of one record as archived. */
export function recordMeta(r: RecordInfo, role: RecordMeta['role']): RecordMeta {
  const d: DmesgInfo | undefined = r.dmesg;
  return {
    file: r.file,
    role,
    type: r.type,
    backend: r.backend,
    id: r.id,
    reason: d?.reason ?? null,
    counter: d?.counter ?? null,
    part: d?.part ?? null,
    time: isoSeconds(r.mtime.seconds),
    mtime: r.mtime,
    size: r.size,
    length: r.length,
    sha256: r.sha256,
    ecc: r.ecc?.text ?? null,
    encZ: r.encZ,
    decodedWith: r.decodedWith ?? null,
  };
}

/** meta.json for a folder holding one crash (its parts, plus boot logs set beside it). */
export function crashMeta(c: CrashInfo, logs: readonly RecordInfo[], harvest: HarvestContext): CrashMeta {
  return {
    format: CRASH_META_FORMAT,
    name: c.name,
    kind: 'crash',
    reason: c.reason ?? null,
    counter: c.counter ?? null,
    time: isoSeconds(c.time.seconds),
    summary: c.summary,
    headline: c.headline ?? null,
    cause: c.cause ?? null,
    rip: c.rip ?? null,
    frames: c.frames,
    records: [...c.parts.map((p) => recordMeta(p, 'dump')), ...logs.map((l) => recordMeta(l, 'boot-log'))],
    harvest,
  };
}

/** meta.json for a folder of boot logs that arrived without a new crash. */
export function logsMeta(name: string, logs: readonly RecordInfo[], harvest: HarvestContext): CrashMeta {
  const newest = Math.max(...logs.map((l) => l.mtime.seconds));
  return {
    format: CRASH_META_FORMAT,
    name,
    kind: 'logs',
    reason: null,
    counter: null,
    time: isoSeconds(newest),
    summary: null,
    headline: null,
    cause: null,
    rip: null,
    frames: [],
    records: logs.map((l) => recordMeta(l, 'boot-log')),
    harvest,
  };
}

/** The manifest for these folders (sorted by name, which sorts by time). */
export function buildManifest(metas: readonly CrashMeta[], updatedAt: string): Manifest {
  const sorted = [...metas].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    format: MANIFEST_FORMAT,
    updatedAt,
    crashes: sorted.map((m) => ({
      name: m.name,
      kind: m.kind,
      reason: m.reason,
      counter: m.counter,
      time: m.time,
      summary: m.summary,
      files: m.records.map((r) => r.file),
    })),
    records: sorted.flatMap((m) =>
      m.records.map((r) => ({
        ...r,
        crash: m.name,
        archive: `${m.name}/${r.file}`,
        harvestedAt: m.harvest.harvestedAt,
        bootId: m.harvest.bootId,
        host: m.harvest.host,
      })),
    ),
  };
}

/**
 * Checks a meta.json read back from disk: the archive may have been edited by hand or by an
 * older version, and its names end up in paths. Returns the problem, or the meta.
 */
export function parseCrashMeta(json: unknown, folder: string): CrashMeta | string {
  if (!isObject(json)) return 'not a JSON object';
  if (json['format'] !== CRASH_META_FORMAT) return `format is ${JSON.stringify(json['format'])}, expected ${CRASH_META_FORMAT}`;
  if (json['name'] !== folder || !ARCHIVE_NAME.test(folder)) return `name ${JSON.stringify(json['name'])} does not match its folder ${folder}`;
  if (json['kind'] !== 'crash' && json['kind'] !== 'logs') return `kind ${JSON.stringify(json['kind'])}`;
  const records = json['records'];
  if (!Array.isArray(records)) return 'records is not a list';
  for (const r of records) {
    if (!isObject(r) || typeof r['file'] !== 'string' || !isSafePstoreName(r['file'])) return `a record has an unsafe or missing file name`;
    if (typeof r['sha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(r['sha256'])) return `record ${r['file']} has no sha256`;
  }
  if (!isObject(json['harvest'])) return 'harvest is missing';
  // The remaining fields are only displayed; their shape is what this version writes.
  return json as unknown as CrashMeta;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
