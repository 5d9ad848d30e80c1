// One entry point for every dump format: look at the first bytes, pick the reader.
import { ConfigError, DumpFormatError } from '../errors.js';
import { openElf } from './elf.js';
import { unflatten } from './flattened.js';
import { openKdump } from './kdump.js';
import { detectFormat } from './magic.js';
import type { ByteSource, PhysicalMemory } from './memory.js';
import { openRawDump } from './raw.js';
import { qemuRamMemory, type QemuMachine } from './qemu-ram.js';

/** The dump formats openDump knows; 'auto' (or leaving it out) detects by magic. */
export type DumpFormat = 'raw' | 'elf' | 'kdump' | 'qemu-ram';

/** How to read a dump whose format or placement the bytes cannot tell. */
export interface OpenDumpOptions {
  /** Physical address of a raw dump's first byte (default 0). */
  readonly base?: number;
  /** QEMU machine type of a qemu-ram file (default q35). */
  readonly machine?: QemuMachine;
  /** Guest RAM size of a qemu-ram file (default: the file's size). */
  readonly ramSize?: number;
  /** Force a format instead of detecting it. */
  readonly format?: DumpFormat | 'auto';
  /** Name for messages (a file name). */
  readonly name?: string;
}

export { detectFormat };

/**
 * Physical memory of a dump in any supported format. ELF and kdump (plain or flattened, as
 * QEMU 7.2 and makedumpfile -F write it) are recognised by their magic; anything else is raw
 * at `base` unless `format: 'qemu-ram'` asks for a QEMU RAM file's map.
 */
export function openDump(source: ByteSource, opts: OpenDumpOptions = {}): PhysicalMemory {
  const name = opts.name ?? 'dump';
  const format = opts.format ?? 'auto';
  if (opts.base !== undefined && (!Number.isSafeInteger(opts.base) || opts.base < 0)) {
    throw new ConfigError('base', `must be a non-negative integer, got ${opts.base}`);
  }
  if (format === 'raw') return openRawDump(source, opts);
  if (format === 'qemu-ram') return qemuRamMemory(source, opts.machine ?? 'q35', opts.ramSize ?? source.size, name);
  let inner = source;
  let kind = detectFormat(source.read(0, 16));
  let label = name;
  if (kind === 'flattened') {
    inner = unflatten(source);
    kind = detectFormat(inner.read(0, 16));
    label = `${name} (flattened)`;
    if (kind === 'raw' || kind === 'flattened') {
      throw new DumpFormatError('flattened', 0, 'the flattened stream holds neither a kdump nor an ELF vmcore');
    }
  }
  if (format === 'elf' && kind !== 'elf') throw new DumpFormatError('ELF', 0, `${name} is not an ELF file (it looks ${kind})`);
  if (format === 'kdump' && kind !== 'kdump') throw new DumpFormatError('kdump', 0, `${name} is not a kdump file (it looks ${kind})`);
  switch (kind) {
    case 'elf':
      return openElf(inner, label);
    case 'kdump':
      return openKdump(inner, label);
    case 'raw':
      return openRawDump(source, opts);
    default:
      throw new DumpFormatError('dump', 0, `unexpected format ${String(kind)}`);
  }
}
