#!/usr/bin/env node
// Captures a real-kernel fixture folder for test/fixtures/ (layout: test/fixtures/README.md):
// boot a guest with the given ramoops/pstore words, run the scenario commands over SSH, crash
// it, take the region out of the RAM file as the next boot will find it, warm-reboot, and save
// the guest's own /sys/fs/pstore as expected/. test/fixtures.test.ts then holds the parser to
// it. Built from the same lower layers as harness/cycle-smoke.ts.
//
//   node dist/tools/capture-fixture.js --kernel build:debian-6.1:base,pstore-full,lkdtm \
//        --name c61-lzo-full --out test/fixtures \
//        --cmdline 'ramoops.console_size=0x10000 pstore.compress=lzo panic_on_oops=0' \
//        --before 'echo hello > /dev/pmsg0' --before "sh -c 'echo BUG > /sys/kernel/debug/provoke-crash/DIRECT'"
//
// --before commands run in order, each in its own SSH session (a command that oopses kills
// its shell, so the next one needs a new session); their failures are logged, not fatal.
// --cpus N boots with -smp N: the module-parameter path always sets per-CPU ftrace, so the
// kernel keeps one ftrace zone per possible CPU. With ftrace records the final boot's
// /proc/kallsyms `_stext` line goes to reading-kallsyms.txt: the guest's ftrace file is named
// with that (reading) boot's KASLR offset, and the parser needs it to match.

import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { configFromCmdline, extractRegion, parseSystemMap, type KaslrOffset } from '../src/index.js';
import { ANCHOR, offsetFromRunning, runningAnchor } from '../harness/cycle/kaslr.js';
import { HarnessError } from '../harness/errors.js';
import { buildGuestImage } from '../harness/guest/image.js';
import { obtainKernel } from '../harness/kernel/obtain.js';
import { RunAbortedError, withLifetime, type Lifetime } from '../harness/proc/lifetime.js';
import { QemuProcess } from '../harness/qemu/process.js';
import { generateRunKeys } from '../harness/ssh/keys.js';
import { HOSTKEY_LINE, HostKeyPin, SshSession, type PstoreFile } from '../harness/ssh/session.js';

const REGION = { address: 0x8000000, size: 0x100000 } as const;
const READY = /RAMOOPS-HARNESS-READY/;
const GUEST_ERROR = /RAMOOPS-HARNESS-ERROR.*/;
const CRASH = 'echo c > /proc/sysrq-trigger';

// What the guest says about itself for guest-info.txt: line 1 `uname -r`, line 2 the command
// line (without the run's SSH key word), then the module parameters as name=value, then
// cpus.possible=0-N (the guest's possible CPUs).
const INFO_SCRIPT = [
  'uname -r',
  'cat /proc/cmdline',
  'for m in ramoops pstore; do for f in /sys/module/$m/parameters/*; do [ -e "$f" ] && echo "$m.${f##*/}=$(cat "$f")"; done; done',
  // Possible CPUs (e.g. 0-1): the count of per-CPU ftrace zones.
  'echo "cpus.possible=$(cat /sys/devices/system/cpu/possible)"',
].join('; ');

function parseOptions() {
  return parseArgs({
    options: {
      kernel: { type: 'string', default: 'build:debian-6.1:base,pstore-full,lkdtm' },
      name: { type: 'string' },
      out: { type: 'string', default: 'test/fixtures' },
      cmdline: { type: 'string', default: '' },
      before: { type: 'string', multiple: true, default: [] },
      crash: { type: 'string', default: CRASH },
      'record-size': { type: 'string', default: '0x4000' },
      cpus: { type: 'string', default: '1' },
      force: { type: 'boolean', default: false },
    },
  }).values;
}

type Options = ReturnType<typeof parseOptions>;
type Log = (s: string) => void;

/** The running guest and what it takes to log in to it. */
interface Guest {
  readonly qemu: QemuProcess;
  readonly pin: HostKeyPin;
  readonly privateKey: string;
  readonly life: Lifetime;
  readonly log: Log;
}

async function main(): Promise<void> {
  const values = parseOptions();
  if (values.name === undefined || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(values.name)) throw new Error('--name NAME (letters, digits, . _ -) is required');
  const dir = path.resolve(values.out, values.name);
  if (values.force) await rm(dir, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  await mkdir(dir).catch((e: unknown) => {
    throw new Error(`${dir}: ${(e as NodeJS.ErrnoException).code === 'EEXIST' ? 'exists (use --force to replace it)' : String(e)}`);
  });
  const log = (s: string): void => void process.stdout.write(`${s}\n`);
  const cpus = Number(values.cpus);
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 64) throw new Error(`--cpus must be an integer 1..64, got ${values.cpus}`);

  await withLifetime({ handleSignals: true, timeoutMs: 60 * 60_000 }, (life) => capture(life, values, dir, cpus, log));
}

/** Boot, scenario, crash, region, warm reboot, expected/, then the parser's verdict on it. */
async function capture(life: Lifetime, values: Options, dir: string, cpus: number, log: Log): Promise<void> {
  const kernel = await obtainKernel(values.kernel, { signal: life.signal, log });
  const image = await buildGuestImage(kernel, { log });
  const keys = generateRunKeys();
  const words = [
    'console=ttyS0 panic=-1 quiet loglevel=4',
    `memmap=0x${REGION.size.toString(16)}$0x${REGION.address.toString(16)}`,
    `ramoops.mem_address=0x${REGION.address.toString(16)} ramoops.mem_size=0x${REGION.size.toString(16)}`,
    `ramoops.record_size=${values['record-size']}`,
    values.cmdline,
  ].filter((w) => w !== '');
  const qemu = await QemuProcess.start({
    accel: 'tcg',
    memoryBytes: 512 * 1024 * 1024,
    ...(cpus > 1 ? { cpus } : {}),
    kernel: kernel.kernelPath,
    initrd: image,
    append: [...words, keys.cmdlineWord].join(' '),
    lifetime: life,
    signal: life.signal,
  });
  const guest: Guest = { qemu, pin: new HostKeyPin(), privateKey: keys.privateKey, life, log };
  // One serial log per boot, as the existing fixtures keep them.
  const boot = { lines: [] as string[] };
  qemu.serial.onLine((l) => void boot.lines.push(l));

  let ssh = await ready(guest, 'boot 1', 0);
  const infoLines = await saveGuestInfo(ssh, dir, log);
  for (const cmd of values.before) ssh = await runBefore(guest, ssh, cmd);
  await crashAndPark(guest, ssh, values.crash);
  await writeFile(path.join(dir, 'boot1.log'), boot.lines.join('\n') + '\n');
  const region = await qemu.readRam(REGION.address, REGION.size);
  await writeFile(path.join(dir, 'region.bin'), region);

  boot.lines = [];
  const since = qemu.serial.mark();
  await qemu.qmp.execute('set-action', { reboot: 'reset' }, { timeout: 5000 });
  await qemu.qmp.execute('system_reset', undefined, { timeout: 5000 });
  await qemu.qmp.execute('cont', undefined, { timeout: 5000 });
  ssh = await ready(guest, 'final boot', since);
  const files = await saveExpected(ssh, dir, log);
  await writeFile(path.join(dir, 'final.log'), boot.lines.join('\n') + '\n');
  // The reading boot's _stext, as kallsyms lists it (root sees it; kptr_restrict 2 is lowered for the read).
  const hasFtrace = files.some((f) => f.name.startsWith('ftrace-'));
  let readingText: bigint | undefined;
  if (hasFtrace) {
    readingText = await runningAnchor(ssh, { timeout: 60_000 });
    const line = `${readingText.toString(16).padStart(16, '0')} T ${ANCHOR}`;
    await writeFile(path.join(dir, 'reading-kallsyms.txt'), `${line}\n`);
    log(`final boot: /proc/kallsyms ${line}`);
  }
  await ssh.close();
  await qemu.qmp.quit({ timeout: 5000 });
  await qemu.dispose();

  // ftrace text is symbolized by the guest; the host needs the kernel's map to match it.
  if (hasFtrace && kernel.systemMapPath !== undefined) await copyFile(kernel.systemMapPath, path.join(dir, 'System.map'));
  const systemMap = hasFtrace ? kernel.systemMapPath : undefined;
  const ok = await parserReproduces(region, files, infoLines[1] ?? '', kernel.release, systemMap, readingText, log);
  log(`${dir}: ${(await readdir(dir)).join(' ')}; parser ${ok ? 'reproduces the guest' : 'DIFFERS from the guest'}`);
  if (!ok) process.exitCode = 1;
}

/** Waits for the boot's host key and ready lines (serial output after `since`), then logs in. */
async function ready(g: Guest, what: string, since: number): Promise<SshSession> {
  const { qemu, life } = g;
  const key = await qemu.waitForSerial(HOSTKEY_LINE, { since, timeout: 180_000, signal: life.signal });
  g.pin.expectFromLine(key.line);
  await qemu.waitForSerial(READY, { since, timeout: 180_000, signal: life.signal });
  const errors = qemu.serial.tail(10_000).filter((l) => GUEST_ERROR.test(l));
  if (errors.length > 0) g.log(`${what}: guest reported: ${errors.join(' / ')}`);
  g.log(`${what}: ready`);
  return session(g);
}

function session(g: Guest): Promise<SshSession> {
  return SshSession.connect({ port: g.qemu.sshPort ?? 0, privateKey: g.privateKey, hostKey: g.pin, signal: g.life.signal, lifetime: g.life });
}

/** Writes guest-info.txt; returns its lines (line 2: the command line). */
async function saveGuestInfo(ssh: SshSession, dir: string, log: Log): Promise<string[]> {
  const info = await ssh.exec(INFO_SCRIPT, { timeout: 30_000 });
  const infoLines = info.stdout.toString('utf8').trimEnd().split('\n');
  // The SSH key words are the run's, not the configuration's.
  infoLines[1] = (infoLines[1] ?? '')
    .split(' ')
    .filter((w) => !w.startsWith('rh.key=') && !w.startsWith('rh.hostkey='))
    .join(' ');
  await writeFile(path.join(dir, 'guest-info.txt'), infoLines.join('\n') + '\n');
  log(`guest: ${infoLines[0] ?? '?'}; ${infoLines[1] ?? ''}`);
  return infoLines;
}

/** Runs one --before command (its failure logged, not fatal); returns a fresh session. */
async function runBefore(g: Guest, ssh: SshSession, cmd: string): Promise<SshSession> {
  try {
    const r = await ssh.exec(cmd, { timeout: 120_000 });
    g.log(`before: ${cmd}: exit ${r.code ?? `signal ${r.signal ?? '?'}`}`);
  } catch (e: unknown) {
    g.log(`before: ${cmd}: ${e instanceof Error ? e.message : String(e)}`);
  }
  // An oops in the command's context kills its shell and may take the connection along.
  ssh.destroy();
  return session(g);
}

/** Crashes the guest and waits until it stopped (or stops it) with the region as the next boot will find it. */
async function crashAndPark(g: Guest, ssh: SshSession, crash: string): Promise<void> {
  const { qemu, life } = g;
  const mark = qemu.qmp.mark();
  await ssh.start(crash);
  await qemu.waitForEvent('GUEST_PANICKED', { since: mark, timeout: 120_000, signal: life.signal });
  try {
    await qemu.waitForEvent('STOP', { since: mark, timeout: 60_000, signal: life.signal });
  } catch (e: unknown) {
    // ramoops wrote the record before the kernel tried to reset: stop the guest and go on.
    if (!(e instanceof HarnessError)) throw e;
    g.log('no reset after the panic; stopping the guest');
    await qemu.qmp.execute('stop', undefined, { timeout: 5000 });
  }
  ssh.destroy();
  g.log('crashed; guest parked');
}

/** Saves the guest's /sys/fs/pstore as expected/ with its LISTING. */
async function saveExpected(ssh: SshSession, dir: string, log: Log): Promise<PstoreFile[]> {
  const files = await ssh.readPstore('/sys/fs/pstore', { timeout: 120_000 });
  await mkdir(path.join(dir, 'expected'));
  const listing: string[] = [];
  for (const f of files) {
    await writeFile(path.join(dir, 'expected', f.name), f.bytes);
    listing.push(`${f.name} ${f.size} ${f.mtime.seconds}`);
    log(`  ${f.name}  ${f.size} bytes (${f.bytes.length} read)`);
  }
  await writeFile(path.join(dir, 'expected', 'LISTING'), listing.join('\n') + '\n');
  return files;
}

/** Says at once whether the parser reproduces the guest's files; the fixture test says it again. */
async function parserReproduces(
  region: Uint8Array,
  files: readonly PstoreFile[],
  cmdline: string,
  release: string,
  systemMapPath: string | undefined,
  readingText: bigint | undefined,
  log: Log,
): Promise<boolean> {
  const config = configFromCmdline(cmdline, release);
  const map = systemMapPath !== undefined ? parseSystemMap(await readFile(systemMapPath, 'utf8')) : undefined;
  const kaslrOffset: KaslrOffset | undefined = map !== undefined && readingText !== undefined ? offsetFromRunning(readingText, map) : undefined;
  if (kaslrOffset !== undefined) log(`reading boot's KASLR offset 0x${kaslrOffset.value.toString(16)} (${kaslrOffset.source})`);
  const x = extractRegion(new Uint8Array(region), config, {
    ...(map === undefined ? {} : { symbols: map }),
    ...(kaslrOffset === undefined ? {} : { kaslrOffset }),
  });
  for (const d of x.decisions) log(`  host: ${d}`);
  for (const w of x.warnings) log(`  host warning: ${w.message}`);
  let ok = true;
  for (const f of files) {
    const h = x.files.find((hf) => hf.name === f.name);
    const same = h !== undefined && Buffer.from(h.bytes).equals(f.bytes);
    ok &&= same;
    log(
      `  host ${same ? 'matches' : 'DIFFERS'}: ${f.name}${h?.compression === undefined ? '' : ` (${h.compression.algorithm}${h.compression.ok ? '' : `: ${h.compression.error ?? ''}`})`}`,
    );
  }
  for (const h of x.files) {
    if (files.some((f) => f.name === h.name)) continue;
    ok = false;
    log(`  host has an extra file ${h.name}`);
  }
  return ok;
}

main().catch((e: unknown) => {
  process.stderr.write(`capture-fixture: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
  process.exitCode = e instanceof RunAbortedError ? e.exitCode : 2;
});
