// arm64 guests with ramoops configured by the device tree, the way phones and boards do it:
// QEMU's `virt` machine generates a DTB; we dump it (`-machine virt,dumpdtb=`), add
// /reserved-memory/ramoops@ADDR with our own FDT writer (src/dt/), and boot with `-dtb`. The
// host parses with the configuration read back from the very blob the guest boots with, by
// the DT path's rules (src/config/from-dt.ts: sizes default to 0, ecc-size literal, per-CPU
// ftrace only with flags bit 0), so the writer, the reader and the parser are proved together.
//
// Where the region may go: QEMU 7.2's -kernel loader puts the Image at RAM base + 2 MiB, the
// initrd at RAM base + min(RAM / 2, 128 MiB) (0x48000000 in a 512 MiB guest) and the DTB right
// after the initrd, and writes them again on every system_reset. A region there is refused by
// the kernel ("Reserved memory: failed to reserve memory for node") and then overwritten on
// the warm reboot. 0x50000000 (RAM base + 256 MiB) is clear of all three.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildConfig, hex, parseKernelVersion, VIRT_RAM_BASE, type RamoopsConfig } from '../../src/index.js';
import { ramoopsNodeFromDt, type DtRamoops } from '../../src/config/from-dt.js';
import { readFdt, writeFdt } from '../../src/dt/fdt.js';
import { withRamoopsNode, type RamoopsNodeSpec } from '../../src/dt/ramoops-node.js';
import { HarnessError, stderrExcerpt } from '../errors.js';
import { buildQemuArgs, type Accel } from './args.js';
import { defaultTempParent, qemuBinary } from './process.js';

/**
 * The ramoops node of an arm64 run when none is given: 1 MiB at RAM base + 256 MiB (clear of
 * the Image, initrd and DTB QEMU loads), 16 KiB dmesg records, 4 KiB console and pmsg zones,
 * no ftrace zone (the DT default 0), ECC off.
 */
export const ARM64_DEFAULT_NODE: RamoopsNodeSpec = {
  address: 0x5000_0000,
  size: 0x10_0000,
  recordSize: 0x4000,
  consoleSize: 0x1000,
  pmsgSize: 0x1000,
};

/** The CPU model of arm64 guests: a plain ARMv8.0 core TCG emulates quickly. */
export const VIRT_CPU = 'cortex-a57';

/** The QEMU configuration a dumped DTB must match (everything that shapes the generated tree). */
export interface VirtDtbOptions {
  readonly memoryBytes: number;
  readonly accel?: Accel;
  readonly cpu?: string;
  readonly cpus?: number;
  readonly pvpanic?: boolean;
  readonly binary?: string;
  readonly signal?: AbortSignal;
  /** Parent of the temp folder (default /dev/shm when writable). */
  readonly tempParent?: string;
}

/**
 * The DTB QEMU's virt machine generates for a configuration (`-machine virt,dumpdtb=FILE`:
 * QEMU writes it and exits). PCI devices (virtio-net-pci, pvpanic-pci) are found by PCI
 * enumeration, not described in the tree, so the dump needs no network; checked: the trees
 * with and without them differ only in /chosen's random seeds, which QEMU renews on each boot.
 */
export async function dumpVirtDtb(opts: VirtDtbOptions): Promise<Uint8Array> {
  const dir = await mkdtemp(join(opts.tempParent ?? defaultTempParent() ?? tmpdir(), 'ramoops-dumpdtb-'));
  try {
    const out = join(dir, 'virt.dtb');
    const args = buildQemuArgs({
      machine: 'virt',
      accel: opts.accel ?? 'tcg',
      memoryBytes: opts.memoryBytes,
      ramFile: join(dir, 'ram'),
      qmpSocket: join(dir, 'qmp.sock'),
      serial: { kind: 'file', path: join(dir, 'serial.log') },
      cpu: opts.cpu ?? VIRT_CPU,
      cpus: opts.cpus,
      pvpanic: opts.pvpanic,
      dumpDtb: out,
    });
    const r = await execa(opts.binary ?? qemuBinary('virt'), args, { reject: false, stdin: 'ignore', cancelSignal: opts.signal, encoding: 'utf8' });
    if (r.isCanceled) throw new HarnessError('qemu', 'dumping the virt DTB was cancelled');
    if (r.failed && r.exitCode === undefined)
      throw new HarnessError('qemu', `${opts.binary ?? qemuBinary('virt')} could not run: ${r.shortMessage} (apt-get install qemu-system-arm)`);
    if (r.exitCode !== 0) throw new HarnessError('qemu', `QEMU failed to dump the virt DTB (exit ${r.exitCode}): ${stderrExcerpt(r.stderr)}`);
    return new Uint8Array(await readFile(out));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A ramoops device tree for one guest: the blob to boot with and what the host reads from it. */
export interface Arm64Ramoops {
  readonly dtb: Uint8Array;
  /** The node as the kernel's ramoops_parse_dt will read it (settings, refusals, reservation facts). */
  readonly node: DtRamoops;
  /** The parser's configuration: the node's settings by the DT path's rules for the booted kernel. */
  readonly config: RamoopsConfig;
}

/**
 * Adds /reserved-memory/ramoops@ADDR to `baseDtb` and reads the configuration back from the
 * written blob for kernel `release`. Throws HarnessError('boot') when the kernel would refuse
 * the node (a property it cannot parse, a value above INT_MAX, no reservable reg).
 */
export function ramoopsDtb(baseDtb: Uint8Array, spec: RamoopsNodeSpec, release: string): Arm64Ramoops {
  const dtb = writeFdt(withRamoopsNode(readFdt(baseDtb), spec));
  const node = ramoopsNodeFromDt(readFdt(dtb), parseKernelVersion(release));
  if (node.refusals.length > 0) {
    throw new HarnessError('boot', `the kernel would refuse ${node.path}: ${node.refusals.map((r) => r.message).join('; ')}`);
  }
  if (!node.reservedMemoryAccepted || !node.underReservedMemory || !node.regReservable) {
    throw new HarnessError('boot', `${node.path} would not be reserved by the kernel's early /reserved-memory scan`);
  }
  const { config } = buildConfig({ ...node.settings, kernelVersion: release }, 'dt');
  return { dtb, node, config };
}

/** The node's properties as numbers (and `true` for empty ones), for reports. */
export function nodeProperties(node: DtRamoops, spec: RamoopsNodeSpec): Readonly<Record<string, number | true>> {
  const out: Record<string, number | true> = { 'reg.address': spec.address, 'reg.size': spec.size };
  const names: readonly (readonly [keyof RamoopsNodeSpec, string])[] = [
    ['recordSize', 'record-size'],
    ['consoleSize', 'console-size'],
    ['ftraceSize', 'ftrace-size'],
    ['pmsgSize', 'pmsg-size'],
    ['eccSize', 'ecc-size'],
    ['memType', 'mem-type'],
    ['maxReason', 'max-reason'],
    ['flags', 'flags'],
  ];
  for (const [k, name] of names) {
    const v = spec[k];
    if (typeof v === 'number') out[name] = v;
  }
  if (node.noMap) out['no-map'] = true;
  return out;
}

/** The guest kernel's command line on virt: the PL011 console, no memmap (the DT reserves the region). */
export function arm64GuestCmdline(pstoreWords: string, extra: readonly string[], ...keyWords: readonly string[]): string {
  return [
    'console=ttyAMA0',
    // As on x86: serial output is slow under TCG; the panic is printed at EMERG anyway.
    'quiet',
    'loglevel=4',
    // Reboot at once after the panic (PSCI SYSTEM_RESET), which parks QEMU for the capture.
    'panic=-1',
    pstoreWords.trim(),
    ...extra,
    ...keyWords,
  ]
    .filter((w) => w !== '')
    .join(' ');
}

/**
 * The console line of the kernel's early /reserved-memory scan when a node overlaps memory
 * already taken (drivers/of/fdt.c; KERN_ERR, so `quiet loglevel=4` still shows it), e.g.
 * "OF: fdt: Reserved memory: failed to reserve memory for node 'ramoops@48000000': base
 * 0x0000000048000000, size 1 MiB". Group 1 is the node's name.
 */
export const RESERVE_FAILED_LINE = /Reserved memory: failed to reserve memory for node '([^']+)'/;

/**
 * Where QEMU 7.2's -kernel loader puts the initrd in a virt guest (hw/arm/boot.c): RAM base +
 * min(RAM / 2, 128 MiB), `initrdBytes` long. Seen: 0x48000000..0x482e9007 in the guest's
 * /chosen for a 512 MiB guest and a 0x2e9007-byte image.
 */
export function virtInitrdRange(memoryBytes: number, initrdBytes: number): { readonly start: number; readonly end: number } {
  const start = VIRT_RAM_BASE + Math.min(Math.floor(memoryBytes / 2), 128 * 1024 * 1024);
  return { start, end: start + initrdBytes };
}

/**
 * What a run reports when the kernel could not reserve the ramoops node: ramoops then still
 * probes, on memory the kernel frees and hands out (the initrd's, once unpacked) and QEMU
 * rewrites on reset, so records do not survive (seen: an empty region, or an oops in
 * persistent_ram_save_old when pstore is mounted over a header something else overwrote).
 */
export function reservationFailureText(
  kernelLine: string,
  spec: RamoopsNodeSpec,
  initrd: { readonly start: number; readonly end: number } | undefined,
): string {
  const lo = spec.address;
  const hi = spec.address + spec.size;
  const where =
    initrd !== undefined && initrd.start < hi && initrd.end > lo ? `: it overlaps the initrd QEMU loads at ${hex(initrd.start)}..${hex(initrd.end)}` : '';
  const name = RESERVE_FAILED_LINE.exec(kernelLine)?.[1] ?? `ramoops@${lo.toString(16)}`;
  return (
    `the kernel could not reserve ${name} (${hex(spec.size)} bytes at ${hex(lo)})${where}; ` +
    `records there do not survive a reboot. Kernel: "${kernelLine.replace(/^\[[^\]]*\]\s*/, '').trim()}"`
  );
}
