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
import { RunAbortedError, withLifetime } from '../harness/proc/lifetime.js';
import { QemuProcess } from '../harness/qemu/process.js';
import { generateRunKeys } from '../harness/ssh/keys.js';
import { HOSTKEY_LINE, HostKeyPin, SshSession } from '../harness/ssh/session.js';

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

async function main(): Promise<void> {
  const { values } = parseArgs({
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
  });
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

  await withLifetime({ handleSignals: true, timeoutMs: 60 * 60_000 }, async (life) => {
    const kernel = await obtainKernel(values.kernel, { signal: life.signal, log });
    const image = await buildGuestImage(kernel, { log });
    const keys = generateRunKeys();
    const pin = new HostKeyPin();
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
    // One serial log per boot, as the existing fixtures keep them.
    let bootLines: string[] = [];
    qemu.serial.onLine((l) => void bootLines.push(l));

    let since = 0;
    const ready = async (what: string): Promise<SshSession> => {
      const key = await qemu.waitForSerial(HOSTKEY_LINE, { since, timeout: 180_000, signal: life.signal });
      pin.expectFromLine(key.line);
      await qemu.waitForSerial(READY, { since, timeout: 180_000, signal: life.signal });
      const errors = qemu.serial.tail(10_000).filter((l) => GUEST_ERROR.test(l));
      if (errors.length > 0) log(`${what}: guest reported: ${errors.join(' / ')}`);
      log(`${what}: ready`);
      return SshSession.connect({ port: qemu.sshPort ?? 0, privateKey: keys.privateKey, hostKey: pin, signal: life.signal, lifetime: life });
    };
    const session = async (): Promise<SshSession> =>
      SshSession.connect({ port: qemu.sshPort ?? 0, privateKey: keys.privateKey, hostKey: pin, signal: life.signal, lifetime: life });

    let ssh = await ready('boot 1');
    const info = await ssh.exec(INFO_SCRIPT, { timeout: 30_000 });
    const infoLines = info.stdout.toString('utf8').trimEnd().split('\n');
    // The SSH key words are the run's, not the configuration's.
    infoLines[1] = (infoLines[1] ?? '')
      .split(' ')
      .filter((w) => !w.startsWith('rh.key=') && !w.startsWith('rh.hostkey='))
      .join(' ');
    await writeFile(path.join(dir, 'guest-info.txt'), infoLines.join('\n') + '\n');
    log(`guest: ${infoLines[0] ?? '?'}; ${infoLines[1] ?? ''}`);

    for (const cmd of values.before) {
      try {
        const r = await ssh.exec(cmd, { timeout: 120_000 });
        log(`before: ${cmd}: exit ${r.code ?? `signal ${r.signal ?? '?'}`}`);
      } catch (e: unknown) {
        log(`before: ${cmd}: ${e instanceof Error ? e.message : String(e)}`);
      }
      // An oops in the command's context kills its shell and may take the connection along.
      ssh.destroy();
      ssh = await session();
    }

    const mark = qemu.qmp.mark();
    await ssh.start(values.crash);
    await qemu.waitForEvent('GUEST_PANICKED', { since: mark, timeout: 120_000, signal: life.signal });
    try {
      await qemu.waitForEvent('STOP', { since: mark, timeout: 60_000, signal: life.signal });
    } catch (e: unknown) {
      // ramoops wrote the record before the kernel tried to reset: stop the guest and go on.
      if (!(e instanceof HarnessError)) throw e;
      log('no reset after the panic; stopping the guest');
      await qemu.qmp.execute('stop', undefined, { timeout: 5000 });
    }
    ssh.destroy();
    log('crashed; guest parked');
    await writeFile(path.join(dir, 'boot1.log'), bootLines.join('\n') + '\n');
    const region = await qemu.readRam(REGION.address, REGION.size);
    await writeFile(path.join(dir, 'region.bin'), region);

    bootLines = [];
    since = qemu.serial.mark();
    await qemu.qmp.execute('set-action', { reboot: 'reset' }, { timeout: 5000 });
    await qemu.qmp.execute('system_reset', undefined, { timeout: 5000 });
    await qemu.qmp.execute('cont', undefined, { timeout: 5000 });
    ssh = await ready('final boot');
    const files = await ssh.readPstore('/sys/fs/pstore', { timeout: 120_000 });
    await mkdir(path.join(dir, 'expected'));
    const listing: string[] = [];
    for (const f of files) {
      await writeFile(path.join(dir, 'expected', f.name), f.bytes);
      listing.push(`${f.name} ${f.size} ${f.mtime.seconds}`);
      log(`  ${f.name}  ${f.size} bytes (${f.bytes.length} read)`);
    }
    await writeFile(path.join(dir, 'expected', 'LISTING'), listing.join('\n') + '\n');
    await writeFile(path.join(dir, 'final.log'), bootLines.join('\n') + '\n');
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

    // Say at once whether the parser reproduces the guest; the fixture test says it again.
    const config = configFromCmdline(infoLines[1] ?? '', kernel.release);
    const map = hasFtrace && kernel.systemMapPath !== undefined ? parseSystemMap(await readFile(kernel.systemMapPath, 'utf8')) : undefined;
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
    log(`${dir}: ${(await readdir(dir)).join(' ')}; parser ${ok ? 'reproduces the guest' : 'DIFFERS from the guest'}`);
    if (!ok) process.exitCode = 1;
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`capture-fixture: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
  process.exitCode = e instanceof RunAbortedError ? e.exitCode : 2;
});
