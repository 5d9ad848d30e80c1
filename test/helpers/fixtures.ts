// Real-kernel captures: region.bin, guest-info.txt and expected/ (the guest's /sys/fs/pstore).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfig, configFromCmdline, parseSystemMap, symbolAddress, type ExtractOptions, type RamoopsConfig } from '../../src/index.js';
import { ramoopsNodeFromDt } from '../../src/config/from-dt.js';
import { readFdt } from '../../src/dt/fdt.js';
import { parseKernelVersion } from '../../src/kernel/version.js';
import { fixturesDir } from './paths.js';

export interface ExpectedFile {
  readonly name: string;
  readonly size: number;
  readonly mtime: number;
  readonly bytes: Uint8Array;
}

export interface Fixture {
  readonly name: string;
  readonly dir: string;
  readonly release: string;
  readonly cmdline: string;
  readonly memAddress: string;
  readonly region: Uint8Array;
  readonly systemMap: string | undefined;
  readonly expected: readonly ExpectedFile[];
  /** Possible CPUs of the guest (guest-info `cpus.possible=0-N`; 1 when not recorded): per-CPU ftrace zones. */
  readonly cpus: number;
  /** 'dt': ramoops came from guest.dtb's node (arm64), not from ramoops.* words. */
  readonly configSource: 'cmdline' | 'dt';
  /** The DT fixture's guest.dtb. */
  readonly dtb: Uint8Array | undefined;
  /** The reading (final) boot's KASLR offset: reading-kallsyms.txt's `_stext` (or `_text`) minus System.map's. */
  readonly readingOffset: bigint | undefined;
}

/** The configuration the guest ran with, with or without its kernel version. */
export function fixtureConfig(fx: Fixture, withVersion = true): RamoopsConfig {
  if (fx.configSource === 'cmdline' || fx.dtb === undefined) return configFromCmdline(fx.cmdline, withVersion ? fx.release : undefined);
  const dt = ramoopsNodeFromDt(readFdt(fx.dtb), parseKernelVersion(fx.release));
  return buildConfig({ ...dt.settings, ...(withVersion ? { kernelVersion: fx.release } : {}) }, 'dt').config;
}

/** The same configuration as `ramoops extract` flags: --cmdline, or --config with the fixture's config.json (DT fixtures). */
export function fixtureConfigArgs(fx: Fixture): string[] {
  return fx.configSource === 'dt' ? ['--config', join(fx.dir, 'config.json')] : ['--cmdline', fx.cmdline];
}

/** Symbols as the guest's reading boot named its ftrace records (System.map shifted by that boot's offset). */
export function fixtureSymbols(fx: Fixture): ExtractOptions {
  if (fx.systemMap === undefined) return {};
  const symbols = parseSystemMap(fx.systemMap);
  return fx.readingOffset === undefined
    ? { symbols }
    : { symbols, kaslrOffset: { value: fx.readingOffset, source: "the final boot's /proc/kallsyms _text (reading-kallsyms.txt)" } };
}

/** The extract CLI flags for fixtureSymbols. */
export function fixtureSymbolArgs(fx: Fixture): string[] {
  if (fx.systemMap === undefined) return [];
  return ['--system-map', join(fx.dir, 'System.map'), ...(fx.readingOffset === undefined ? [] : ['--kaslr-offset', `0x${fx.readingOffset.toString(16)}`])];
}

/** Every capture folder with a region.bin; a new folder needs no code change. */
export function loadFixtures(): Fixture[] {
  const root = fixturesDir();
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'region.bin')))
    .map((d) => loadFixture(d.name));
}

export function loadFixture(name: string): Fixture {
  const dir = join(fixturesDir(), name);
  const info = readFileSync(join(dir, 'guest-info.txt'), 'utf8').split('\n');
  const cmdline = info[1] ?? '';
  const expected = readFileSync(join(dir, 'expected', 'LISTING'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [n, size, mtime] = l.trim().split(/\s+/);
      const fname = n ?? '';
      return { name: fname, size: Number(size), mtime: Number(mtime), bytes: new Uint8Array(readFileSync(join(dir, 'expected', fname))) };
    });
  const map = join(dir, 'System.map');
  const systemMap = existsSync(map) ? readFileSync(map, 'utf8') : undefined;
  const possible = info.map((l) => /^cpus\.possible=(?:\d+-)?(\d+)\s*$/.exec(l)?.[1]).find((v) => v !== undefined);
  const dtbPath = join(dir, 'guest.dtb');
  const dtb = existsSync(dtbPath) && existsSync(join(dir, 'config.json')) ? new Uint8Array(readFileSync(dtbPath)) : undefined;
  const reading = join(dir, 'reading-kallsyms.txt');
  let readingOffset: bigint | undefined;
  if (existsSync(reading) && systemMap !== undefined) {
    // `_stext` (what harness/kaslr.ts reads) or `_text` (x86, the same address): minus System.map's.
    const m = /^([0-9a-f]+)\s+T\s+(_s?text)\s*$/m.exec(readFileSync(reading, 'utf8'));
    const linked = m?.[2] === undefined ? undefined : symbolAddress(parseSystemMap(systemMap), m[2]);
    if (m?.[1] !== undefined && linked !== undefined) readingOffset = BigInt('0x' + m[1]) - linked;
  }
  const fx0 = { dir, release: (info[0] ?? '').trim(), cmdline, dtb, configSource: dtb === undefined ? ('cmdline' as const) : ('dt' as const) };
  const addr =
    dtb === undefined
      ? (/ramoops\.mem_address=(\S+)/.exec(cmdline)?.[1] ?? '0')
      : `0x${fixtureConfig({ ...fx0, name, memAddress: '0', region: new Uint8Array(0), systemMap, expected: [], cpus: 1, readingOffset }).memAddress.toString(16)}`;
  return {
    name,
    dir,
    release: (info[0] ?? '').trim(),
    cmdline,
    memAddress: addr,
    region: new Uint8Array(readFileSync(join(dir, 'region.bin'))),
    systemMap,
    expected,
    cpus: possible === undefined ? 1 : Number(possible) + 1,
    configSource: fx0.configSource,
    dtb,
    readingOffset,
  };
}
