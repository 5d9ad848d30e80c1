// The one context the extraction steps share, grown step by step: what was asked (memory,
// config, options), then the layout, the zone reads, the reader's rules, and the files so far.
// warnings and decisions are appended in step order: their order is part of the output.
import { isRamoopsError, type Warning } from '../errors.js';
import type { RamoopsConfig } from '../config/types.js';
import type { Layout, Zone } from '../layout/layout.js';
import type { Decompressor, KernelVersion } from '../kernel/version.js';
import type { PhysicalMemory } from '../dump/memory.js';
import { PERSISTENT_RAM_SIG } from '../zone/geometry.js';
import type { ZoneRead } from '../zone/read.js';
import { concatBytes } from '../bytes/concat.js';
import type { ExtractOptions, PstoreFile, ZoneReport } from './types.js';

export type RsMode = 'v5.3+' | 'legacy';

/** What was asked, and the kernel rules known before reading anything. */
export interface Run {
  readonly mem: PhysicalMemory;
  readonly config: RamoopsConfig;
  readonly options: ExtractOptions;
  readonly v: KernelVersion | undefined;
  readonly rsMode: RsMode;
  readonly exactCode: number | undefined;
  readonly warnings: Warning[];
  readonly decisions: string[];
}

export interface Located extends Run {
  readonly layout: Layout;
}

export interface ZonesRead extends Located {
  readonly reads: ReadonlyMap<Zone, ZoneRead | undefined>;
  readonly reports: readonly ZoneReport[];
  /** Writer version code found in ftrace zone signatures, if any. */
  readonly ftraceCode: number | undefined;
}

/** How the reading kernel treats records (from the version, else the ftrace signature). */
export interface ReaderRules {
  /** The reading kernel's version: the given one, else the ftrace writer's. */
  readonly rv: KernelVersion | undefined;
  readonly usec1000: boolean;
  readonly prefix: boolean;
  readonly signedSecs: boolean;
  readonly reader: Decompressor | 'crypto' | 'zlib';
  readonly bufsize: number;
}

export interface Decoding extends ZonesRead, ReaderRules {
  readonly files: PstoreFile[];
  /** The kernel stopped reading the backend (a record it cannot go past). */
  stopped: boolean;
}

export function plausibleFtraceCode(sig: number, exact: number | undefined): boolean {
  const code = (sig ^ PERSISTENT_RAM_SIG) >>> 0;
  if (exact !== undefined) return code === exact;
  const major = code >>> 16;
  return major >= 3 && major <= 9;
}

export function tryRead(mem: PhysicalMemory, z: Zone): Uint8Array | undefined {
  try {
    return mem.read(z.address, z.geometry.size);
  } catch (e) {
    if (isRamoopsError(e)) return undefined;
    throw e;
  }
}

export function decideMaybe(value: boolean | 'unknown', assumed: boolean, what: string, decisions: string[]): boolean {
  if (value !== 'unknown') return value;
  decisions.push(`kernel sublevel unknown: assumed ${what}: ${assumed ? 'yes' : 'no'}`);
  return assumed;
}

/** a then b; a itself when b is empty (most records carry no ECC notice). */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  return b.length ? concatBytes([a, b]) : a;
}
