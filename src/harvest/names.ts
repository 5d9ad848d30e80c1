// Names on both sides of a harvest: the files pstore shows (`<type>-<backend>-<id>[.enc.z]`,
// docs/format.md §10) and the archive folders we make for each crash. File names come
// from another machine, so they are checked here before anything uses them in a command or
// a path.

/** The only file names a harvest reads, runs commands on or writes: what pstore makes, nothing that can climb out of a folder. */
export const SAFE_PSTORE_NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** Longest name pstore can produce (its name buffer is 64 bytes); longer ones are refused like unsafe ones. */
export const MAX_PSTORE_NAME = 63;

/** Record types pstore knows (fs/pstore/inode.c); longest first so `powerpc-ofw` wins over a shorter match. */
export const PSTORE_TYPES: readonly string[] = [
  'powerpc-common',
  'powerpc-opal',
  'powerpc-ofw',
  'console',
  'unknown',
  'ftrace',
  'dmesg',
  'pmsg',
  'rtas',
  'mce',
];

/** A pstore file name taken apart. */
export interface PstoreName {
  readonly type: string;
  readonly backend: string;
  /** dmesg: the zone index for ramoops (efi/erst use large ids); 0 for console, pmsg, ftrace. */
  readonly id: number;
  /** The kernel could not decompress the record and shows the stored bytes (§4.6). */
  readonly encZ: boolean;
}

/** True when `name` may be used in a guest command and as a file name in the archive. */
export function isSafePstoreName(name: string): boolean {
  return name.length <= MAX_PSTORE_NAME && SAFE_PSTORE_NAME.test(name) && !name.includes('..');
}

/** Parses `<type>-<backend>-<id>[.enc.z]`; undefined for anything pstore would not have made. */
export function parsePstoreName(name: string): PstoreName | undefined {
  if (!isSafePstoreName(name)) return undefined;
  const encZ = name.endsWith('.enc.z');
  const base = encZ ? name.slice(0, -'.enc.z'.length) : name;
  for (const type of PSTORE_TYPES) {
    if (!base.startsWith(type + '-')) continue;
    const m = /^([a-z0-9_]+)-(\d{1,16})$/.exec(base.slice(type.length + 1));
    if (m === null || m[1] === undefined || m[2] === undefined) return undefined;
    const id = Number(m[2]);
    if (!Number.isSafeInteger(id)) return undefined;
    // Only dmesg records are ever compressed, so only they can carry the suffix.
    if (encZ && type !== 'dmesg') return undefined;
    return { type, backend: m[1], id, encZ };
  }
  return undefined;
}

/** `YYYYMMDDTHHMMSSZ` of a Unix time: sortable, no characters a file system or shell minds. */
export function utcStamp(seconds: number): string {
  const d = new Date(seconds * 1000);
  if (!Number.isFinite(d.getTime())) return '00000000T000000Z';
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}

/** ISO-8601 UTC with seconds, for reports. */
export function isoSeconds(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isFinite(d.getTime()) ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : 'invalid-time';
}

/**
 * The archive folder of one crash: `<record time>-<reason>-<12 hex of sha256>`. The time and
 * reason make a listing readable and sorted; the hash makes two different records unable to
 * share a folder, and the same record (harvested again) land on the same one.
 */
export function archiveName(seconds: number, reason: string, sha256Hex: string): string {
  const r = reason.toLowerCase().replace(/[^a-z0-9]+/g, '') || 'unknown';
  if (!/^[0-9a-f]{12,}$/.test(sha256Hex)) throw new RangeError(`archiveName: not a hex digest: ${JSON.stringify(sha256Hex)}`);
  return `${utcStamp(seconds)}-${r}-${sha256Hex.slice(0, 12)}`;
}

/** The shape archiveName produces, to tell our folders from anything else in an archive. */
export const ARCHIVE_NAME = /^\d{8}T\d{6}Z-[a-z0-9]+-[0-9a-f]{12}$/;
