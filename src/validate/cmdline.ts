// What a kernel command line says about the memory around a ramoops region: memmap=
// reservations (x86, arch/x86/kernel/e820.c parse_memmap_one), mem= limits, and the console
// log level (how much reaches the console zone).
import { hex } from '../errors.js';
import { splitCmdline } from '../config/from-cmdline.js';

/** One memmap= entry: `$` reserved, `!` persistent (pmem), `#` ACPI data, `@` usable RAM, `%` type change, or a limit. */
export interface MemmapEntry {
  readonly kind: '$' | '!' | '#' | '@' | '%' | 'limit';
  readonly size: number;
  readonly address: number | undefined;
  /** The entry as written. */
  readonly text: string;
}

/** The command-line facts validation uses. */
export interface CmdlineFacts {
  readonly memmap: readonly MemmapEntry[];
  /** `mem=`: the kernel uses no RAM at or above this address. */
  readonly memLimit: number | undefined;
  /** `loglevel=`; undefined when not given. */
  readonly loglevel: number | undefined;
  readonly quiet: boolean;
  readonly ignoreLoglevel: boolean;
  /** Words the kernel would reject (e.g. a memmap= it cannot parse). */
  readonly unparsed: readonly string[];
}

/** The kernel's memparse: base-0 integer (0x hex, 0 octal) with an optional K/M/G/T/P/E suffix; returns value and rest. */
export function memparse(text: string): { value: number; rest: string } | undefined {
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([kKmMgGtTpPeE]?)/.exec(text);
  if (!m || m[1] === undefined) return undefined;
  const d = m[1];
  let v = /^0[xX]/.test(d) ? Number.parseInt(d.slice(2), 16) : d.length > 1 && d.startsWith('0') ? Number.parseInt(d, 8) : Number(d);
  const suffix = (m[2] ?? '').toLowerCase();
  if (suffix !== '') v *= 2 ** (10 * ('kmgtpe'.indexOf(suffix) + 1));
  return { value: v, rest: text.slice(m[0].length) };
}

/** Parse memmap= (comma lists too), mem=, loglevel=, quiet and ignore_loglevel from a command line. */
export function cmdlineFacts(cmdline: string): CmdlineFacts {
  const memmap: MemmapEntry[] = [];
  const unparsed: string[] = [];
  let memLimit: number | undefined;
  let loglevel: number | undefined;
  let quiet = false;
  let ignoreLoglevel = false;
  for (const word of splitCmdline(cmdline)) {
    const eq = word.indexOf('=');
    const key = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? '' : word.slice(eq + 1);
    if (key === 'memmap') {
      for (const one of value.split(',')) {
        if (one === 'exactmap') continue;
        const size = memparse(one);
        if (!size) {
          unparsed.push(`memmap=${one}`);
          continue;
        }
        const k = size.rest[0];
        if (k === undefined) {
          memmap.push({ kind: 'limit', size: size.value, address: undefined, text: one });
          continue;
        }
        const addr = memparse(size.rest.slice(1));
        if ((k === '$' || k === '!' || k === '#' || k === '@' || k === '%') && addr) memmap.push({ kind: k, size: size.value, address: addr.value, text: one });
        else unparsed.push(`memmap=${one}`);
      }
    } else if (key === 'mem') {
      const v = memparse(value);
      if (v) memLimit = v.value;
      else unparsed.push(word);
    } else if (key === 'loglevel') {
      const v = Number.parseInt(value, 10);
      if (Number.isInteger(v)) loglevel = v;
    } else if (word === 'quiet') quiet = true;
    else if (word === 'ignore_loglevel') ignoreLoglevel = true;
  }
  return { memmap, memLimit, loglevel, quiet, ignoreLoglevel, unparsed };
}

/** The `memmap=SIZE$ADDR` word that reserves [address, address + size). */
export function memmapWord(address: number, size: number): string {
  return `memmap=${hex(size)}$${hex(address)}`;
}
