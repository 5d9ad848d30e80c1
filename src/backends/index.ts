// Reading the storage of pstore's other backends (ERST through QEMU's acpi-erst device,
// efi-pstore through an OVMF variable store) into the files /sys/fs/pstore would show.
import { extractEfi } from './efi-pstore.js';
import { extractErst } from './erst.js';
import type { Backend, BackendExtraction, BackendOptions } from './types.js';

export { detectBackend, DETECT_BYTES } from './detect.js';
export { parseErstStore, type ErstStore } from './erst.js';
export { parseCperRecord, type CperRecord } from './cper.js';
export { readVariableStore, liveVariables, type EfiVariable, type VariableStore } from './efi-varstore.js';
export { parseDumpName, genericId } from './efi-pstore.js';
export type { Backend, BackendExtraction, BackendFile, BackendOptions } from './types.js';

/** The files the reading kernel shows for this backend's storage file. */
export function extractBackend(backend: Backend, bytes: Uint8Array, options: BackendOptions = {}): BackendExtraction {
  return backend === 'erst' ? extractErst(bytes, options) : extractEfi(bytes, options);
}
