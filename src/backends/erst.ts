// QEMU's acpi-erst backing store (hw/acpi/erst.c) read as the guest's pstore would read it.
// The store is cut into record_size slots; slot 0 (and more, for big stores) holds the header
// and a map of one u64 record id per slot (0 = free); a record fills the start of its slot
// and QEMU pads the rest with 0xff. Every record is a CPER record (cper.ts).
import { ByteReader } from '../bytes/reader.js';
import { BackendFormatError, hex, isRamoopsError, type Warning } from '../errors.js';
import { CPER_PSTORE_HEADER_SIZE, parseCperRecord, type CperRecord } from './cper.js';
import { CPER_CREATOR_PSTORE, CPER_SECTION_TYPE_DMESG, CPER_SECTION_TYPE_DMESG_Z, CPER_SECTION_TYPE_MCE } from './guid.js';
import { dropDuplicates, inflaterFor, recordFile, type BackendRecord } from './record.js';
import type { BackendExtraction, BackendOptions } from './types.js';

/** "ERSTSTOR" as the little-endian u64 QEMU writes first (ERST_STORE_MAGIC). */
export const ERST_STORE_MAGIC = 'ERSTSTOR';
const HEADER_SIZE = 24;
const ALL_ONES = (1n << 64n) - 1n;

/** ERSTStorageHeader (packed): magic, record_size, storage_offset, version, reserved, record_count, map[]. */
export interface ErstStore {
  readonly recordSize: number;
  readonly storageOffset: number;
  readonly recordCount: number;
  /** map[i] for every slot index i (0 = free). */
  readonly map: readonly bigint[];
}

/** The header as QEMU's check_erst_backend_storage() accepts it, or why not. */
export function parseErstStore(bytes: Uint8Array): ErstStore | string {
  const r = new ByteReader(bytes, 'acpi-erst store header', true);
  if (bytes.length < HEADER_SIZE) return `${bytes.length} bytes, shorter than the ${HEADER_SIZE}-byte store header`;
  const magic = String.fromCharCode(...r.bytesAt(0, 8));
  if (magic !== ERST_STORE_MAGIC) return `no ${ERST_STORE_MAGIC} magic at offset 0`;
  const recordSize = r.u32At(8);
  const storageOffset = r.u32At(12);
  if (recordSize < 4096 || (recordSize & (recordSize - 1)) !== 0) return `record_size ${recordSize} is not a power of two of at least 4096`;
  if (storageOffset === 0 || storageOffset % recordSize !== 0)
    return `storage_offset ${hex(storageOffset)} is not a non-zero multiple of record_size ${hex(recordSize)}`;
  if (r.u16At(16) !== 0x0100 || r.u16At(18) !== 0) return `version ${hex(r.u16At(16))} / reserved ${r.u16At(18)}: QEMU accepts 0x100 / 0 only`;
  if (bytes.length % recordSize !== 0) return `store size ${bytes.length} is not a multiple of record_size ${recordSize}`;
  const slots = bytes.length / recordSize;
  if (HEADER_SIZE + 8 * slots > storageOffset) return `the map of ${slots} slots does not fit before storage_offset ${hex(storageOffset)}`;
  const map = Array.from({ length: slots }, (_, i) => r.u64At(HEADER_SIZE + 8 * i));
  return { recordSize, storageOffset, recordCount: r.u32At(20), map };
}

/** What erst_reader() makes of a record: its pstore type and whether it is compressed. */
function recordType(rec: CperRecord): { type: number; compressed: boolean } {
  if (rec.sectionType === CPER_SECTION_TYPE_DMESG_Z) return { type: 0, compressed: true };
  if (rec.sectionType === CPER_SECTION_TYPE_DMESG) return { type: 0, compressed: false };
  if (rec.sectionType === CPER_SECTION_TYPE_MCE) return { type: 1, compressed: false };
  return { type: 9, compressed: false }; // PSTORE_TYPE_MAX: named "unknown"
}

/**
 * The record ids in the order the guest enumerates them: QEMU hands out non-zero map entries
 * in slot order (none when record_count is 0); the kernel's id cache skips repeats and stops
 * at an all-ones id.
 */
function enumerate(store: ErstStore): bigint[] {
  if (store.recordCount === 0) return [];
  const ids: bigint[] = [];
  for (let i = store.storageOffset / store.recordSize; i < store.map.length; i++) {
    const id = store.map[i] ?? 0n;
    if (id === 0n) continue;
    if (id === ALL_ONES) break;
    if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** QEMU's lookup_erst_record(): the first slot holding `id`, counting at most record_count used slots. */
function lookup(store: ErstStore, id: bigint): number | undefined {
  let count = 0;
  for (let i = store.storageOffset / store.recordSize; i < store.map.length && count < store.recordCount; i++) {
    const m = store.map[i] ?? 0n;
    if (m === id) return i;
    if (m !== 0n) count++;
  }
  return undefined;
}

interface Read {
  readonly records: BackendRecord[];
  readonly bufsize: number;
}

/** Records through the store's map, as the guest reads them; a bad record is skipped with a warning, not the end. */
function readMapped(bytes: Uint8Array, store: ErstStore, warnings: Warning[]): Read {
  const records: BackendRecord[] = [];
  const used = new Set<number>();
  for (const id of enumerate(store)) {
    const slot = lookup(store, id);
    if (slot === undefined) {
      warnings.push({
        code: 'erst-id-not-found',
        message: `record id ${id} is in the map but past record_count ${store.recordCount}: QEMU does not find it, the kernel skips it`,
      });
      continue;
    }
    used.add(slot);
    const rec = slotRecord(bytes, store.recordSize, slot, warnings);
    if (!rec) continue;
    if (rec.recordId !== id)
      warnings.push({
        code: 'erst-id-mismatch',
        address: slot * store.recordSize,
        message: `slot ${slot} is mapped to record id ${id} but its CPER header says ${rec.recordId}; named by the map, as the kernel does`,
      });
    const r = toRecord(rec, id, slot * store.recordSize, warnings);
    if (r) records.push(r);
  }
  noteStale(bytes, store, used, warnings);
  return { records, bufsize: store.recordSize - CPER_PSTORE_HEADER_SIZE };
}

function slotRecord(bytes: Uint8Array, recordSize: number, slot: number, warnings: Warning[]): CperRecord | undefined {
  const at = slot * recordSize;
  try {
    return parseCperRecord(bytes.subarray(at, at + recordSize), at);
  } catch (e) {
    if (!isRamoopsError(e)) throw e;
    warnings.push({ code: 'erst-bad-record', address: at, message: `slot ${slot}: ${e.message}; skipped` });
    return undefined;
  }
}

function toRecord(rec: CperRecord, id: bigint, offset: number, warnings: Warning[]): BackendRecord | undefined {
  if (rec.creatorId !== CPER_CREATOR_PSTORE) {
    warnings.push({
      code: 'erst-not-pstore',
      address: offset,
      message: `record ${id} at ${hex(offset)} was created by ${rec.creatorId}, not pstore: the kernel skips it`,
    });
    return undefined;
  }
  const { type, compressed } = recordType(rec);
  return { type, id, compressed, payload: rec.data, seconds: rec.timestampValid ? rec.timestamp : 0n, offset, notes: [`ERST slot at ${hex(offset)}`] };
}

/** Cleared records keep their bytes (QEMU only zeroes the map entry): said, never shown. */
function noteStale(bytes: Uint8Array, store: ErstStore, used: ReadonlySet<number>, warnings: Warning[]): void {
  for (let slot = store.storageOffset / store.recordSize; slot < store.map.length; slot++) {
    if (used.has(slot) || store.map[slot] !== 0n) continue;
    const at = slot * store.recordSize;
    if (String.fromCharCode(...bytes.subarray(at, at + 4)) !== 'CPER') continue;
    warnings.push({
      code: 'erst-cleared-record',
      address: at,
      message: `slot ${slot} at ${hex(at)} holds a cleared (erased) CPER record: the kernel does not show it`,
    });
  }
}

/** A store whose header is unreadable: every 4 KiB boundary that starts a pstore CPER record (QEMU's slots are 4 KiB multiples). */
function readScanned(bytes: Uint8Array, why: string, warnings: Warning[]): Read {
  warnings.push({
    code: 'erst-bad-header',
    address: 0,
    message: `acpi-erst store header: ${why}; records found by scanning 4 KiB boundaries instead (QEMU would refuse this store)`,
  });
  const records: BackendRecord[] = [];
  let recordSize = 4096;
  for (let at = 4096; at + CPER_PSTORE_HEADER_SIZE <= bytes.length; at += 4096) {
    if (String.fromCharCode(...bytes.subarray(at, at + 4)) !== 'CPER') continue;
    try {
      const rec = parseCperRecord(bytes.subarray(at), at);
      const r = toRecord(rec, rec.recordId, at, warnings);
      if (!r) continue;
      records.push({ ...r, notes: [...r.notes, 'recovered by scanning: the store header is damaged'] });
      while (recordSize < rec.recordLength) recordSize *= 2;
    } catch (e) {
      if (!isRamoopsError(e)) throw e;
      warnings.push({ code: 'erst-bad-record', address: at, message: `${e.message}; skipped` });
    }
  }
  return { records, bufsize: Math.max(8192, recordSize) - CPER_PSTORE_HEADER_SIZE };
}

/** The files /sys/fs/pstore shows for a QEMU acpi-erst store: dmesg-erst-<record id>, mtime = record time. */
export function extractErst(bytes: Uint8Array, options: BackendOptions = {}): BackendExtraction {
  const warnings: Warning[] = [];
  const decisions: string[] = [];
  const store = parseErstStore(bytes);
  const { records, bufsize } = typeof store === 'string' ? readScanned(bytes, store, warnings) : readMapped(bytes, store, warnings);
  if (typeof store === 'string' && records.length === 0)
    throw new BackendFormatError('erst', 0, `not a QEMU acpi-erst store: ${store}, and no pstore CPER record on any 4 KiB boundary`);
  if (typeof store !== 'string')
    decisions.push(`acpi-erst store: record_size ${store.recordSize}, ${store.map.length} slots, record_count ${store.recordCount}`);
  const inflater = inflaterFor(options, decisions);
  const files = records.map((r) => recordFile(r, 'erst', inflater, bufsize, warnings));
  return { backend: 'erst', files: dropDuplicates(files, warnings), decisions, warnings };
}
