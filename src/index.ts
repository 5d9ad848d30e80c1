// Public API of the pure core: bytes and a configuration in, values out.
export * from './errors.js';
export { ByteReader } from './bytes/reader.js';
export type { RamoopsConfig, ConfigSource } from './config/types.js';
export { MODULE_DEFAULTS } from './config/types.js';
export { ARM32_ABI, DEFAULT_ABI, cpuAbi, describeAbi, type CpuAbi, type CpuInIp } from './config/abi.js';
export { buildConfig, mergeSettings, type ConfigSettings, type BuiltConfig } from './config/build.js';
export { settingsFromCmdline, splitCmdline, type CmdlineParse } from './config/from-cmdline.js';
export { settingsFromJson } from './config/from-json.js';
export { parseSize, parseKernelInt, roundDownPow2, isPow2 } from './config/numbers.js';
export { parseKernelVersion, describeVersion, type KernelVersion } from './kernel/version.js';
export { computeLayout, type Layout, type LayoutRules, type Zone, type ZoneKind } from './layout/layout.js';
export { zoneGeometry, PERSISTENT_RAM_SIG, type ZoneGeometry } from './zone/geometry.js';
export { readZone, eccNotice, type ZoneRead, type ZoneStatus, type EccCounts } from './zone/read.js';
export { rsCodec, type RsCodec } from './zone/ecc/rs.js';
export { parseDmesgHeader, type DmesgHeader } from './records/dmesg/header.js';
export { decompress, type Algorithm } from './records/decompress/index.js';
export { parseSystemMap, parseKallsyms, symbolAddress, lookup, type SymbolTable } from './records/ftrace/symbols.js';
export { findKernelOffset, parseKaslrOffset, type KernelOffsetLine } from './records/ftrace/kaslr.js';
export { rawMemory, type PhysicalMemory, type ByteSource, type PhysRange } from './dump/memory.js';
export { openDump, detectFormat, type DumpFormat, type OpenDumpOptions } from './dump/detect.js';
export { openElf, elfNotes, elfVmcoreinfo, parseElfHeaders, parseNotes, isElf, type ElfMemory, type ElfInfo, type ElfLoad, type ElfNote } from './dump/elf.js';
export { openKdump, parseKdumpHeader, isKdump, KDUMP_SIGNATURE, type KdumpMemory, type KdumpHeader } from './dump/kdump.js';
export { unflatten, isFlattened, type FlattenedSource } from './dump/flattened.js';
export { qemuRamMemory, ramRanges, lowMemorySize, ramFileOffset, LEGACY_HOLE, VIRT_RAM_BASE, type QemuMachine, type RamRange } from './dump/qemu-ram.js';
// The public name of the one LZO1X decoder (records and kdump pages share it).
export { lzoDecompressBlock as lzo1xDecompress } from './records/decompress/lzo.js';
export { snappyDecompress } from './dump/codecs/snappy.js';
export { junitDocument, xmlEscape, type JunitCase, type JunitDocument, type JunitProblem, type JunitStyle, type JunitSuite } from './report/junit.js';
export { extract, type Extraction, type PstoreFile, type ZoneReport, type ExtractOptions, type KaslrOffset } from './extract/index.js';

import { buildConfig } from './config/build.js';
import { settingsFromCmdline } from './config/from-cmdline.js';
import type { RamoopsConfig } from './config/types.js';
import { rawMemory } from './dump/memory.js';
import { extract, type Extraction, type ExtractOptions } from './extract/index.js';

/** Configuration from a kernel command line's ramoops.* and pstore.* words (the harness's common case). */
export function configFromCmdline(cmdline: string, kernelVersion?: string): RamoopsConfig {
  const { settings } = settingsFromCmdline(cmdline);
  return buildConfig({ ...settings, ...(kernelVersion ? { kernelVersion } : {}) }).config;
}

/** Extract from the bytes of the region itself (byte 0 = mem_address). */
export function extractRegion(region: Uint8Array, config: RamoopsConfig, options?: ExtractOptions): Extraction {
  return extract(rawMemory(region, config.memAddress, 'region image'), config, options);
}
export { extractBackend, detectBackend, DETECT_BYTES, type Backend, type BackendExtraction, type BackendFile, type BackendOptions } from './backends/index.js';
