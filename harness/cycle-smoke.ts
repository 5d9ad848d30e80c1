#!/usr/bin/env node
// One crash-capture cycle built from the lower layers only (no parser, no compare), to prove
// they fit together and to time each phase:
//   boot -> ready -> SSH -> `echo c > /proc/sysrq-trigger` -> GUEST_PANICKED -> SHUTDOWN+STOP
//   (QEMU paused at the guest's reboot) -> region read from the RAM file (+ pmemsave check)
//   -> set-action reboot=reset, system_reset, cont -> ready -> SSH -> /sys/fs/pstore.
// harness/cycle.ts does the real thing; this stays as the smallest working example.
//
//   node dist/harness/cycle-smoke.js [--kernel debian|debian-6.12|PATH] [--cycles N]
//        [--out DIR] [--accel tcg|kvm] [--temp-parent DIR]

import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildGuestImage } from './guest/image.js';
import { HarnessError } from './errors.js';
import { obtainKernel } from './kernel/obtain.js';
import { RunAbortedError, withLifetime } from './proc/lifetime.js';
import { QemuProcess } from './qemu/process.js';
import { generateRunKeys } from './ssh/keys.js';
import { HOSTKEY_LINE, HostKeyPin, SshSession } from './ssh/session.js';

const REGION = { address: 0x8000000, size: 0x100000 } as const;
const READY = /RAMOOPS-HARNESS-READY/;
const GUEST_ERROR = /RAMOOPS-HARNESS-ERROR.*/;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kernel: { type: 'string', default: 'debian' },
      cycles: { type: 'string', default: '1' },
      out: { type: 'string' },
      accel: { type: 'string', default: 'tcg' },
      'temp-parent': { type: 'string' },
    },
  });
  const accel = values.accel === 'kvm' ? 'kvm' : 'tcg';
  const cycles = Number(values.cycles);
  const out = values.out ?? (await mkdtemp(path.join(os.tmpdir(), 'ramoops-smoke-')));
  await mkdir(out, { recursive: true });
  const log = (s: string): void => void process.stdout.write(`${s}\n`);
  log(`artifacts: ${out}`);

  await withLifetime({ handleSignals: true, timeoutMs: 15 * 60_000 }, async (life) => {
    let t = Date.now();
    const lap = (): string => {
      const now = Date.now();
      const s = ((now - t) / 1000).toFixed(2);
      t = now;
      return `${s} s`;
    };
    const kernel = await obtainKernel(values.kernel, { signal: life.signal, log });
    const image = await buildGuestImage(kernel, { log });
    log(`kernel ${kernel.release}, image ${image}: ${lap()}`);

    const keys = generateRunKeys();
    const pin = new HostKeyPin();
    const append = [
      // quiet loglevel=4: serial output is slow under TCG. panic=-1: reboot at once after the
      // panic; ramoops has written the record by then and QEMU parks at that reboot.
      'console=ttyS0 quiet loglevel=4 panic=-1',
      // Without the reservation the kernel may hand the region out before ramoops probes.
      `memmap=0x${REGION.size.toString(16)}$0x${REGION.address.toString(16)}`,
      `ramoops.mem_address=0x${REGION.address.toString(16)} ramoops.mem_size=0x${REGION.size.toString(16)}`,
      'ramoops.record_size=0x4000',
      keys.cmdlineWord,
    ].join(' ');

    const qemu = await QemuProcess.start({
      accel,
      memoryBytes: 512 * 1024 * 1024,
      kernel: kernel.kernelPath,
      initrd: image,
      append,
      lifetime: life,
      signal: life.signal,
      artifactsDir: out,
      tempParent: values['temp-parent'],
    });
    log(`QEMU pid ${qemu.pid}, ssh on 127.0.0.1:${qemu.sshPort}, qemu start + QMP: ${lap()}`);

    let since = 0;
    const ready = async (what: string): Promise<SshSession> => {
      const key = await qemu.waitForSerial(HOSTKEY_LINE, { since, timeout: 120_000, signal: life.signal });
      pin.expectFromLine(key.line);
      const r = await qemu.waitForSerial(READY, { since, timeout: 120_000, signal: life.signal });
      const errors = qemu.serial.tail(10_000).filter((l) => GUEST_ERROR.test(l));
      if (errors.length > 0) log(`guest reported: ${errors.join(' / ')}`);
      log(`${what}: ready (serial line ${r.index}): ${lap()}`);
      const ssh = await SshSession.connect({
        port: qemu.sshPort ?? 0,
        privateKey: keys.privateKey,
        hostKey: pin,
        signal: life.signal,
        lifetime: life,
      });
      log(`${what}: SSH login: ${lap()}`);
      return ssh;
    };

    let ssh = await ready('boot 1');
    for (let cycle = 1; cycle <= cycles; cycle++) {
      const before = await ssh.exec('ls /sys/fs/pstore', { timeout: 30_000 });
      log(`cycle ${cycle}: /sys/fs/pstore before the crash: [${before.stdout.toString().trim().split(/\s+/).join(', ')}]`);

      const mark = qemu.qmp.mark();
      await ssh.start('echo c > /proc/sysrq-trigger');
      lap();
      const panicked = await qemu.waitForEvent('GUEST_PANICKED', { since: mark, timeout: 60_000, signal: life.signal });
      log(`cycle ${cycle}: GUEST_PANICKED ${JSON.stringify(panicked.data)}: ${lap()}`);
      // The guest's reboot (panic=-1) becomes SHUTDOWN (guest-reset) + STOP: RAM is final now.
      const shutdown = await qemu.waitForEvent('SHUTDOWN', { since: mark, timeout: 60_000, signal: life.signal });
      await qemu.waitForEvent('STOP', { since: mark, timeout: 10_000, signal: life.signal });
      log(`cycle ${cycle}: SHUTDOWN ${JSON.stringify(shutdown.data)} + STOP: ${lap()}`);
      // The guest is dead: no SSH goodbye to wait for.
      ssh.destroy();

      const region = await qemu.readRam(REGION.address, REGION.size);
      const regionFile = path.join(out, `cycle${cycle}-region.bin`);
      await writeFile(regionFile, region);
      const viaQmp = path.join(qemu.tempDir, 'pmemsave.bin');
      await qemu.qmp.execute('pmemsave', { val: REGION.address, size: REGION.size, filename: viaQmp }, { timeout: 30_000 });
      const same = (await readFile(viaQmp)).equals(region);
      const sig = region.readUInt32LE(0).toString(16);
      log(`cycle ${cycle}: region read (${region.length} bytes, first zone signature 0x${sig}, pmemsave ${same ? 'equal' : 'DIFFERENT'}): ${lap()}`);
      if (!same) throw new HarnessError('capture', 'RAM file and pmemsave disagree about the region');

      since = qemu.serial.mark();
      await qemu.qmp.execute('set-action', { reboot: 'reset' }, { timeout: 5000 });
      await qemu.qmp.execute('system_reset', undefined, { timeout: 5000 });
      await qemu.qmp.execute('cont', undefined, { timeout: 5000 });
      ssh = await ready(`cycle ${cycle}: reboot`);
      // The next crash must park QEMU again.
      await qemu.qmp.execute('set-action', { reboot: 'shutdown' }, { timeout: 5000 });
      const files = await ssh.readPstore('/sys/fs/pstore', { timeout: 60_000 });
      log(`cycle ${cycle}: pstore read over SSH: ${lap()}`);
      for (const f of files) {
        log(`  ${f.name}  ${f.size} bytes (${f.bytes.length} read)  mtime ${f.mtime.seconds}.${String(f.mtime.nsec).padStart(9, '0')}`);
        await writeFile(path.join(out, `cycle${cycle}-guest-${f.name}`), f.bytes);
      }
      if (!files.some((f) => f.name === 'dmesg-ramoops-0')) {
        throw new HarnessError('compare', 'no dmesg-ramoops-0 in the guest after the warm reboot');
      }
    }
    await ssh.close();
    await qemu.qmp.quit({ timeout: 5000 });
    await qemu.dispose();
    log('OK');
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`cycle-smoke: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
  process.exitCode = e instanceof RunAbortedError ? e.exitCode : 1;
});
