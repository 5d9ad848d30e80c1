// Number formatting shared by the rules' messages.
import { hex } from '../errors.js';

/** `0x4000 (16 KiB)`: the exact value for configuration files and a size for people. */
export function sizeText(n: number): string {
  return `${hex(n)} (${human(n)})`;
}

/** 16 KiB, 1 MiB, 1.5 GiB, 300 bytes. */
export function human(n: number): string {
  const units: readonly [number, string][] = [
    [2 ** 30, 'GiB'],
    [2 ** 20, 'MiB'],
    [2 ** 10, 'KiB'],
  ];
  for (const [u, name] of units) {
    if (n >= u) {
      const v = n / u;
      return `${Number.isInteger(v) ? v : v.toFixed(1)} ${name}`;
    }
  }
  return `${n} bytes`;
}

/** `0x8000000..0x8100000`. */
export function rangeText(start: number, size: number): string {
  return `${hex(start)}..${hex(start + size)}`;
}
