// Settings from a JSON object: our camelCase names or the kernel's parameter names.
import { ConfigError } from '../errors.js';
import { cpuAbi } from './abi.js';
import type { ConfigSettings } from './build.js';
import { parseSize } from './numbers.js';

const NAMES: Readonly<Record<string, keyof ConfigSettings>> = {
  memAddress: 'memAddress',
  mem_address: 'memAddress',
  memSize: 'memSize',
  mem_size: 'memSize',
  recordSize: 'recordSize',
  record_size: 'recordSize',
  consoleSize: 'consoleSize',
  console_size: 'consoleSize',
  ftraceSize: 'ftraceSize',
  ftrace_size: 'ftraceSize',
  pmsgSize: 'pmsgSize',
  pmsg_size: 'pmsgSize',
  ecc: 'ecc',
  eccSize: 'ecc',
  memType: 'memType',
  mem_type: 'memType',
  maxReason: 'maxReason',
  max_reason: 'maxReason',
  dumpOops: 'dumpOops',
  dump_oops: 'dumpOops',
  cpus: 'cpus',
};

/** The writing CPU's ABI (see abi.ts): word size in bits, byte order, PSTORE_CPU_IN_IP mask; default 64, "le", 0. */
const ABI_NAMES: Readonly<Record<string, 'wordBits' | 'byteOrder' | 'cpuInIp'>> = {
  wordBits: 'wordBits',
  word_bits: 'wordBits',
  byteOrder: 'byteOrder',
  byte_order: 'byteOrder',
  cpuInIp: 'cpuInIp',
  cpu_in_ip: 'cpuInIp',
};

/** Parse a JSON configuration text; numbers may be JSON numbers or strings like "0x8000000" or "1M". */
export function settingsFromJson(text: string, what = 'config JSON'): ConfigSettings {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(what, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ConfigError(what, 'expected a JSON object');
  const s: ConfigSettings = {};
  const abi: { wordBits?: number; byteOrder?: string; cpuInIp?: number } = {};
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    const field = NAMES[k];
    const abiField = ABI_NAMES[k];
    if (abiField) {
      if (abiField === 'byteOrder' ? typeof v !== 'string' : typeof v !== 'number') {
        throw new ConfigError(`${what}: ${k}`, `expected ${abiField === 'byteOrder' ? '"le" or "be"' : 'a number'}, got ${JSON.stringify(v)}`);
      }
      (abi as Record<string, unknown>)[abiField] = v;
    } else if (field) {
      if (typeof v !== 'number' && typeof v !== 'string') throw new ConfigError(`${what}: ${k}`, `expected a number, got ${JSON.stringify(v)}`);
      const n = k === 'dumpOops' || k === 'dump_oops' || k === 'maxReason' || k === 'max_reason' ? Number(v) : parseSize(`${what}: ${k}`, v);
      if (!Number.isInteger(n)) throw new ConfigError(`${what}: ${k}`, `expected an integer, got ${JSON.stringify(v)}`);
      (s as Record<string, unknown>)[field] = n;
    } else if (k === 'kernelVersion' || k === 'kernel_version') {
      if (typeof v !== 'string') throw new ConfigError(`${what}: ${k}`, 'expected a string such as "6.1.0-56-amd64"');
      s.kernelVersion = v;
    } else if (k === 'compress') {
      if (typeof v !== 'string') throw new ConfigError(`${what}: ${k}`, 'expected a string');
      s.compress = v;
    } else if (k === 'ftracePerCpu') {
      if (typeof v !== 'boolean') throw new ConfigError(`${what}: ${k}`, 'expected true or false');
      s.ftracePerCpu = v;
    } else {
      throw new ConfigError(`${what}: ${k}`, 'unknown setting');
    }
  }
  if (Object.keys(abi).length > 0) s.abi = cpuAbi(abi.wordBits ?? 64, abi.byteOrder ?? 'le', abi.cpuInIp ?? 0);
  return s;
}
