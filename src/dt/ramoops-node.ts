// Put a ramoops node into a device tree (the arm64 harness adds one to the DTB QEMU dumps with
// `-machine dumpdtb=`): /reserved-memory/ramoops@ADDR with the properties ramoops_parse_dt
// reads, under a /reserved-memory the kernel's early scan accepts (#address-cells and
// #size-cells equal to the root's, empty `ranges`), so the region is both reserved and probed.
import { ConfigError, hex } from '../errors.js';
import { cellBytes, getChild, getProp, isCompatible, propCells, stringBytes, type DeviceTree, type DtNode, type DtProperty } from './tree.js';

/** The node's contents; optional properties are written only when given (the DT default is then 0 / absent). */
export interface RamoopsNodeSpec {
  readonly address: number;
  readonly size: number;
  readonly recordSize?: number;
  readonly consoleSize?: number;
  readonly ftraceSize?: number;
  readonly pmsgSize?: number;
  /** Parity bytes per block, literal (DT `ecc-size`: 1 stays 1). */
  readonly eccSize?: number;
  /** 5.15+ `mem-type`. */
  readonly memType?: number;
  /** 5.8+ `max-reason`. */
  readonly maxReason?: number;
  /** `flags`; bit 0 = per-CPU ftrace zones. */
  readonly flags?: number;
  /** Write `no-map` (default true: keep the region out of the kernel's linear map). */
  readonly noMap?: boolean;
}

/** A copy of `tree` with /reserved-memory/ramoops@ADDR set to `spec`; other ramoops nodes there are replaced. */
export function withRamoopsNode(tree: DeviceTree, spec: RamoopsNodeSpec): DeviceTree {
  for (const [k, v] of Object.entries(spec)) {
    if (typeof v === 'number' && (!Number.isSafeInteger(v) || v < 0)) throw new ConfigError(`ramoops node: ${k}`, `${v} is not a non-negative integer`);
  }
  const rootCell = (name: string): number => {
    const p = getProp(tree.root, name);
    return (p ? propCells(p)?.[0] : undefined) ?? 1;
  };
  const ac = rootCell('#address-cells');
  const sc = rootCell('#size-cells');
  const fits = (v: number, cells: number): boolean => cells >= 2 || v <= 0xffffffff;
  if (!fits(spec.address, ac) || !fits(spec.address + spec.size, ac) || !fits(spec.size, sc)) {
    throw new ConfigError('ramoops node: reg', `${hex(spec.size)}@${hex(spec.address)} does not fit the root's #address-cells = ${ac} / #size-cells = ${sc}`);
  }
  const split = (v: number, cells: number): bigint[] => {
    const out: bigint[] = [];
    let x = BigInt(v);
    for (let i = 0; i < cells; i++) {
      out.unshift(x & 0xffffffffn);
      x >>= 32n;
    }
    return out;
  };
  const u32 = (name: string, v: number | undefined): DtProperty[] => {
    if (v === undefined) return [];
    if (v > 0x7fffffff) throw new ConfigError(`ramoops node: ${name}`, `${v} > INT_MAX: the kernel refuses it`);
    return [{ name, value: cellBytes([v]) }];
  };
  const node: DtNode = {
    name: `ramoops@${spec.address.toString(16)}`,
    properties: [
      { name: 'compatible', value: stringBytes('ramoops') },
      { name: 'reg', value: cellBytes([...split(spec.address, ac), ...split(spec.size, sc)]) },
      ...u32('record-size', spec.recordSize),
      ...u32('console-size', spec.consoleSize),
      ...u32('ftrace-size', spec.ftraceSize),
      ...u32('pmsg-size', spec.pmsgSize),
      ...u32('ecc-size', spec.eccSize),
      ...u32('mem-type', spec.memType),
      ...u32('max-reason', spec.maxReason),
      ...u32('flags', spec.flags),
      ...(spec.noMap === false ? [] : [{ name: 'no-map', value: new Uint8Array(0) }]),
    ],
    children: [],
  };

  const old = getChild(tree.root, 'reserved-memory');
  const need: DtProperty[] = [
    { name: '#address-cells', value: cellBytes([ac]) },
    { name: '#size-cells', value: cellBytes([sc]) },
    { name: 'ranges', value: new Uint8Array(0) },
  ];
  let props: readonly DtProperty[] = old?.properties ?? [];
  for (const n of need) {
    const have = props.find((p) => p.name === n.name);
    if (!have) props = [...props, n];
    else if (n.name !== 'ranges' && propCells(have)?.[0] !== propCells(n)?.[0]) {
      throw new ConfigError(
        'reserved-memory',
        `${n.name} = ${propCells(have)?.[0]} differs from the root's (${propCells(n)?.[0]}): the kernel would ignore every reserved-memory node`,
      );
    } else if (n.name === 'ranges' && have.value.length > 0) {
      throw new ConfigError('reserved-memory', 'has a non-empty ranges; the kernel expects an empty one');
    }
  }
  const kept = (old?.children ?? []).filter((c) => !isCompatible(c, 'ramoops'));
  const rm: DtNode = { name: 'reserved-memory', properties: props, children: [...kept, node] };
  const children = old ? tree.root.children.map((c) => (c === old ? rm : c)) : [...tree.root.children, rm];
  return { ...tree, root: { ...tree.root, children } };
}
