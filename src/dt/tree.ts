// A device tree as both our readers produce it (.dts text and .dtb blob) and the writer takes
// it: nodes with raw property bytes, exactly what the flattened format stores. Labels and
// phandle references are resolved by the .dts parser, as dtc does, so a tree from either input
// compares equal for the same source.

/** One property: its name and value bytes (big-endian cells, NUL-terminated strings, or empty). */
export interface DtProperty {
  readonly name: string;
  readonly value: Uint8Array;
}

/** One node; `name` includes the unit address (`ramoops@50000000`); the root's name is "". */
export interface DtNode {
  readonly name: string;
  readonly properties: readonly DtProperty[];
  readonly children: readonly DtNode[];
}

/** A /memreserve/ entry (the FDT memory reservation block); 64-bit values. */
export interface MemReserve {
  readonly address: bigint;
  readonly size: bigint;
}

/** A whole tree with the header fields the flattened format carries besides the nodes. */
export interface DeviceTree {
  readonly root: DtNode;
  readonly memReserve: readonly MemReserve[];
  readonly bootCpuidPhys: number;
}

/** A node found by a search, with the chain of its ancestors (root first). */
export interface FoundNode {
  readonly node: DtNode;
  readonly path: string;
  readonly ancestors: readonly DtNode[];
}

/** The node name without its unit address (`ramoops@50000000` -> `ramoops`), as of_node_name_eq compares. */
export function baseName(name: string): string {
  const at = name.indexOf('@');
  return at < 0 ? name : name.slice(0, at);
}

/** Bytes as a string, one character per byte (chunked: a spread of a huge array would overflow the stack). */
export function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return s;
}

/** A property by name, or undefined. */
export function getProp(node: DtNode, name: string): DtProperty | undefined {
  return node.properties.find((p) => p.name === name);
}

/** A direct child by full name (with unit address), or undefined. */
export function getChild(node: DtNode, name: string): DtNode | undefined {
  return node.children.find((c) => c.name === name);
}

/** The value as the strings of a string list (`compatible = "a", "b"`); undefined if not NUL-terminated text. */
export function propStrings(p: DtProperty): readonly string[] | undefined {
  const v = p.value;
  if (v.length === 0 || v[v.length - 1] !== 0) return undefined;
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] === 0) {
      out.push(latin1(v.subarray(start, i)));
      start = i + 1;
    }
  }
  return out;
}

/** The value as 32-bit big-endian cells; undefined when the length is not a multiple of 4. */
export function propCells(p: DtProperty): readonly number[] | undefined {
  if (p.value.length % 4 !== 0) return undefined;
  const dv = new DataView(p.value.buffer, p.value.byteOffset, p.value.byteLength);
  const out: number[] = [];
  for (let i = 0; i < p.value.length; i += 4) out.push(dv.getUint32(i, false));
  return out;
}

/** Join `n` cells starting at `at` into one number, big-endian (as of_read_number does). */
export function cellsToBigInt(cells: readonly number[], at: number, n: number): bigint {
  let v = 0n;
  for (let i = 0; i < n; i++) v = (v << 32n) | BigInt(cells[at + i] ?? 0);
  return v;
}

/** Encode 32-bit values as big-endian cells. */
export function cellBytes(values: readonly (number | bigint)[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setUint32(i * 4, Number(BigInt.asUintN(32, BigInt(v))), false));
  return out;
}

/** Encode strings as a NUL-separated string list (UTF-8; device trees hold ASCII). */
export function stringBytes(...values: readonly string[]): Uint8Array {
  const parts = values.map((s) => new TextEncoder().encode(s + '\0'));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Every node for which `match` is true, depth first in tree order. */
export function findNodes(tree: DeviceTree, match: (node: DtNode, ancestors: readonly DtNode[]) => boolean): readonly FoundNode[] {
  const found: FoundNode[] = [];
  const walk = (node: DtNode, ancestors: readonly DtNode[], path: string): void => {
    if (match(node, ancestors)) found.push({ node, path: path === '' ? '/' : path, ancestors });
    for (const c of node.children) walk(c, [...ancestors, node], `${path}/${c.name}`);
  };
  walk(tree.root, [], '');
  return found;
}

/** Whether the node's `compatible` list names `compat`. */
export function isCompatible(node: DtNode, compat: string): boolean {
  const p = getProp(node, 'compatible');
  return p !== undefined && (propStrings(p) ?? []).includes(compat);
}

/** The node at an absolute path (`/reserved-memory/ramoops@50000000`), or undefined. */
export function nodeAtPath(tree: DeviceTree, path: string): DtNode | undefined {
  let node: DtNode | undefined = tree.root;
  for (const part of path.split('/').filter((s) => s !== '')) {
    node = node ? getChild(node, part) : undefined;
  }
  return node;
}
