// Which pstore backend store a file is, from its own first bytes (DETECT_BYTES of them).
import { ByteReader } from '../bytes/reader.js';
import { ERST_STORE_MAGIC } from './erst.js';
import { EFI_SYSTEM_NV_DATA_FV_GUID, guidAt } from './guid.js';
import type { Backend } from './types.js';

/** Enough for the firmware volume header and its file system GUID. */
export const DETECT_BYTES = 0x40;

/** 'erst' for QEMU's ERSTSTOR magic, 'efi' for a firmware volume of variables, else undefined. */
export function detectBackend(head: Uint8Array): Backend | undefined {
  if (head.length >= 8 && String.fromCharCode(...head.subarray(0, 8)) === ERST_STORE_MAGIC) return 'erst';
  if (head.length < DETECT_BYTES) return undefined;
  const r = new ByteReader(head, 'backend detection', true);
  if (String.fromCharCode(...r.bytesAt(0x28, 4)) === '_FVH' && guidAt(r, 0x10) === EFI_SYSTEM_NV_DATA_FV_GUID) return 'efi';
  return undefined;
}
