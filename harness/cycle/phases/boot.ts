// boot: QEMU with guest RAM in a file and the ramoops region reserved -> serial READY (the
// guest's host key pinned before boot, or its announced one) -> SSH login. The same readiness
// check ends every warm reboot.

import { stat } from 'node:fs/promises';
import { HarnessError } from '../../errors.js';
import type { Lifetime } from '../../proc/lifetime.js';
import { QemuProcess, type QemuStartOptions } from '../../qemu/process.js';
import type { LineMark } from '../../qemu/serial.js';
import { RESERVE_FAILED_LINE, reservationFailureText, VIRT_CPU, virtInitrdRange } from '../../qemu/virt-arm64.js';
import type { EventMark } from '../../qmp/client.js';
import { HOSTKEY_LINE, SshSession } from '../../ssh/session.js';
import { sleep } from '../clock.js';
import { QEMU_CMDLINE_FILE, saveCommandLine, shellLine } from '../command-lines.js';
import type { RunContext } from '../context.js';
import type { RunPlan } from '../plan.js';
import { SHARE_TAG } from '../selftests.js';
import type { Prepared } from './setup.js';

/** The serial line guest/init prints when SSH is up: the end of a boot. */
export const READY_LINE = /RAMOOPS-HARNESS-READY/;
const GUEST_ERROR_LINE = /RAMOOPS-HARNESS-ERROR.*/;
const EXCERPT_LINES = 25;

/** A booted guest: its QEMU, how to know it is up again after a reset, and how to log in. */
export class Guest {
  /** The current login; replaced after every reboot, destroyed by every crash. */
  ssh: SshSession | undefined;
  /** RAMOOPS-HARNESS-ERROR lines since the last readiness check. */
  private readonly bootErrors: string[] = [];
  /** Where the guest's error lines are reported: the run's state (each cell's, in a chain). */
  errorSink: string[];

  constructor(
    readonly qemu: QemuProcess,
    private readonly plan: RunPlan,
    private readonly prepared: Prepared,
    private readonly life: Lifetime,
    private readonly initrdBytes: number,
    guestErrors: string[],
  ) {
    this.errorSink = guestErrors;
    qemu.serial.onLine((line) => {
      const m = GUEST_ERROR_LINE.exec(line);
      if (m === null) return;
      this.errorSink.push(m[0]);
      this.bootErrors.push(m[0]);
    });
  }

  /** Waits for READY after `since`; a guest that cannot set up pstore is a boot fault. */
  async ready(since: LineMark, qmark: EventMark): Promise<void> {
    const bootFault = await this.waitReadyOrRefusal(since, qmark);
    if (this.plan.node !== undefined) {
      // A DT region the kernel could not reserve still probes, then loses its records (or
      // oopses the guest): name that cause before whatever followed from it.
      const refused = await this.qemu.serial.waitFor(RESERVE_FAILED_LINE, { since, timeout: 1, stage: 'boot' }).catch(() => undefined);
      if (refused !== undefined) {
        const initrd = virtInitrdRange(this.plan.memoryBytes, this.initrdBytes);
        throw new HarnessError('boot', reservationFailureText(refused.line, this.plan.node, initrd), { cause: bootFault });
      }
    }
    if (bootFault !== undefined) throw bootFault;
    // A guest without ramoops or pstore cannot show anything: say so instead of "missing".
    // Matched after the line's own RAMOOPS-HARNESS-ERROR prefix, which names ramoops too.
    const fatal = this.bootErrors.filter((l) => /ramoops|pstore/i.test(l.replace(/^RAMOOPS-HARNESS-ERROR\s*/, '')));
    this.bootErrors.length = 0;
    if (fatal.length > 0) throw new HarnessError('boot', `the guest could not set up pstore: ${fatal.join(' / ')}`);
  }

  /** Logs in with the run's key, accepting only the pinned host key (handed to the guest, or announced by it). */
  async login(): Promise<SshSession> {
    const port = this.qemu.sshPort;
    if (port === undefined) throw new HarnessError('ssh', 'QEMU has no SSH port forward');
    const { keys, pin } = this.prepared;
    const connecting = SshSession.connect({
      port,
      privateKey: keys.privateKey,
      hostKey: pin,
      timeout: this.plan.timeouts.ssh,
      signal: this.life.signal,
      lifetime: this.life,
    });
    this.ssh = await this.qemu.guard(connecting, 'an SSH login');
    return this.ssh;
  }

  /** The login a phase needs; a phase that runs without one is a bug of the pipeline. */
  session(): SshSession {
    if (this.ssh === undefined) throw new HarnessError('ssh', 'no SSH session to the guest');
    return this.ssh;
  }

  /**
   * READY or a fault. arm64: once the kernel has refused the node, READY gets 20 s, not the boot
   * timeout: the guest can hang in ramoops after that (seen: an oops in modprobe's module_enable_ro).
   */
  private async waitReadyOrRefusal(since: LineMark, qmark: EventMark): Promise<HarnessError | undefined> {
    const stop = new AbortController();
    const sig = AbortSignal.any([this.life.signal, stop.signal]);
    const refusedEarly =
      this.plan.node === undefined
        ? undefined
        : this.qemu.serial.waitFor(RESERVE_FAILED_LINE, { since, signal: sig }).then(
            () => sleep(20_000),
            () => new Promise<void>(() => {}),
          );
    try {
      const r = waitReady(this.qemu, this.prepared, since, qmark, this.plan.timeouts.boot, sig);
      r.catch(() => {});
      await (refusedEarly === undefined ? r : Promise.race([r, refusedEarly]));
      return undefined;
    } catch (e) {
      if (!(e instanceof HarnessError)) throw e;
      return e;
    } finally {
      stop.abort();
    }
  }
}

/** What QEMU's options are made of: the prepared boot, or (`--dry-run`) its description. */
export type BootInputs = Pick<Prepared, 'bootPath' | 'image' | 'append' | 'dtb' | 'shareDir'>;

/** QEMU's options for a run's guest, without the run's lifetime: the same for a boot and for `--dry-run`. */
export function qemuStartOptions(plan: RunPlan, prepared: BootInputs): QemuStartOptions {
  return {
    machine: plan.machine,
    accel: plan.accel,
    memoryBytes: plan.memoryBytes,
    ...(plan.cpus > 1 ? { cpus: plan.cpus } : {}),
    ...(plan.arch === 'arm64' ? { cpu: VIRT_CPU, dtb: prepared.dtb } : {}),
    kernel: prepared.bootPath.kernel,
    firmware: prepared.bootPath.firmware,
    initrd: prepared.image,
    append: prepared.append,
    ...(prepared.shareDir === undefined ? {} : { share: { path: prepared.shareDir, tag: SHARE_TAG } }),
    artifactsDir: plan.options.qemuLogDir ?? plan.out,
    tempParent: plan.options.tempParent,
  };
}

/** Starts QEMU (its command line saved first, even if it fails at once) and waits for the first READY. */
export async function boot(ctx: RunContext, prepared: Prepared): Promise<{ readonly value: Guest }> {
  const { plan, life, state } = ctx;
  const qemu = await QemuProcess.start({
    ...qemuStartOptions(plan, prepared),
    lifetime: life,
    signal: life.signal,
    onCommandLine: (argv) => {
      const line = saveCommandLine(plan.out, QEMU_CMDLINE_FILE, shellLine(argv));
      plan.options.onCommandLine?.('qemu', line);
    },
  });
  state.qemu = qemu;
  const guest = new Guest(qemu, plan, prepared, life, (await stat(prepared.image)).size, state.guestErrors);
  await guest.ready(0, 0);
  return { value: guest };
}

/**
 * Waits for READY on the serial console after `since`, failing fast when the guest panics or
 * resets instead (a kernel that cannot boot). A guest handed its host key is pinned already;
 * one that announced a key of its own (its init could not take ours, or was not given one) is
 * pinned to that announcement, which comes before READY on the trusted serial console.
 */
async function waitReady(
  qemu: QemuProcess,
  prepared: Pick<Prepared, 'pin' | 'hostKeyGiven'>,
  since: LineMark,
  qmark: EventMark,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  const stop = new AbortController();
  const sig = AbortSignal.any([signal, stop.signal]);
  const died = new Promise<never>((_, reject) => {
    for (const name of ['GUEST_PANICKED', 'SHUTDOWN'] as const) {
      const what = name === 'SHUTDOWN' ? 'reset' : 'panicked';
      qemu.qmp.waitForEvent(name, { since: qmark, signal: sig }).then(
        () => reject(new HarnessError('boot', `the guest ${what} before it was ready; last serial lines:\n${qemu.serial.tail(EXCERPT_LINES).join('\n')}`)),
        () => {},
      );
    }
  });
  died.catch(() => {});
  try {
    await Promise.race([qemu.waitForSerial(READY_LINE, { since, timeout: timeoutMs, signal, stage: 'boot' }), died]);
  } finally {
    stop.abort();
  }
  const key = await qemu.serial.waitFor(HOSTKEY_LINE, { since, timeout: 1, stage: 'ssh' }).catch(() => undefined);
  if (key !== undefined && prepared.pin.expectFromLine(key.line)) return;
  if (!prepared.hostKeyGiven) {
    throw new HarnessError('ssh', 'the guest announced no SSH host key (RAMOOPS-HARNESS-HOSTKEY) before READY: dropbearkey failed?');
  }
}
