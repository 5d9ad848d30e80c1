// A booted Debian-kernel guest with ramoops for integration tests: SSH on a 127.0.0.1
// forward with a per-run key and the guest's announced host key, plus crash() and
// warmReboot() driven through QMP the way harness/cycle.ts does it (the guest's reboot after
// the panic parks QEMU; set-action reboot=reset + system_reset + cont is a reboot that keeps
// RAM, so ramoops finds its records).
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildGuestImage } from '../../harness/guest/image.js';
import { obtainKernel } from '../../harness/kernel/obtain.js';
import type { KernelArtifacts } from '../../harness/kernel/artifacts.js';
import { Lifetime } from '../../harness/proc/lifetime.js';
import { chooseBootPath } from '../../harness/kernel/boot-path.js';
import { QemuProcess } from '../../harness/qemu/process.js';
import { generateRunKeys } from '../../harness/ssh/keys.js';
import { HOSTKEY_LINE, HostKeyPin, SshSession } from '../../harness/ssh/session.js';

/** The ramoops region every test guest uses (mid-RAM, reserved with memmap=). */
export const GUEST_REGION = { address: 0x8000000, size: 0x100000, recordSize: 0x4000 } as const;

/** The ramoops words of the guest's command line. */
export const GUEST_RAMOOPS_CMDLINE = `ramoops.mem_address=0x${GUEST_REGION.address.toString(16)} ramoops.mem_size=0x${GUEST_REGION.size.toString(16)} ramoops.record_size=0x${GUEST_REGION.recordSize.toString(16)}`;

const READY = /RAMOOPS-HARNESS-READY/;

/** A running guest. */
export interface TestGuest {
  readonly kernel: KernelArtifacts;
  readonly sshPort: number;
  /** OpenSSH private key text of the run. */
  readonly privateKey: string;
  /** The same key in a file (mode 0600), for the CLI's --key. */
  readonly privateKeyPath: string;
  /** The current boot's host key (base64 blob); changes at every boot. */
  hostKey(): string;
  /** Logs in (root) with the run's key and the current boot's host key. */
  connect(): Promise<SshSession>;
  /** Crashes the guest with SysRq-c and waits until QEMU has parked it at its reboot. */
  crash(): Promise<void>;
  /** Reboots keeping RAM (from a crash or a running guest) and waits for READY; returns the new host key. */
  warmReboot(): Promise<string>;
  /** Guest-physical RAM straight from QEMU's RAM file. */
  readRam(address: number, length: number): Promise<Buffer>;
  /** Stops QEMU and removes its files. */
  dispose(): Promise<void>;
}

/** Options of bootGuest. */
export interface BootGuestOptions {
  /** Where the serial log and the key file go. */
  readonly artifactsDir: string;
  readonly log?: (line: string) => void;
  /** 'tcg' (default) or 'kvm'. */
  readonly accel?: 'tcg' | 'kvm';
}

/** Boots Debian's stock 6.1 kernel with our initramfs and ramoops; resolves once SSH is up. */
export async function bootGuest(options: BootGuestOptions): Promise<TestGuest> {
  const life = new Lifetime();
  try {
    const kernel = await obtainKernel('debian', { signal: life.signal, ...(options.log === undefined ? {} : { log: options.log }) });
    const image = await buildGuestImage(kernel, options.log === undefined ? {} : { log: options.log });
    const keys = generateRunKeys();
    const privateKeyPath = path.join(options.artifactsDir, 'run-key');
    writeFileSync(privateKeyPath, keys.privateKey, { mode: 0o600 });
    const pin = new HostKeyPin();
    const append = [
      // quiet loglevel=4: serial output is slow under TCG. panic=-1: reboot at once after the panic.
      'console=ttyS0 quiet loglevel=4 panic=-1 no_timer_check',
      // Without the reservation the kernel may hand the region out before ramoops probes.
      `memmap=0x${GUEST_REGION.size.toString(16)}$0x${GUEST_REGION.address.toString(16)}`,
      GUEST_RAMOOPS_CMDLINE,
      keys.cmdlineWord,
    ].join(' ');
    // The path `ramoops run` takes: PVH + qboot when the kernel has the entry.
    const boot = await chooseBootPath(kernel.kernelPath, 'x86_64', options.log === undefined ? {} : { log: options.log });
    const qemu = await QemuProcess.start({
      accel: options.accel ?? 'tcg',
      memoryBytes: 512 * 1024 * 1024,
      kernel: boot.kernel,
      firmware: boot.firmware,
      initrd: image,
      append,
      lifetime: life,
      signal: life.signal,
      artifactsDir: options.artifactsDir,
    });
    const port = qemu.sshPort;
    if (port === undefined) throw new Error('QEMU has no SSH forward');

    const waitReady = async (since: number): Promise<string> => {
      await qemu.waitForSerial(READY, { since, timeout: 180_000, signal: life.signal });
      // init prints the host key before READY, so it is among the lines read already.
      const key = await qemu.serial.waitFor(HOSTKEY_LINE, { since, timeout: 1 });
      if (!pin.expectFromLine(key.line) || pin.pinned === undefined) throw new Error(`no host key in ${key.line}`);
      return pin.pinned;
    };
    await waitReady(0);

    const connect = (): Promise<SshSession> =>
      qemu.guard(SshSession.connect({ port, privateKey: keys.privateKey, hostKey: pin, timeout: 60_000, signal: life.signal, lifetime: life }), 'SSH login');

    return {
      kernel,
      sshPort: port,
      privateKey: keys.privateKey,
      privateKeyPath,
      hostKey: () => pin.pinned ?? '',
      connect,
      async crash() {
        const ssh = await connect();
        const mark = qemu.qmp.mark();
        await ssh.start('echo c > /proc/sysrq-trigger');
        await qemu.waitForEvent('GUEST_PANICKED', { since: mark, timeout: 60_000, signal: life.signal });
        // The guest's reboot (panic=-1) becomes SHUTDOWN + STOP: ramoops' record is in RAM.
        await qemu.waitForEvent('SHUTDOWN', { since: mark, timeout: 60_000, signal: life.signal });
        await qemu.waitForEvent('STOP', { since: mark, timeout: 10_000, signal: life.signal });
        ssh.destroy();
      },
      async warmReboot() {
        const since = qemu.serial.mark();
        // The reset action must be in place before system_reset, or QEMU parks again.
        await qemu.qmp.execute('set-action', { reboot: 'reset' }, { timeout: 5000 });
        await qemu.qmp.execute('system_reset', undefined, { timeout: 5000 });
        await qemu.qmp.execute('cont', undefined, { timeout: 5000 });
        const key = await waitReady(since);
        // The next crash must park QEMU again.
        await qemu.qmp.execute('set-action', { reboot: 'shutdown' }, { timeout: 5000 });
        return key;
      },
      readRam: (address, length) => qemu.readRam(address, length),
      async dispose() {
        await qemu.qmp.quit({ timeout: 5000 }).catch(() => {});
        await life.close();
      },
    };
  } catch (e) {
    await life.close();
    throw e;
  }
}

/** True when this machine can boot test guests (QEMU, busybox, dropbear) and the tests are not switched off. */
export function canBootGuests(): boolean {
  if (process.env['RAMOOPS_SKIP_INTEGRATION'] === '1') return false;
  const onPath = (cmd: string): boolean => (process.env['PATH'] ?? '').split(':').some((d) => d !== '' && existsSync(path.join(d, cmd)));
  return onPath('qemu-system-x86_64') && existsSync('/bin/busybox') && existsSync('/usr/sbin/dropbear');
}
