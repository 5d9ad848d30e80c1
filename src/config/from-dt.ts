// Settings from a device tree's ramoops node, read the way fs/pstore/ram.c ramoops_parse_dt
// reads it for the given kernel version (docs/format.md §1): DT defaults (all sizes 0),
// ecc-size taken literally, `unbuffered` overridden by `mem-type` (5.15+), `no-dump-oops`
// overridden by `max-reason` (5.8+), `flags` bit 0 = per-CPU ftrace (4.10+), the old-Chromebook
// rule (5.4+), and u32 values above INT_MAX refused. Besides the settings it reports what the
// validator needs to know about reservation: where the node sits, `no-map`, whether the
// kernel's early /reserved-memory scan accepts the parent.
//
// Cell counts: `reg` is decoded with the parent's #address-cells/#size-cells; when the parent
// has none, Linux (of_n_addr_cells) takes the nearest ancestor's and finally 1 and 1
// (OF_ROOT_NODE_*_CELLS_DEFAULT on every architecture but SPARC). We follow Linux, not the
// DT specification's 2/1 root default, because Linux decides where ramoops lands.
import { ConfigError, hex } from '../errors.js';
import { atLeast, type KernelVersion } from '../kernel/version.js';
import { baseName, cellsToBigInt, findNodes, getChild, getProp, isCompatible, propCells, propStrings, type DeviceTree, type DtNode } from '../dt/tree.js';
import type { ConfigSettings } from './build.js';

/** Why the kernel's probe refuses the node, with the message it logs. */
export interface DtRefusal {
  readonly code: 'dt-no-reg' | 'dt-bad-property' | 'dt-value-overflow' | 'dt-disabled';
  readonly property: string | undefined;
  readonly message: string;
}

/** What the validator needs to know about a DT-configured region besides its settings. */
export interface DtFacts {
  /** Path of the node, e.g. /reserved-memory/ramoops@50000000. */
  readonly path: string;
  /** The parent node's name without unit address ("reserved-memory" for a conforming node). */
  readonly parentName: string;
  /** Direct child of the top-level /reserved-memory: the only place the early scan reserves memory. */
  readonly underReservedMemory: boolean;
  /** The early scan accepts /reserved-memory (#address-cells/#size-cells equal the root's, `ranges` present). */
  readonly reservedMemoryAccepted: boolean;
  /** The node's reg is a whole number of (address, size) entries in the root's cell counts (else the scan skips it). */
  readonly regReservable: boolean;
  /** A /memreserve/ entry covers the whole region. */
  readonly coveredByMemreserve: boolean;
  readonly noMap: boolean;
  /** Names of the node's properties, to tell which options were given. */
  readonly properties: readonly string[];
  /** More than one node is compatible with "ramoops"; only the first to probe is used. */
  readonly otherNodes: readonly string[];
}

/** One ramoops node: settings for buildConfig(…, 'dt'), reservation facts and probe refusals. */
export interface DtRamoops extends DtFacts {
  readonly settings: ConfigSettings;
  readonly refusals: readonly DtRefusal[];
  /** Things a reader should know that are not problems (e.g. the old-Chromebook rule applied). */
  readonly notes: readonly string[];
}

const INT_MAX = 0x7fffffff;
const EOVERFLOW = 75;

/** Every node with compatible "ramoops", in tree order, read for `kernel` (newest rules when undefined). */
export function ramoopsFromDt(tree: DeviceTree, kernel?: KernelVersion): readonly DtRamoops[] {
  const found = findNodes(tree, (n) => isCompatible(n, 'ramoops'));
  return found.map((f) =>
    readNode(
      tree,
      f.node,
      f.path,
      f.ancestors,
      kernel,
      found.filter((o) => o.path !== f.path).map((o) => o.path),
    ),
  );
}

/** The single ramoops node of a tree; a ConfigError when there is none. */
export function ramoopsNodeFromDt(tree: DeviceTree, kernel?: KernelVersion): DtRamoops {
  const all = ramoopsFromDt(tree, kernel);
  const first = all[0];
  if (!first) throw new ConfigError('device tree', 'no node with compatible = "ramoops" (expected /reserved-memory/ramoops@ADDR)');
  return first;
}

const since = (kernel: KernelVersion | undefined, major: number, minor: number): boolean => kernel === undefined || atLeast(kernel, major, minor);

function cellCount(ancestors: readonly DtNode[], name: '#address-cells' | '#size-cells'): number {
  for (let i = ancestors.length - 1; i >= 0; i--) {
    const a = ancestors[i];
    const p = a ? getProp(a, name) : undefined;
    const cells = p ? propCells(p) : undefined;
    if (cells && cells[0] !== undefined) return cells[0];
  }
  return 1;
}

function readNode(
  tree: DeviceTree,
  node: DtNode,
  path: string,
  ancestors: readonly DtNode[],
  kernel: KernelVersion | undefined,
  otherNodes: readonly string[],
): DtRamoops {
  const refusals: DtRefusal[] = [];
  const notes: string[] = [];
  const settings: ConfigSettings = {};
  const parent = ancestors[ancestors.length - 1];
  const parentName = parent ? baseName(parent.name) : '';

  const status = getProp(node, 'status');
  const statusText = status ? propStrings(status)?.[0] : undefined;
  if (status && statusText !== 'okay' && statusText !== 'ok') {
    refusals.push({
      code: 'dt-disabled',
      property: 'status',
      message: `status = "${statusText ?? '?'}": the kernel creates no device for a disabled node, so ramoops never probes`,
    });
  }
  readReg(node, path, ancestors, settings, refusals, notes);
  readSizes(node, kernel, parentName, settings, refusals, notes);

  return {
    path,
    parentName,
    ...reservation(tree, node, ancestors, settings),
    noMap: getProp(node, 'no-map') !== undefined,
    properties: node.properties.map((p) => p.name),
    otherNodes,
    settings,
    refusals,
    notes,
  };
}

/**
 * reg: the platform resource, in the parent's cell counts. The kernel translates it through
 * every ancestor's `ranges` (empty `ranges` = identity); without `ranges` there is no resource.
 */
function readReg(node: DtNode, path: string, ancestors: readonly DtNode[], settings: ConfigSettings, refusals: DtRefusal[], notes: string[]): void {
  const addressCells = cellCount(ancestors, '#address-cells');
  const sizeCells = cellCount(ancestors, '#size-cells');
  const reg = getProp(node, 'reg');
  const regCells = reg ? propCells(reg) : undefined;
  const entry = addressCells + sizeCells;
  const untranslatable = ancestors.slice(1).find((a) => !getProp(a, 'ranges'));
  if (!reg || !regCells || regCells.length < entry || entry === 0) {
    const why = !reg
      ? getProp(node, 'size')
        ? 'the node has `size` but no `reg` (a dynamically placed region); this tool needs a fixed reg to compute addresses'
        : 'the node has no reg property'
      : `reg has ${reg.value.length} bytes, less than one entry of ${addressCells}+${sizeCells} cells`;
    refusals.push({ code: 'dt-no-reg', property: 'reg', message: `failed to locate DT /reserved-memory resource (${why})` });
  } else if (untranslatable) {
    refusals.push({
      code: 'dt-no-reg',
      property: 'reg',
      message: `failed to locate DT /reserved-memory resource (${untranslatable.name} has no \`ranges\`, so reg cannot be translated to a physical address)`,
    });
  } else {
    const address = cellsToBigInt(regCells, 0, addressCells);
    const size = cellsToBigInt(regCells, addressCells, sizeCells);
    const nonEmptyRanges = ancestors.slice(1).find((a) => (getProp(a, 'ranges')?.value.length ?? 0) > 0);
    if (nonEmptyRanges) notes.push(`${nonEmptyRanges.name} has a non-empty ranges; reg is taken untranslated (${hex(address)})`);
    if (address + size > BigInt(Number.MAX_SAFE_INTEGER))
      throw new ConfigError(`${path}: reg`, `region ${hex(size)}@${hex(address)} is beyond the addresses this tool handles (2^53)`);
    settings.memAddress = Number(address);
    settings.memSize = Number(size);
  }
}

/** The u32 properties, mem-type, flags and max-reason as `kernel` reads them, and the old-Chromebook rule. */
function readSizes(
  node: DtNode,
  kernel: KernelVersion | undefined,
  parentName: string,
  settings: ConfigSettings,
  refusals: DtRefusal[],
  notes: string[],
): void {
  const has = (name: string): boolean => getProp(node, name) !== undefined;
  // of_property_read_u32 then the INT_MAX check, in the kernel's order; the first failure ends probe.
  const u32 = (name: string): number | undefined => {
    const p = getProp(node, name);
    if (!p) return undefined;
    // An FDT property always has a value pointer, so an empty one is "too short" (-EOVERFLOW),
    // not -ENODATA: seen on Debian 6.1 arm64 with `record-size;`.
    if (p.value.length < 4) {
      refusals.push({ code: 'dt-bad-property', property: name, message: `failed to parse property ${name}: -${EOVERFLOW}` });
      return undefined;
    }
    const v = new DataView(p.value.buffer, p.value.byteOffset, 4).getUint32(0, false);
    if (v > INT_MAX) {
      refusals.push({ code: 'dt-value-overflow', property: name, message: `${name} ${v} > INT_MAX` });
      return undefined;
    }
    return v;
  };

  let memType = has('unbuffered') ? 1 : 0;
  if (since(kernel, 5, 15)) memType = u32('mem-type') ?? memType;
  settings.memType = memType;
  const sizes = {
    recordSize: u32('record-size') ?? 0,
    consoleSize: u32('console-size') ?? 0,
    ftraceSize: u32('ftrace-size') ?? 0,
    pmsgSize: u32('pmsg-size') ?? 0,
  };
  const ecc = u32('ecc-size') ?? 0;
  let flags = 0;
  if (since(kernel, 4, 10)) flags = u32('flags') ?? 0;
  let maxReason = has('no-dump-oops') ? 1 : 2;
  if (since(kernel, 5, 8)) maxReason = u32('max-reason') ?? maxReason;

  if (since(kernel, 5, 4) && parentName !== 'reserved-memory' && !sizes.consoleSize && !sizes.ftraceSize && !sizes.pmsgSize && !ecc) {
    sizes.consoleSize = sizes.recordSize;
    sizes.pmsgSize = sizes.recordSize;
    if (sizes.recordSize) {
      notes.push(
        `old-Chromebook rule (5.4+): the parent is "${parentName || '/'}", not reserved-memory, and console/ftrace/pmsg/ecc sizes are all 0, so console-size and pmsg-size become record-size (${hex(sizes.recordSize)})`,
      );
    }
  }
  Object.assign(settings, sizes);
  settings.ecc = ecc;
  settings.ftracePerCpu = (flags & 1) !== 0;
  settings.maxReason = maxReason;
}

/** Whether the region would also be reserved by the early scan, /reserved-memory's rules or a /memreserve/. */
function reservation(
  tree: DeviceTree,
  node: DtNode,
  ancestors: readonly DtNode[],
  settings: ConfigSettings,
): Pick<DtFacts, 'underReservedMemory' | 'reservedMemoryAccepted' | 'regReservable' | 'coveredByMemreserve'> {
  const parent = ancestors[ancestors.length - 1];
  const reg = getProp(node, 'reg');
  // The early scan (drivers/of/of_reserved_mem.c) uses the root's cell counts, defaults 1/1.
  const rootCells = (name: string): number => {
    const p = getProp(tree.root, name);
    return (p ? propCells(p)?.[0] : undefined) ?? 1;
  };
  const rm = getChild(tree.root, 'reserved-memory');
  const rmCell = (name: string): number | undefined => {
    const p = rm ? getProp(rm, name) : undefined;
    return p ? propCells(p)?.[0] : undefined;
  };
  const reservedMemoryAccepted =
    rm !== undefined &&
    rmCell('#address-cells') === rootCells('#address-cells') &&
    rmCell('#size-cells') === rootCells('#size-cells') &&
    getProp(rm, 'ranges') !== undefined;
  const underReservedMemory = ancestors.length === 2 && parent === rm;
  const rootEntry = (rootCells('#address-cells') + rootCells('#size-cells')) * 4;
  const regReservable = reg !== undefined && reg.value.length > 0 && rootEntry > 0 && reg.value.length % rootEntry === 0;
  const lo = settings.memAddress;
  const hi = lo === undefined || settings.memSize === undefined ? undefined : lo + settings.memSize;
  const coveredByMemreserve = lo !== undefined && hi !== undefined && tree.memReserve.some((r) => r.address <= BigInt(lo) && r.address + r.size >= BigInt(hi));
  return { underReservedMemory, reservedMemoryAccepted, regReservable, coveredByMemreserve };
}
