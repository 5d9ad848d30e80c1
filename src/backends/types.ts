// What reading a pstore backend's storage file gives: the files the reading kernel shows in
// /sys/fs/pstore, where each came from, and what was skipped or doubted on the way.
import type { Warning } from '../errors.js';
import type { Algorithm } from '../records/decompress/index.js';
import type { KernelVersion } from '../kernel/version.js';

/** The storage files we read: QEMU's acpi-erst memory backend, an OVMF variable store (pflash). */
export type Backend = 'erst' | 'efi';

export interface BackendFile {
  /** e.g. dmesg-erst-7715799401691611137, dmesg-efi-179647473401001, dmesg-efi_pstore-….enc.z */
  readonly name: string;
  /** pstore type name (dmesg, mce, …; unknown beyond the kernel's table). */
  readonly type: string;
  /** The record id in the name: ERST record id, or efi-pstore's (time·100 + part)·1000 + count. */
  readonly id: bigint;
  /** The bytes a read of the file returns. */
  readonly bytes: Uint8Array;
  readonly size: number;
  /** The record time; undefined where the kernel uses the mount time (time 0). */
  readonly mtime: { readonly seconds: number; readonly nanoseconds: number } | undefined;
  /** File offset of the record (ERST slot, EFI variable header). */
  readonly offset: number;
  readonly compression: { readonly algorithm: Algorithm; readonly ok: boolean; readonly error?: string } | undefined;
  readonly notes: readonly string[];
}

export interface BackendExtraction {
  readonly backend: Backend;
  readonly files: readonly BackendFile[];
  readonly decisions: readonly string[];
  readonly warnings: readonly Warning[];
}

export interface BackendOptions {
  /** The reading kernel (naming, decompression bounds); current kernels' rules without it. */
  readonly kernel?: KernelVersion;
  /** pstore.compress of the writing kernel; deflate without it. */
  readonly compress?: string;
}
