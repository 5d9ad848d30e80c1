// The writing CPU's data layout. pstore's structures are native: struct persistent_ram_buffer
// (fs/pstore/ram_core.c: u32 sig, atomic_t start, atomic_t size) is in the CPU's byte order, and
// struct pstore_ftrace_record (include/linux/pstore.h: unsigned long ip, unsigned long
// parent_ip, u64 ts) also follows its word size. Text records and ECC parity are bytes.
import { ConfigError } from '../errors.js';

/** PSTORE_CPU_IN_IP (include/linux/pstore.h): 0x1 for ARM with THUMB and NR_CPUS <= 2, 0x3 for ARM with NR_CPUS <= 4, else none (0). */
export type CpuInIp = 0 | 1 | 3;

export interface CpuAbi {
  /** sizeof(unsigned long): 8 on 64-bit kernels, 4 on 32-bit ones. */
  readonly wordBytes: 4 | 8;
  readonly littleEndian: boolean;
  /**
   * The mask of ip's low bits that carry the CPU number (PSTORE_CPU_IN_IP); 0 when the CPU
   * rides in the timestamp's low 8 bits instead. Only 32-bit ARM kernels with few CPUs set it.
   */
  readonly cpuInIp: CpuInIp;
}

/** 64-bit little-endian, CPU in the timestamp: x86_64 and arm64, what the parser always assumed. */
export const DEFAULT_ABI: CpuAbi = { wordBytes: 8, littleEndian: true, cpuInIp: 0 };

/** 32-bit ARM (armhf) with NR_CPUS > 4, as Debian's armmp kernels (NR_CPUS=8). */
export const ARM32_ABI: CpuAbi = { wordBytes: 4, littleEndian: true, cpuInIp: 0 };

/**
 * The ABI from its parts as a user gives them: word size in bits or bytes' worth (32/64),
 * byte order ('le'/'be'), and the CPU-in-ip mask (ARM kernels only; 32-bit only).
 */
export function cpuAbi(wordBits: number, byteOrder: string, cpuInIp = 0): CpuAbi {
  if (wordBits !== 32 && wordBits !== 64) throw new ConfigError('word_bits', `${wordBits} is not a kernel word size in bits (32 or 64)`);
  if (byteOrder !== 'le' && byteOrder !== 'be') throw new ConfigError('byte_order', `${JSON.stringify(byteOrder)} is not a byte order ('le' or 'be')`);
  if (cpuInIp !== 0 && cpuInIp !== 1 && cpuInIp !== 3) {
    throw new ConfigError('cpu_in_ip', `${cpuInIp} is not a PSTORE_CPU_IN_IP mask (0, 1 or 3)`);
  }
  if (cpuInIp !== 0 && wordBits !== 32)
    throw new ConfigError('cpu_in_ip', 'only 32-bit ARM kernels keep the CPU in ip (PSTORE_CPU_IN_IP); give 0 with 64-bit words');
  return { wordBytes: wordBits === 32 ? 4 : 8, littleEndian: byteOrder === 'le', cpuInIp };
}

/** "64-bit little-endian", for decisions and reports. */
export function describeAbi(abi: CpuAbi): string {
  return `${abi.wordBytes * 8}-bit ${abi.littleEndian ? 'little' : 'big'}-endian${abi.cpuInIp ? `, CPU in ip (mask ${abi.cpuInIp})` : ''}`;
}
