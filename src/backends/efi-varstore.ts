// An OVMF/EDK2 variable store as it sits in the VARS pflash file: a firmware volume header
// (PI spec EFI_FIRMWARE_VOLUME_HEADER), a VARIABLE_STORE_HEADER, then variables one after the
// other, each header 4-byte aligned (EDK2 MdeModulePkg/Include/Guid/VariableFormat.h).
// Variables are never rewritten in place: an update appends a new copy and clears State bits
// of the old one, so the store holds deleted copies next to the live one.
import { ByteReader } from '../bytes/reader.js';
import { BackendFormatError, hex, type Warning } from '../errors.js';
import { EFI_AUTHENTICATED_VARIABLE_GUID, EFI_SYSTEM_NV_DATA_FV_GUID, EFI_VARIABLE_GUID, guidAt } from './guid.js';

/** StartId of every variable header. */
const VARIABLE_DATA = 0x55aa;
/** State values (bits are cleared, never set, as a variable goes through its life). */
export const VAR_ADDED = 0x3f;
const VAR_IN_DELETED_TRANSITION = 0xfe;
/** EFI_VARIABLE_RUNTIME_ACCESS: only these are visible to the OS after ExitBootServices. */
export const EFI_VARIABLE_RUNTIME_ACCESS = 0x4;

export interface EfiVariable {
  /** File offset of the variable header. */
  readonly offset: number;
  readonly state: number;
  readonly attributes: number;
  readonly name: string;
  readonly vendor: string;
  readonly data: Uint8Array;
  /** Found by resynchronising after a damaged header: the firmware's own walk stops before it. */
  readonly afterDamage: boolean;
}

export interface VariableStore {
  /** Offset of the first variable header and the end of the store, in the file. */
  readonly start: number;
  readonly end: number;
  readonly authenticated: boolean;
  readonly variables: readonly EfiVariable[];
}

/** Where the variable store starts and ends, from the firmware volume and store headers. */
function storeBounds(bytes: Uint8Array): { start: number; end: number; authenticated: boolean } {
  const r = new ByteReader(bytes, 'OVMF firmware volume header', true);
  const fvSig = String.fromCharCode(...r.bytesAt(0x28, 4));
  if (fvSig !== '_FVH') throw new BackendFormatError('efi', 0x28, `no _FVH firmware volume signature (found ${JSON.stringify(fvSig)})`);
  const fsGuid = guidAt(r, 0x10);
  if (fsGuid !== EFI_SYSTEM_NV_DATA_FV_GUID)
    throw new BackendFormatError('efi', 0x10, `firmware volume ${fsGuid} is not a variable store volume (${EFI_SYSTEM_NV_DATA_FV_GUID})`);
  const headerLength = r.u16At(0x30);
  const sig = guidAt(r, headerLength);
  const authenticated = sig === EFI_AUTHENTICATED_VARIABLE_GUID;
  if (!authenticated && sig !== EFI_VARIABLE_GUID)
    throw new BackendFormatError('efi', headerLength, `variable store signature ${sig} is neither the authenticated nor the plain variable GUID`);
  const size = r.u32At(headerLength + 16);
  // VARIABLE_STORE_HEADER is 28 bytes; the first variable is header-aligned after it.
  const start = align4(headerLength + 28);
  return { start, end: Math.min(bytes.length, headerLength + size), authenticated };
}

const align4 = (n: number): number => (n + 3) & ~3;

/** One variable header at `at`, or undefined where no valid header is (the firmware's walk ends there). */
function variableAt(r: ByteReader, at: number, end: number, authenticated: boolean): { v: Omit<EfiVariable, 'afterDamage'>; next: number } | undefined {
  // AUTHENTICATED_VARIABLE_HEADER (60 bytes, packed) adds MonotonicCount, TimeStamp and
  // PubKeyIndex to VARIABLE_HEADER (32 bytes); both end NameSize, DataSize, VendorGuid.
  const hdr = authenticated ? 60 : 32;
  if (at + hdr > end || r.u16At(at) !== VARIABLE_DATA) return undefined;
  const sizes = at + hdr - 24;
  const nameSize = r.u32At(sizes);
  const dataSize = r.u32At(sizes + 4);
  const nameAt = at + hdr;
  if (nameSize > end - nameAt || dataSize > end - nameAt - nameSize) return undefined;
  const name = ucs2(r.bytesAt(nameAt, nameSize));
  const v = {
    offset: at,
    state: r.u8At(at + 2),
    attributes: r.u32At(at + 4),
    name,
    vendor: guidAt(r, sizes + 8),
    data: r.bytesAt(nameAt + nameSize, dataSize),
  };
  return { v, next: align4(nameAt + nameSize + dataSize) };
}

/** A UCS-2 name up to its terminating NUL. */
function ucs2(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) {
    const c = (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * Every variable header in the store, in store order. Where a header is damaged the firmware
 * stops; we go on from the next 4-byte boundary that starts a valid header (with a warning),
 * so that the records behind the damage are not lost.
 */
export function readVariableStore(bytes: Uint8Array, warnings: Warning[]): VariableStore {
  const { start, end, authenticated } = storeBounds(bytes);
  const r = new ByteReader(bytes, 'OVMF variable store', true);
  const variables: EfiVariable[] = [];
  let at = start;
  let damaged = false;
  while (at < end) {
    const got = variableAt(r, at, end, authenticated);
    if (got) {
      variables.push({ ...got.v, afterDamage: damaged });
      at = got.next;
      continue;
    }
    if (r.u16At(at) === 0xffff && isErased(bytes, at, end)) break;
    const resume = resync(r, at + 4, end, authenticated);
    warnings.push({
      code: 'efi-bad-variable',
      address: at,
      message: `no valid variable header at ${hex(at)}: the firmware's walk ends here; ${resume === undefined ? 'no later header found' : `resumed at ${hex(resume)}`}`,
    });
    if (resume === undefined) break;
    damaged = true;
    at = resume;
  }
  return { start, end, authenticated, variables };
}

/** Nothing but erased flash (0xff) up to the end: the normal end of the variables. */
function isErased(bytes: Uint8Array, at: number, end: number): boolean {
  for (let i = at; i < end; i++) if (bytes[i] !== 0xff) return false;
  return true;
}

function resync(r: ByteReader, from: number, end: number, authenticated: boolean): number | undefined {
  for (let at = align4(from); at < end; at += 4) if (variableAt(r, at, end, authenticated)) return at;
  return undefined;
}

/**
 * The variables GetNextVariableName() hands the OS, in store order: State VAR_ADDED, or a copy
 * caught in the middle of an update (VAR_IN_DELETED_TRANSITION) when no VAR_ADDED copy of the
 * same name and vendor exists; only those with runtime access.
 */
export function liveVariables(store: VariableStore): EfiVariable[] {
  const key = (v: EfiVariable): string => `${v.vendor}/${v.name}`;
  const added = new Set(store.variables.filter((v) => v.state === VAR_ADDED).map(key));
  return store.variables.filter(
    (v) =>
      (v.attributes & EFI_VARIABLE_RUNTIME_ACCESS) !== 0 &&
      (v.state === VAR_ADDED || (v.state === (VAR_ADDED & VAR_IN_DELETED_TRANSITION) && !added.has(key(v)))),
  );
}
