// Typed errors for the pure core. Every error names what was wrong and where
// (physical address, zone, offset) so a user can act on it without a stack trace.

export type RamoopsErrorKind =
  | 'Truncated'
  | 'BadSignature'
  | 'BadHeader'
  | 'EccUncorrectable'
  | 'Decompress'
  | 'OutputLimit'
  | 'Config'
  | 'AddressNotCaptured'
  | 'Layout'
  | 'DumpFormat'
  | 'KernelImage'
  | 'BackendFormat';

export function hex(n: number | bigint): string {
  return '0x' + n.toString(16);
}

export abstract class RamoopsError extends Error {
  abstract readonly kind: RamoopsErrorKind;
}

export class TruncatedError extends RamoopsError {
  readonly kind = 'Truncated' as const;
  constructor(
    readonly what: string,
    readonly offset: number,
    readonly need: number,
    readonly have: number,
  ) {
    super(`${what}: need ${need} bytes at offset ${hex(offset)}, only ${have} available`);
    this.name = 'TruncatedError';
  }
}

export class ConfigError extends RamoopsError {
  readonly kind = 'Config' as const;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** The kernel's probe would refuse this layout; message is the kernel's own where it has one. */
export class LayoutError extends RamoopsError {
  readonly kind = 'Layout' as const;
  constructor(message: string) {
    super(message);
    this.name = 'LayoutError';
  }
}

export class AddressNotCapturedError extends RamoopsError {
  readonly kind = 'AddressNotCaptured' as const;
  constructor(
    readonly address: number,
    readonly length: number,
    readonly detail: string,
  ) {
    super(`physical range ${hex(address)}..${hex(address + length)} is not in the dump: ${detail}`);
    this.name = 'AddressNotCapturedError';
  }
}

/** A dump file (ELF, kdump, flattened) whose headers or tables are malformed; names the format and file offset. */
export class DumpFormatError extends RamoopsError {
  readonly kind = 'DumpFormat' as const;
  constructor(
    readonly format: string,
    readonly offset: number,
    message: string,
  ) {
    super(`${format}: ${message} (at file offset ${hex(offset)})`);
    this.name = 'DumpFormatError';
  }
}

export class DecompressError extends RamoopsError {
  readonly kind = 'Decompress' as const;
  constructor(
    readonly algorithm: string,
    message: string,
  ) {
    super(`${algorithm}: ${message}`);
    this.name = 'DecompressError';
  }
}

export class OutputLimitError extends RamoopsError {
  readonly kind = 'OutputLimit' as const;
  constructor(
    readonly algorithm: string,
    readonly limit: number,
  ) {
    super(`${algorithm}: output exceeds the limit of ${limit} bytes`);
    this.name = 'OutputLimitError';
  }
}

/** A kernel image (bzImage, vmlinux) that is not what its boot header or ELF says it must be. */
export class KernelImageError extends RamoopsError {
  readonly kind = 'KernelImage' as const;
  constructor(
    readonly what: string,
    message: string,
  ) {
    super(`${what}: ${message}`);
    this.name = 'KernelImageError';
  }
}

/** A pstore backend's storage file (QEMU acpi-erst store, OVMF variable store) that breaks its own format; names the format and file offset. */
export class BackendFormatError extends RamoopsError {
  readonly kind = 'BackendFormat' as const;
  constructor(
    readonly format: string,
    readonly offset: number,
    message: string,
  ) {
    super(`${format}: ${message} (at file offset ${hex(offset)})`);
    this.name = 'BackendFormatError';
  }
}

export function isRamoopsError(e: unknown): e is RamoopsError {
  return e instanceof RamoopsError;
}

/** Something the parser skipped or doubted; parsing goes on. */
export interface Warning {
  readonly code: string;
  readonly message: string;
  readonly zone?: string;
  readonly address?: number;
}
