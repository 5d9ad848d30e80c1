// The flattened device tree blob (Devicetree Specification v0.4, chapter 5; dtc's
// libfdt/fdt.h): a 40-byte big-endian header, the memory reservation block (pairs of u64
// ending in 0,0), the structure block (tokens BEGIN_NODE name / PROP len nameoff value /
// END_NODE / NOP / END, every item padded to 4 bytes) and the strings block (property names).
// Our own reader and writer: the validator reads a board's DTB, and the arm64 harness adds a
// ramoops node to QEMU's DTB. The writer lays the blob out as dtc does (version 17, blocks in
// the order header, reservations, structure, strings; property names shared by suffix), so a
// blob dtc made is written back byte for byte.
import { ConfigError, hex } from '../errors.js';
import { latin1, type DeviceTree, type DtNode, type DtProperty, type MemReserve } from './tree.js';

/** The header magic, big-endian. */
export const FDT_MAGIC = 0xd00dfeed;

const FDT_BEGIN_NODE = 0x1;
const FDT_END_NODE = 0x2;
const FDT_PROP = 0x3;
const FDT_NOP = 0x4;
const FDT_END = 0x9;

const HEADER_SIZE = 40;
/** Versions whose layout we know: 16 (no size_dt_struct) and 17; 17 declares compatibility back to 16. */
const WRITE_VERSION = 17;
const WRITE_LAST_COMP = 16;
/** A bound on nesting so a hostile blob cannot exhaust the stack. */
const MAX_DEPTH = 256;

const fail = (offset: number, message: string): ConfigError => new ConfigError('dtb', `${message} (at offset ${hex(offset)})`);

/** Parse a DTB; throws ConfigError('dtb') naming the offset of anything malformed. */
export function readFdt(blob: Uint8Array): DeviceTree {
  if (blob.length < HEADER_SIZE) throw fail(0, `${blob.length} bytes is too short for an FDT header (${HEADER_SIZE})`);
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const u32 = (at: number): number => dv.getUint32(at, false);
  const magic = u32(0);
  if (magic !== FDT_MAGIC) throw fail(0, `bad magic ${hex(magic)}, expected ${hex(FDT_MAGIC)} (is this a device tree blob?)`);
  const totalSize = u32(4);
  const offStruct = u32(8);
  const offStrings = u32(12);
  const offRsv = u32(16);
  const version = u32(20);
  const lastComp = u32(24);
  const bootCpuidPhys = u32(28);
  const sizeStrings = u32(32);
  if (version < 16 || lastComp > 17) throw fail(20, `FDT version ${version} (compatible back to ${lastComp}) is not one this reader knows (16, 17)`);
  if (totalSize > blob.length) throw fail(4, `totalsize ${totalSize} exceeds the ${blob.length} bytes given`);
  if (totalSize < HEADER_SIZE) throw fail(4, `totalsize ${totalSize} is smaller than the header`);
  const sizeStruct = version >= 17 ? u32(36) : totalSize - offStruct;
  const inBlob = (what: string, off: number, size: number): void => {
    if (off > totalSize || size > totalSize - off) throw fail(off, `${what} (${size} bytes) runs past totalsize ${totalSize}`);
  };
  inBlob('structure block', offStruct, sizeStruct);
  inBlob('strings block', offStrings, sizeStrings);
  if (offStruct % 4 !== 0) throw fail(8, `structure block offset ${hex(offStruct)} is not 4-byte aligned`);

  const memReserve: MemReserve[] = [];
  for (let at = offRsv; ; at += 16) {
    inBlob('memory reservation entry', at, 16);
    const address = dv.getBigUint64(at, false);
    const size = dv.getBigUint64(at + 8, false);
    if (address === 0n && size === 0n) break;
    memReserve.push({ address, size });
  }

  const structEnd = offStruct + sizeStruct;
  const cstring = (at: number, end: number, what: string): string => {
    let i = at;
    while (i < end && blob[i] !== 0) i++;
    if (i >= end) throw fail(at, `${what} is not NUL-terminated within its block`);
    return latin1(blob.subarray(at, i));
  };
  let pos = offStruct;
  const token = (): number => {
    if (pos + 4 > structEnd) throw fail(pos, 'structure block ends without FDT_END');
    const t = u32(pos);
    pos += 4;
    return t;
  };
  const align4 = (n: number): number => (n + 3) & ~3;

  // Nodes are built bottom-up on an explicit stack, so depth costs no recursion.
  interface Building {
    name: string;
    properties: DtProperty[];
    children: DtNode[];
  }
  const stack: Building[] = [];
  let root: DtNode | undefined;
  for (;;) {
    const at = pos;
    const t = token();
    if (t === FDT_NOP) continue;
    if (t === FDT_BEGIN_NODE) {
      if (root !== undefined) throw fail(at, 'a second top-level node after the root');
      const name = cstring(pos, structEnd, 'node name');
      pos = align4(pos + name.length + 1);
      if (stack.length === 0 && name !== '') throw fail(at, `the root node has name "${name}" (must be empty)`);
      if (stack.length >= MAX_DEPTH) throw fail(at, `nodes nested deeper than ${MAX_DEPTH}`);
      stack.push({ name, properties: [], children: [] });
    } else if (t === FDT_END_NODE) {
      const done = stack.pop();
      if (!done) throw fail(at, 'FDT_END_NODE without an open node');
      const node: DtNode = { name: done.name, properties: done.properties, children: done.children };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(node);
      else root = node;
    } else if (t === FDT_PROP) {
      const top = stack[stack.length - 1];
      if (!top) throw fail(at, 'FDT_PROP outside any node');
      if (pos + 8 > structEnd) throw fail(pos, 'property header runs past the structure block');
      const len = u32(pos);
      const nameOff = u32(pos + 4);
      pos += 8;
      if (len > structEnd - pos) throw fail(at, `property value of ${len} bytes runs past the structure block`);
      if (nameOff >= sizeStrings) throw fail(at, `property name offset ${nameOff} is outside the strings block (${sizeStrings} bytes)`);
      const name = cstring(offStrings + nameOff, offStrings + sizeStrings, 'property name');
      top.properties.push({ name, value: blob.slice(pos, pos + len) });
      pos = align4(pos + len);
    } else if (t === FDT_END) {
      if (stack.length > 0) throw fail(at, `FDT_END with ${stack.length} node(s) still open`);
      break;
    } else {
      throw fail(at, `unknown structure token ${hex(t)}`);
    }
  }
  if (!root) throw fail(offStruct, 'no root node');
  return { root, memReserve, bootCpuidPhys };
}

/** Encode a tree as a DTB (version 17) laid out the way dtc lays it out. */
export function writeFdt(tree: DeviceTree): Uint8Array {
  const struct: number[] = [];
  let strings = '';
  const nameOffset = (name: string): number => {
    // dtc's stringtable_insert: reuse any existing string whose tail equals the name.
    const hit = strings.indexOf(name + '\0');
    if (hit >= 0) return hit;
    const at = strings.length;
    strings += name + '\0';
    return at;
  };
  const pushU32 = (v: number): void => {
    struct.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  };
  const pushPadded = (bytes: ArrayLike<number>): void => {
    for (let i = 0; i < bytes.length; i++) struct.push(bytes[i] ?? 0);
    while (struct.length % 4 !== 0) struct.push(0);
  };
  const asciiBytes = (s: string): number[] => {
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff || c === 0) throw new ConfigError('dtb', `name ${JSON.stringify(s)} has a character a DTB cannot hold`);
      out.push(c);
    }
    return out;
  };
  const emit = (node: DtNode, depth: number): void => {
    if (depth > MAX_DEPTH) throw new ConfigError('dtb', `nodes nested deeper than ${MAX_DEPTH}`);
    pushU32(FDT_BEGIN_NODE);
    pushPadded([...asciiBytes(node.name), 0]);
    for (const p of node.properties) {
      pushU32(FDT_PROP);
      pushU32(p.value.length);
      asciiBytes(p.name);
      pushU32(nameOffset(p.name));
      pushPadded(p.value);
    }
    for (const c of node.children) emit(c, depth + 1);
    pushU32(FDT_END_NODE);
  };
  if (tree.root.name !== '') throw new ConfigError('dtb', `the root node must have an empty name, not "${tree.root.name}"`);
  emit(tree.root, 0);
  pushU32(FDT_END);

  const offRsv = HEADER_SIZE; // already 8-byte aligned
  const rsvSize = (tree.memReserve.length + 1) * 16;
  const offStruct = offRsv + rsvSize;
  const offStrings = offStruct + struct.length;
  const total = offStrings + strings.length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const header = [FDT_MAGIC, total, offStruct, offStrings, offRsv, WRITE_VERSION, WRITE_LAST_COMP, tree.bootCpuidPhys, strings.length, struct.length];
  header.forEach((v, i) => dv.setUint32(i * 4, v >>> 0, false));
  tree.memReserve.forEach((r, i) => {
    dv.setBigUint64(offRsv + i * 16, BigInt.asUintN(64, r.address), false);
    dv.setBigUint64(offRsv + i * 16 + 8, BigInt.asUintN(64, r.size), false);
  });
  out.set(struct, offStruct);
  for (let i = 0; i < strings.length; i++) out[offStrings + i] = strings.charCodeAt(i);
  return out;
}
