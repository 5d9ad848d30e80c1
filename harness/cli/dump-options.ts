// Dump-reading flags shared by extract and scan: every command accepts every dump format.
import type { Argv } from 'yargs';
import { ConfigError, detectFormat, openDump, parseSize, type DumpFormat, type OpenDumpOptions, type PhysicalMemory, type QemuMachine } from '../../src/index.js';
import { openFileSource } from '../io/file-source.js';

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
    .option('machine', { choices: ['q35', 'pc', 'virt'] as const, describe: 'qemu-ram: the QEMU machine type (default q35), which decides the RAM map above 4 GiB; virt (arm64) has RAM from 0x40000000' })
    .option('ram-size', { type: 'string', describe: 'qemu-ram: the guest RAM size (-m), e.g. 4608M (default: the file size)' }) as unknown as Argv<T & DumpArgs>;
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

/** Open the dump named by the flags; call close() when done. */
export function openDumpFromArgs(a: DumpArgs): { memory: PhysicalMemory; kind: 'elf' | 'kdump' | 'flattened' | 'raw' | 'qemu-ram'; close(): void } {
  const source = openFileSource(a.dump);
  try {
    const options = dumpOptions(a);
    // What the file is, judged by its own first bytes (not by physical address 0 of the memory).
    const kind = a.format === 'auto' ? detectFormat(source.read(0, Math.min(16, source.size))) : a.format === 'elf' || a.format === 'kdump' || a.format === 'qemu-ram' ? a.format : 'raw';
    return { memory: openDump(source, options), kind, close: () => source.close() };
  } catch (e) {
    source.close();
    throw e;
  }
}
