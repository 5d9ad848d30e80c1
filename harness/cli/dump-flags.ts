// The dump-reading flags shared by extract and scan (every command accepts every dump format)
// and the reader options they ask for. Only the raw reader is loaded here: scan decides from
// these and the first bytes whether to start its search at once, and needs no other reader for
// a raw file (dump-options.ts opens every format).
import type { Argv } from 'yargs';
import { ConfigError } from '../../src/errors.js';
import { parseSize } from '../../src/config/numbers.js';
import type { DumpFormat, OpenDumpOptions } from '../../src/dump/detect.js';
import { detectFormat } from '../../src/dump/magic.js';
import type { PhysicalMemory } from '../../src/dump/memory.js';
import { openRawDump } from '../../src/dump/raw.js';
import { openFileSource } from '../io/file-source.js';
import type { QemuMachine } from '../../src/dump/qemu-ram.js';

export interface DumpArgs {
  dump: string;
  format: DumpFormat | 'auto';
  base: string;
  machine?: QemuMachine;
  'ram-size'?: string;
}

/** Add the dump positional and the format flags. */
export function withDumpOptions<T>(y: Argv<T>): Argv<T & DumpArgs> {
  return y
    .positional('dump', { type: 'string', demandOption: true, describe: 'memory dump: raw, QEMU RAM file, ELF vmcore or kdump-compressed (flattened too)' })
    .option('format', {
      choices: ['auto', 'raw', 'elf', 'kdump', 'qemu-ram'] as const,
      default: 'auto' as const,
      describe: 'dump format; auto knows ELF and kdump (plain or flattened) by their magic, anything else is raw',
    })
    .option('base', { type: 'string', default: '0', describe: "raw dumps: physical address of the dump's first byte" })
    .option('machine', {
      choices: ['q35', 'pc', 'virt'] as const,
      describe: 'qemu-ram: the QEMU machine type (default q35), which decides the RAM map above 4 GiB; virt (arm64) has RAM from 0x40000000',
    })
    .option('ram-size', { type: 'string', describe: 'qemu-ram: the guest RAM size (-m), e.g. 4608M (default: the file size)' });
}

/** The reader options the flags ask for; machine and RAM size only make sense for qemu-ram. */
export function dumpOptions(a: DumpArgs): OpenDumpOptions {
  if (a.format !== 'qemu-ram' && (a.machine !== undefined || a['ram-size'] !== undefined)) {
    throw new ConfigError('--machine/--ram-size', `only apply to --format qemu-ram (got --format ${a.format})`);
  }
  return {
    name: a.dump,
    format: a.format,
    base: parseSize('--base', a.base),
    ...(a.machine !== undefined ? { machine: a.machine } : {}),
    ...(a['ram-size'] !== undefined ? { ramSize: parseSize('--ram-size', a['ram-size']) } : {}),
  };
}

/** The reader the dump gets: what the flags say, or with --format auto what its first (up to 16) bytes say. */
export function dumpKind(a: DumpArgs, head: () => Uint8Array): 'elf' | 'kdump' | 'flattened' | 'raw' | 'qemu-ram' {
  // Judged by the file's own first bytes, not by physical address 0 of the memory.
  return a.format === 'auto' ? detectFormat(head()) : a.format === 'elf' || a.format === 'kdump' || a.format === 'qemu-ram' ? a.format : 'raw';
}

/** An opened dump: its memory, the reader used, and close() for the file. */
export interface OpenedDump {
  readonly memory: PhysicalMemory;
  readonly kind: 'elf' | 'kdump' | 'flattened' | 'raw' | 'qemu-ram';
  close(): void;
}

/** Open a dump that dumpKind says is raw: what openDumpFromArgs gives for it, without the other readers. */
export function openRawFromArgs(a: DumpArgs): OpenedDump {
  const source = openFileSource(a.dump);
  try {
    return { memory: openRawDump(source, dumpOptions(a)), kind: 'raw', close: () => source.close() };
  } catch (e) {
    source.close();
    throw e;
  }
}
