// The dmesg record header `====<sec>.<usec>-<C|D>\n`, read with the kernel's sscanf rules
// (docs/format.md §6): whitespace in the format skips any run of kernel whitespace, numbers
// skip leading whitespace and wrap on overflow, %c takes any non-NUL byte.

/** Kernel isspace(): 0x09..0x0D, 0x20 and 0xA0 (lib/ctype.c). */
export function isKernelSpace(b: number): boolean {
  return (b >= 0x09 && b <= 0x0d) || b === 0x20 || b === 0xa0;
}

export interface DmesgHeader {
  /** Bytes consumed (the kernel's header_length); the payload starts here. */
  readonly length: number;
  readonly seconds: bigint;
  /** The number after the dot as written (microseconds in every writer since 4.9). */
  readonly fraction: bigint;
  readonly compressed: boolean;
  /** The flag byte, when pattern A matched. */
  readonly flag: number | undefined;
}

type Tok = { t: 'lit'; c: number } | { t: 'ws' } | { t: 'int'; signed: boolean } | { t: 'uint' } | { t: 'char' } | { t: 'n' };

const U64 = 1n << 64n;

function scan(buf: Uint8Array, fmt: readonly Tok[]): { values: (bigint | number)[]; n: number | undefined } {
  let i = 0;
  const values: (bigint | number)[] = [];
  let n: number | undefined;
  const at = (k: number): number => (k < buf.length ? (buf[k] ?? 0) : 0);
  for (const tok of fmt) {
    if (tok.t === 'ws') {
      while (at(i) !== 0 && isKernelSpace(at(i))) i++;
      continue;
    }
    if (tok.t === 'lit') {
      if (at(i) !== tok.c) break;
      i++;
      continue;
    }
    if (tok.t === 'n') {
      n = i;
      continue;
    }
    if (at(i) === 0) break;
    if (tok.t === 'char') {
      values.push(at(i));
      i++;
      continue;
    }
    while (at(i) !== 0 && isKernelSpace(at(i))) i++;
    let neg = false;
    let j = i;
    if (tok.t === 'int' && tok.signed && at(j) === 0x2d) {
      neg = true;
      j++;
    }
    if (!(at(j) >= 0x30 && at(j) <= 0x39)) break;
    let v = 0n;
    while (at(j) >= 0x30 && at(j) <= 0x39) {
      v = (v * 10n + BigInt(at(j) - 0x30)) % U64;
      j++;
    }
    if (neg) v = (U64 - v) % U64;
    // Signed values are two's complement 64-bit.
    if (tok.t === 'int' && tok.signed && v >= 1n << 63n) v -= U64;
    values.push(v);
    i = j;
  }
  return { values, n };
}

const lit = (s: string): Tok[] => [...s].map((ch) => ({ t: 'lit', c: ch.charCodeAt(0) }));

/**
 * Parse the header at the start of a dmesg zone's old log; undefined when neither pattern
 * matches (the kernel then drops the record and resets the zone).
 * `signedSeconds`: 4.18+ `%lld` (else `%lu`).
 */
export function parseDmesgHeader(log: Uint8Array, signedSeconds: boolean): DmesgHeader | undefined {
  const sec: Tok = signedSeconds ? { t: 'int', signed: true } : { t: 'uint' };
  const a = scan(log, [...lit('===='), sec, ...lit('.'), { t: 'uint' }, ...lit('-'), { t: 'char' }, { t: 'ws' }, { t: 'n' }]);
  if (a.values.length === 3 && a.n !== undefined) {
    const flag = a.values[2] as number;
    return { length: a.n, seconds: a.values[0] as bigint, fraction: a.values[1] as bigint, compressed: flag === 0x43, flag };
  }
  const b = scan(log, [...lit('===='), sec, ...lit('.'), { t: 'uint' }, { t: 'ws' }, { t: 'n' }]);
  if (b.values.length === 2 && b.n !== undefined) {
    return { length: b.n, seconds: b.values[0] as bigint, fraction: b.values[1] as bigint, compressed: false, flag: undefined };
  }
  return undefined;
}
