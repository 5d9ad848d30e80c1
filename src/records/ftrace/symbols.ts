// Kernel symbol lookup from a System.map, reproducing kallsyms' %ps/%pS output for text
// addresses: the nearest text symbol at or below, size = distance to the next higher symbol.

export interface SymbolTable {
  /** Sorted ascending, unique addresses. */
  readonly addrs: readonly bigint[];
  readonly names: readonly string[];
}

/** Parse `nm`-style lines "ffffffff81000000 T _stext"; keeps text symbols (t T w W). */
export function parseSystemMap(text: string): SymbolTable {
  const entries: { a: bigint; n: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]+)\s+([tTwW])\s+(\S+)/.exec(line);
    if (!m) continue;
    entries.push({ a: BigInt('0x' + (m[1] ?? '0')), n: m[3] ?? '' });
  }
  // Stable sort keeps the map's order among aliases; kallsyms reports the first alias.
  entries.sort((x, y) => (x.a < y.a ? -1 : x.a > y.a ? 1 : 0));
  const addrs: bigint[] = [];
  const names: string[] = [];
  for (const e of entries) {
    if (addrs.length && addrs[addrs.length - 1] === e.a) continue;
    addrs.push(e.a);
    names.push(e.n);
  }
  return { addrs, names };
}

export interface Resolved {
  readonly name: string;
  readonly offset: bigint;
  readonly size: bigint;
}

/** Find the symbol containing addr, or undefined outside the table's range. */
export function lookup(table: SymbolTable, addr: bigint): Resolved | undefined {
  const { addrs, names } = table;
  if (!addrs.length) return undefined;
  const first = addrs[0] ?? 0n;
  const last = addrs[addrs.length - 1] ?? 0n;
  if (addr < first || addr >= last) return undefined;
  let lo = 0;
  let hi = addrs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((addrs[mid] ?? 0n) <= addr) lo = mid;
    else hi = mid - 1;
  }
  const a = addrs[lo] ?? 0n;
  const next = addrs[lo + 1] ?? a;
  return { name: names[lo] ?? '', offset: addr - a, size: next - a };
}
