// capture: the region read from the RAM file (cross-checked once against QMP pmemsave),
// optionally corrupted on purpose, and parsed with src/ for the booted kernel's release.

import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { extractRegion, parseSystemMap, type Extraction, type Layout, type SymbolTable } from '../../../src/index.js';
import { HarnessError } from '../../errors.js';
import { writeConfined } from '../../io/artifacts.js';
import type { QemuProcess } from '../../qemu/process.js';
import type { CorruptedByte, CycleReport } from '../../report/run-report.js';
import type { RunContext } from '../context.js';
import { writeHostFiles } from '../files.js';
import type { CorruptSpec } from '../options.js';
import type { Guest } from './boot.js';
import type { Prepared } from './setup.js';

/** struct persistent_ram_buffer's header (sig, start, size) before a zone's data. */
const ZONE_HEADER = 12;

/** The region as the guest left it, and the host's reading of it. */
export interface Captured {
  readonly region: Buffer;
  readonly pmemsave: CycleReport['pmemsave'];
  readonly corrupted: readonly CorruptedByte[];
  readonly extraction: Extraction;
  /** The kernel's symbols, when a record needs them (ftrace). */
  readonly symbols: SymbolTable | undefined;
}

export async function capture(ctx: RunContext, guest: Guest, prepared: Prepared, n: number): Promise<{ readonly value: Captured; readonly detail: string }> {
  const { qemu } = guest;
  const { config } = prepared;
  const out = ctx.plan.out;
  let region = await qemu.readRam(config.memAddress, config.memSize);
  // Once per run: the RAM map (machines.ts) against QEMU's own view of guest memory.
  const pmemsave = n === 1 ? await crossCheck(qemu, config.memAddress, config.memSize, region) : 'not-checked';
  let corrupted: readonly CorruptedByte[] = [];
  const spec = ctx.plan.options.corrupt;
  if (spec !== undefined) {
    writeConfined(out, `cycle${n}-region-before-corruption.bin`, region);
    corrupted = await corruptRam(qemu, extractRegion(region, config).layout, spec);
    // Both sides must judge the same bytes: the guest boots on them, the host reads them back.
    region = await qemu.readRam(config.memAddress, config.memSize);
  }
  writeConfined(out, `cycle${n}-region.bin`, region);
  let extraction = extractRegion(region, config);
  const symbols = await symbolsFor(prepared, extraction);
  if (symbols !== undefined) extraction = extractRegion(region, config, { symbols });
  writeHostFiles(path.join(out, `cycle${n}-host`), extraction.files);
  return { value: { region, pmemsave, corrupted, extraction, symbols }, detail: `${extraction.files.length} file(s) parsed` };
}

async function crossCheck(qemu: QemuProcess, address: number, size: number, region: Buffer): Promise<'equal'> {
  const viaQmp = path.join(qemu.tempDir, 'pmemsave.bin');
  // Guarded like every QMP command of the cycle: QEMU dying here is QEMU's fault, not a QMP one.
  await qemu.guard(qemu.qmp.execute('pmemsave', { val: address, size, filename: viaQmp }, { timeout: 30_000 }), 'pmemsave');
  if (!(await readFile(viaQmp)).equals(region)) {
    throw new HarnessError('capture', `the RAM file and pmemsave disagree about the region at 0x${address.toString(16)}`);
  }
  return 'equal';
}

const symbolCache = new WeakMap<Prepared, SymbolTable>();

/** Only ftrace records need names; reading System.map costs a second otherwise wasted. */
async function symbolsFor(prepared: Prepared, x: Extraction): Promise<SymbolTable | undefined> {
  const map = prepared.kernel.systemMapPath;
  if (!x.files.some((f) => f.type === 'ftrace') || map === undefined) return undefined;
  const cached = symbolCache.get(prepared);
  if (cached !== undefined) return cached;
  const table = parseSystemMap(await readFile(map, 'utf8'));
  symbolCache.set(prepared, table);
  return table;
}

/** XORs bytes of dmesg zone 0's data in the RAM file (QEMU is paused); returns what changed. */
async function corruptRam(qemu: QemuProcess, layout: Layout, spec: CorruptSpec): Promise<readonly CorruptedByte[]> {
  const zone = layout.zones.find((z) => z.kind === 'dmesg' && z.index === 0);
  if (zone === undefined) throw new HarnessError('capture', 'cannot corrupt dmesg zone 0: the layout has no dmesg zones');
  const xor = spec.xor ?? 0x5a;
  if (!Number.isInteger(xor) || xor < 1 || xor > 0xff) throw new HarnessError('capture', `corruption mask must be 1..255, got ${xor}`);
  const fh = await open(qemu.ramFile, 'r+');
  const changed: CorruptedByte[] = [];
  try {
    const one = Buffer.alloc(1);
    for (const off of spec.dataOffsets) {
      if (!Number.isInteger(off) || off < 0 || off >= zone.geometry.capacity) {
        throw new HarnessError('capture', `corruption offset ${off} is outside dmesg zone 0's ${zone.geometry.capacity} data bytes`);
      }
      const address = zone.address + ZONE_HEADER + off;
      const at = qemu.fileOffset(address, 1);
      await fh.read(one, 0, 1, at);
      const before = one[0] ?? 0;
      one[0] = before ^ xor;
      await fh.write(one, 0, 1, at);
      changed.push({ address, before, after: before ^ xor });
    }
  } finally {
    await fh.close();
  }
  return changed;
}
