#!/usr/bin/env node
// Turns the artifacts of a `ramoops run` into a test/fixtures/ folder (layout:
// test/fixtures/README.md): the cycle's region as the next boot found it, the guest's own
// /sys/fs/pstore (bytes from cycleN-guest/, stat size and mtime from report.json), the serial
// log, and for arm64 runs the DTB the guest booted (guest.dtb) with the configuration the
// kernel read from it (config.json, for `ramoops extract --config`). capture-fixture.ts does
// the same for x86 guests configured by ramoops.* words; arm64 guests take ramoops from the
// device tree, which only `ramoops run --arch arm64` writes.
//
//   node dist/tools/fixture-from-run.js --run out/arm64-run --name a61-dt-percpu-ftrace \
//        --system-map ~/.cache/ramoops-harness/kernel-builds/6.1.192-arm64-.../System.map

import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildConfig, extractRegion, parseKernelVersion, parseSystemMap, type ConfigSettings } from '../src/index.js';
import { ramoopsNodeFromDt } from '../src/config/from-dt.js';
import { readFdt } from '../src/dt/fdt.js';
import type { RunReport } from '../harness/report/run-report.js';

/** ConfigSettings -> the JSON names settingsFromJson reads (the kernel's parameter names). */
export function settingsJson(s: ConfigSettings): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  const hex = (v: number): string => `0x${v.toString(16)}`;
  if (s.memAddress !== undefined) out['mem_address'] = hex(s.memAddress);
  if (s.memSize !== undefined) out['mem_size'] = hex(s.memSize);
  // DT rule: a size the node leaves out is 0 (JSON's default would be the module's 4096).
  out['record_size'] = hex(s.recordSize ?? 0);
  out['console_size'] = hex(s.consoleSize ?? 0);
  out['ftrace_size'] = hex(s.ftraceSize ?? 0);
  out['pmsg_size'] = hex(s.pmsgSize ?? 0);
  out['ecc'] = s.ecc ?? 0;
  if (s.memType !== undefined) out['mem_type'] = s.memType;
  if (s.maxReason !== undefined) out['max_reason'] = s.maxReason;
  out['ftracePerCpu'] = s.ftracePerCpu ?? false;
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      run: { type: 'string' },
      name: { type: 'string' },
      out: { type: 'string', default: 'test/fixtures' },
      cycle: { type: 'string', default: '1' },
      'system-map': { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  });
  if (values.run === undefined) throw new Error('--run DIR (the --out of a ramoops run) is required');
  if (values.name === undefined || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(values.name)) throw new Error('--name NAME (letters, digits, . _ -) is required');
  const run = path.resolve(values.run);
  const n = Number(values.cycle);
  const report = JSON.parse(await readFile(path.join(run, 'report.json'), 'utf8')) as RunReport;
  const cycle = report.cycles.find((c) => c.cycle === n);
  if (cycle === undefined) throw new Error(`${run}/report.json has no cycle ${n}`);
  const release = report.kernel.release;
  if (release === undefined) throw new Error('report.json names no kernel release');

  const dir = path.resolve(values.out, values.name);
  if (values.force) await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: false }).catch((e: unknown) => {
    throw new Error(`${dir}: ${(e as NodeJS.ErrnoException).code === 'EEXIST' ? 'exists (use --force to replace it)' : String(e)}`);
  });
  const log = (s: string): void => void process.stdout.write(`${s}\n`);

  const region = new Uint8Array(await readFile(path.join(run, `cycle${n}-region.bin`)));
  await writeFile(path.join(dir, 'region.bin'), region);
  await copyFile(path.join(run, 'serial.log'), path.join(dir, 'serial.log'));
  const cpus = report.qemu.cpus ?? 1;
  const info = [release, report.cmdline.replace(/\s*rh\.(?:host)?key=(?:<run (?:host )?key>|\S+)/g, ''), `cpus.possible=${cpus > 1 ? `0-${cpus - 1}` : '0'}`];
  await writeFile(path.join(dir, 'guest-info.txt'), info.join('\n') + '\n');

  let settings: ConfigSettings;
  const dtbPath = path.join(run, 'guest.dtb');
  const dtb = new Uint8Array(await readFile(dtbPath).catch(() => Buffer.alloc(0)));
  if (dtb.length === 0)
    throw new Error(`${run} has no guest.dtb: only arm64 runs (ramoops from the device tree) are taken; x86 captures come from capture-fixture.ts`);
  await writeFile(path.join(dir, 'guest.dtb'), dtb);
  settings = ramoopsNodeFromDt(readFdt(dtb), parseKernelVersion(release)).settings;
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(settingsJson(settings), null, 2) + '\n');

  await mkdir(path.join(dir, 'expected'));
  const listing: string[] = [];
  for (const f of cycle.guest.files) {
    await copyFile(path.join(run, `cycle${n}-guest`, f.name), path.join(dir, 'expected', f.name));
    listing.push(`${f.name} ${f.size} ${f.mtime}`);
  }
  await writeFile(path.join(dir, 'expected', 'LISTING'), listing.join('\n') + '\n');
  const hasFtrace = cycle.guest.files.some((f) => f.name.startsWith('ftrace-'));
  if (hasFtrace && values['system-map'] !== undefined) await copyFile(values['system-map'], path.join(dir, 'System.map'));

  // Say at once whether the parser reproduces the guest; the fixture test says it again.
  settings = { ...settings, kernelVersion: release };
  const config = buildConfig(settings, 'dt').config;
  const symbols = hasFtrace && values['system-map'] !== undefined ? { symbols: parseSystemMap(await readFile(values['system-map'], 'utf8')) } : {};
  const x = extractRegion(region, config, symbols);
  for (const d of x.decisions) log(`  host: ${d}`);
  for (const w of x.warnings) log(`  host warning: ${w.message}`);
  let ok = x.files.length === cycle.guest.files.length;
  for (const f of cycle.guest.files) {
    const h = x.files.find((hf) => hf.name === f.name);
    const guest = await readFile(path.join(dir, 'expected', f.name));
    const same = h !== undefined && Buffer.from(h.bytes).equals(guest) && h.size === f.size;
    ok &&= same;
    log(`  host ${same ? 'matches' : 'DIFFERS'}: ${f.name} (${f.size} bytes listed, ${guest.length} read)`);
  }
  log(`${dir}: ${(await readdir(dir)).join(' ')}; parser ${ok ? 'reproduces the guest' : 'DIFFERS from the guest'}`);
  if (!ok) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`fixture-from-run: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
});
