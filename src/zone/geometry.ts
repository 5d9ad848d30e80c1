// The shape of one persistent RAM zone (fs/pstore/ram_core.c, struct persistent_ram_buffer):
// a 12-byte header {sig, start, size}, data of capacity C, then with ECC the data parity
// (E bytes per 128-byte block) and the header parity in the last E bytes.
import { LayoutError } from '../errors.js';

export const HEADER_SIZE = 12;
export const ECC_BLOCK_SIZE = 128;
/** PERSISTENT_RAM_SIG: the bytes "DBGC" in little-endian memory. */
export const PERSISTENT_RAM_SIG = 0x43474244;

export interface ZoneGeometry {
  /** Whole zone size S. */
  readonly size: number;
  /** Data capacity C (the kernel's buffer_size). */
  readonly capacity: number;
  /** Parity bytes per block, 0 = no ECC. */
  readonly eccSize: number;
  readonly eccBlocks: number;
  /** Offset of block 0's parity within the zone (12 + C). */
  readonly parityOffset: number;
  /** Offset of the header parity within the zone (S - E). */
  readonly headerParityOffset: number;
}

/** Compute C and the parity placement as persistent_ram_init_ecc does; throws where the kernel fails probe. */
export function zoneGeometry(size: number, eccSize: number, label: string | (() => string) = 'zone'): ZoneGeometry {
  const name = (): string => (typeof label === 'string' ? label : label());
  const raw = size - HEADER_SIZE;
  if (raw <= 0) throw new LayoutError(`${name()}: zone of ${size} bytes has no room for its 12-byte header`);
  if (eccSize === 0) {
    return { size, capacity: raw, eccSize: 0, eccBlocks: 0, parityOffset: size, headerParityOffset: size };
  }
  const blocks = Math.ceil((raw - eccSize) / (ECC_BLOCK_SIZE + eccSize));
  const total = (blocks + 1) * eccSize;
  if (total >= raw) {
    throw new LayoutError(`${name()}: invalid ecc_size ${eccSize} (total ${total}, buffer size ${raw})`);
  }
  const capacity = raw - total;
  return {
    size,
    capacity,
    eccSize,
    eccBlocks: blocks,
    parityOffset: HEADER_SIZE + capacity,
    headerParityOffset: HEADER_SIZE + capacity + blocks * eccSize,
  };
}
