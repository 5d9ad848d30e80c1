// Number parsing for configuration values: what the kernel's parsers accept, and for our own
// flags decimal/0x-hex with K/M/G suffixes (memparse).
import { ConfigError } from '../errors.js';

const SUFFIX: Readonly<Record<string, number>> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** Decimal, 0x-hex or 0-octal with an optional K/M/G/T suffix (the kernel's memparse). */
export function parseSize(field: string, text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isSafeInteger(text) || text < 0) throw new ConfigError(field, `${text} is not a non-negative integer`);
    return text;
  }
  const m = /^\s*(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([kKmMgGtT]?)\s*$/.exec(text);
  if (!m) throw new ConfigError(field, `"${text}" is not a number (decimal or 0x-hex, optional K/M/G suffix)`);
  const digits = m[1] ?? '';
  let v: number;
  if (/^0[xX]/.test(digits)) v = parseInt(digits.slice(2), 16);
  else if (digits.length > 1 && digits.startsWith('0')) v = parseInt(digits, 8);
  else v = parseInt(digits, 10);
  const mult = SUFFIX[(m[2] ?? '').toLowerCase()] ?? 1;
  const r = v * mult;
  if (!Number.isSafeInteger(r)) throw new ConfigError(field, `"${text}" is too large`);
  return r;
}

/**
 * What the kernel's kstrtoul/kstrtoint (base 0) accept for a module parameter: no suffix.
 * Returns undefined where the kernel would reject the value (it then keeps the default).
 */
export function parseKernelInt(text: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\n?$/.exec(text);
  if (!m) return undefined;
  const d = m[2] ?? '';
  let v: number;
  if (/^0[xX]/.test(d)) v = parseInt(d.slice(2), 16);
  else if (d.length > 1 && d.startsWith('0')) v = parseInt(d, 8);
  else v = parseInt(d, 10);
  return m[1] === '-' ? -v : v;
}

/** Round down to a power of two as the kernel's rounddown_pow_of_two (0 stays 0). */
export function roundDownPow2(n: number): number {
  if (n <= 0) return 0;
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

export function isPow2(n: number): boolean {
  return n > 0 && roundDownPow2(n) === n;
}
