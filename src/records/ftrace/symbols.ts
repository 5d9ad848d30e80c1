// Kernel symbol lookup from a System.map or a /proc/kallsyms copy, reproducing kallsyms'
// %ps/%pS output for text addresses: the nearest text symbol at or below, size = distance to
// the next higher symbol, ` [module]` after a module symbol's offset.
import { ConfigError } from '../../errors.js';

export interface SymbolTable {
  /** Sorted ascending, unique addresses. */
  readonly addrs: readonly bigint[];
  readonly names: readonly string[];
  /** Module of each symbol (kallsyms' `[name]` column); undefined for the kernel image's own. */
  readonly modules?: readonly (string | undefined)[];
  /**
   * 'system-map': link-time addresses, to be shifted by the KASLR offset of the kernel whose
   * output is reproduced. 'kallsyms': a running kernel's addresses, already shifted.
   */
  readonly origin: 'system-map' | 'kallsyms';
  /** Every name, aliases included (the lookup arrays keep one name per address), to its first address. */
  readonly byName?: ReadonlyMap<string, bigint>;
}

const LINE = /^([0-9a-fA-F]+)\s+([tTwW])\s+(\S+)(?:\s+\[([^\]\s]+)\])?/;

/**
 * scripts/kallsyms.c may_be_linker_script_provide_symbol (same in 6.1 and 6.12): `__start_X`,
 * `__stop_X`, `__end_X`, `__X_start`, `__X_end`, names of 8 characters or more.
 */
function linkerProvided(name: string): boolean {
  if (name.length < 8 || !name.startsWith('__')) return false;
  const rest = name.slice(2);
  return rest.startsWith('start_') || rest.startsWith('stop_') || rest.startsWith('end_') || name.endsWith('_start') || name.endsWith('_end');
}

function underscores(name: string): number {
  let i = 0;
  while (name[i] === '_') i++;
  return i;
}

function build(text: string, origin: SymbolTable['origin']): SymbolTable {
  const entries: { a: bigint; n: string; m: string | undefined; weak: boolean; pos: number }[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const type = m[2] ?? 't';
    entries.push({ a: BigInt('0x' + (m[1] ?? '0')), n: m[3] ?? '', m: m[4], weak: type === 'w' || type === 'W', pos: entries.length });
  }
  // kallsyms reports the first of the aliases at an address in its table. /proc/kallsyms lists
  // that table in order: a stable sort by address keeps it. System.map is in nm's order, which
  // the kernel's build re-sorts (scripts/kallsyms.c compare_symbols): address, then non-weak
  // first, then not linker-script-provided (e.g. __sched_text_start after __switch_to), then
  // fewer leading underscores, then the map's order.
  const kernelOrder = origin === 'system-map';
  entries.sort((x, y) => {
    if (x.a !== y.a) return x.a < y.a ? -1 : 1;
    if (!kernelOrder) return x.pos - y.pos;
    if (x.weak !== y.weak) return x.weak ? 1 : -1;
    const lx = linkerProvided(x.n);
    if (lx !== linkerProvided(y.n)) return lx ? 1 : -1;
    const ux = underscores(x.n);
    const uy = underscores(y.n);
    if (ux !== uy) return ux - uy;
    return x.pos - y.pos;
  });
  const addrs: bigint[] = [];
  const names: string[] = [];
  const modules: (string | undefined)[] = [];
  const byName = new Map<string, bigint>();
  for (const e of entries) {
    if (!byName.has(e.n)) byName.set(e.n, e.a);
    if (addrs.length && addrs[addrs.length - 1] === e.a) continue;
    addrs.push(e.a);
    names.push(e.n);
    modules.push(e.m);
  }
  return modules.some((m) => m !== undefined) ? { addrs, names, modules, origin, byName } : { addrs, names, origin, byName };
}

/** Parse `nm`-style lines "ffffffff81000000 T _stext"; keeps text symbols (t T w W). */
export function parseSystemMap(text: string): SymbolTable {
  return build(text, 'system-map');
}

/**
 * Parse a copy of a running kernel's /proc/kallsyms (same columns, plus `[module]` for module
 * symbols): its addresses already carry that boot's KASLR offset. A copy read without the right
 * to see addresses (kptr_restrict) lists every address as 0: refused, it would name nothing.
 */
export function parseKallsyms(text: string): SymbolTable {
  const table = build(text, 'kallsyms');
  if (table.addrs.length === 0) throw new ConfigError('kallsyms', 'no text symbols (lines "ADDRESS t|T|w|W NAME") in the file');
  if (table.addrs.length === 1 && table.addrs[0] === 0n) {
    throw new ConfigError(
      'kallsyms',
      'every address is 0: the copy was read without permission to see addresses (kptr_restrict); read it as root, or after `echo 0 > /proc/sys/kernel/kptr_restrict`',
    );
  }
  return table;
}

/** The address of a named symbol, aliases included (e.g. `_text`, which shares `_stext`'s address); undefined when the table lacks it. */
export function symbolAddress(table: SymbolTable, name: string): bigint | undefined {
  const found = table.byName?.get(name);
  if (found !== undefined) return found;
  const i = table.names.indexOf(name);
  return i < 0 ? undefined : table.addrs[i];
}

export interface Resolved {
  readonly name: string;
  readonly offset: bigint;
  readonly size: bigint;
  readonly module: string | undefined;
}

/**
 * Find the symbol containing addr, or undefined outside the table's range. `shift` is what the
 * kernel whose names are reproduced added to the table's addresses (its KASLR offset for a
 * System.map, 0 for its own kallsyms).
 */
export function lookup(table: SymbolTable, addr: bigint, shift = 0n): Resolved | undefined {
  const { addrs, names } = table;
  if (!addrs.length) return undefined;
  const at = BigInt.asUintN(64, addr - shift);
  const ranges = textRanges(table);
  const first = addrs[0] ?? 0n;
  const last = addrs[addrs.length - 1] ?? 0n;
  if (at < first || at >= last) return undefined;
  let lo = 0;
  let hi = addrs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((addrs[mid] ?? 0n) <= at) lo = mid;
    else hi = mid - 1;
  }
  const a = addrs[lo] ?? 0n;
  let next = addrs[lo + 1] ?? a;
  const module = table.modules?.[lo];
  if (ranges !== undefined && module === undefined) {
    // kallsyms names only kernel text (is_ksym_addr without KALLSYMS_ALL): an address past
    // _etext (another boot's offset makes many) stays a raw 0x... in the kernel's %ps, and a
    // section's last symbol ends at _etext / _einittext (get_symbol_pos).
    const end =
      at >= ranges.stext && at < ranges.etext
        ? ranges.etext
        : ranges.init !== undefined && at >= ranges.init[0] && at < ranges.init[1]
          ? ranges.init[1]
          : undefined;
    if (end === undefined) return undefined;
    if (next > end) next = end;
  }
  return { name: names[lo] ?? '', offset: at - a, size: next - a, module };
}

const rangesOf = new WeakMap<SymbolTable, { stext: bigint; etext: bigint; init: readonly [bigint, bigint] | undefined } | null>();

/** The kernel image's text ranges, when the table names their bounds (_stext/_etext, _sinittext/_einittext). */
function textRanges(table: SymbolTable): { stext: bigint; etext: bigint; init: readonly [bigint, bigint] | undefined } | undefined {
  let r = rangesOf.get(table);
  if (r === undefined) {
    const stext = symbolAddress(table, '_stext');
    const etext = symbolAddress(table, '_etext');
    const si = symbolAddress(table, '_sinittext');
    const ei = symbolAddress(table, '_einittext');
    r =
      stext !== undefined && etext !== undefined && stext < etext
        ? { stext, etext, init: si !== undefined && ei !== undefined && si < ei ? [si, ei] : undefined }
        : null;
    rangesOf.set(table, r);
  }
  return r ?? undefined;
}
