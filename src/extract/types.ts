// What extraction returns and takes: the files /sys/fs/pstore would show, per-zone reports,
// and the options that name ftrace records.
import type { Warning } from '../errors.js';
import type { Layout, ZoneKind } from '../layout/layout.js';
import type { EccCounts, ZoneStatus } from '../zone/read.js';
import type { Algorithm } from '../records/decompress/index.js';
import type { SymbolTable } from '../records/ftrace/symbols.js';

export interface ZoneReport {
  readonly kind: ZoneKind;
  readonly index: number;
  readonly address: number;
  readonly size: number;
  readonly capacity: number;
  readonly eccBytes: number;
  readonly status: ZoneStatus | 'not-captured';
  readonly detail: string;
  readonly ecc: EccCounts | undefined;
}

export interface PstoreFile {
  /** e.g. dmesg-ramoops-0, dmesg-ramoops-1.enc.z */
  readonly name: string;
  readonly type: ZoneKind;
  readonly id: number;
  /** The bytes a read of the file returns. */
  readonly bytes: Uint8Array;
  /** What stat reports (differs from bytes.length only for ftrace: the binary length). */
  readonly size: number;
  /** dmesg: the record time; undefined where the kernel uses the mount time. */
  readonly mtime: { readonly seconds: number; readonly nanoseconds: number } | undefined;
  readonly zones: readonly { readonly index: number; readonly address: number }[];
  readonly ecc: EccCounts | undefined;
  /** dmesg: how the payload was stored and read. */
  readonly compression: { readonly algorithm: Algorithm; readonly ok: boolean; readonly error?: string } | undefined;
  readonly notes: readonly string[];
}

/** The crashed boot's KASLR offset, from the newest dmesg record's `Kernel Offset:` line (0n for "disabled"). */
export type KernelOffset = { readonly value: bigint; readonly file: string; readonly line: string } | undefined;

export interface Extraction {
  readonly files: readonly PstoreFile[];
  readonly zones: readonly ZoneReport[];
  readonly layout: Layout;
  /** How the layout was chosen, and assumptions made for an unknown sublevel. */
  readonly decisions: readonly string[];
  readonly warnings: readonly Warning[];
  /** Writer version code found in ftrace zone signatures, if any. */
  readonly ftraceVersionCode: number | undefined;
  /** The crashed boot's KASLR offset, from the newest dmesg record's `Kernel Offset:` line (0n for "disabled"). */
  readonly kernelOffset: KernelOffset;
  /** The shift applied to the symbol table's addresses to name ftrace records, and why; undefined without an ftrace file or symbols. */
  readonly symbolShift: KaslrOffset | undefined;
}

/** A KASLR offset and where it came from (for the decisions). */
export interface KaslrOffset {
  readonly value: bigint;
  /** e.g. "--kaslr-offset", "the reading kernel's /proc/kallsyms _text". */
  readonly source: string;
}

export interface ExtractOptions {
  /** System.map (link-time addresses) or a kallsyms copy (a running boot's addresses). */
  readonly symbols?: SymbolTable;
  /**
   * Name ftrace records as a kernel with this KASLR offset would: the offset added to the
   * System.map's addresses. Wins over the default, which is 0 for a kallsyms table and, for a
   * System.map, the crashed boot's offset from the dump's `Kernel Offset:` line. To reproduce
   * a guest's own /sys/fs/pstore/ftrace-* give the READING boot's offset: that file is printed
   * by the next boot's %ps, with its own offset.
   */
  readonly kaslrOffset?: KaslrOffset;
}
