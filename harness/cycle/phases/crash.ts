// crash: the scenario's commands over SSH, then the panic (the QMP GUEST_PANICKED event or the
// console line), then the guest's own reboot (panic=-1) parks QEMU (SHUTDOWN + STOP). A kernel
// that hangs instead is stopped after a timeout: ramoops wrote its record before trying to reset.

import { HarnessError } from '../../errors.js';
import type { QemuProcess } from '../../qemu/process.js';
import type { LineMark } from '../../qemu/serial.js';
import type { EventMark } from '../../qmp/client.js';
import { sleep } from '../clock.js';
import type { RunContext } from '../context.js';
import { guestCommandCheck, nonFatalStep } from '../guest-commands.js';
import type { Check } from '../scenario.js';
import type { Guest } from './boot.js';

const PANIC_LINE = /Kernel panic - not syncing/;

/** How the crash went: the scenario's checks so far, how the panic was seen, how the guest stopped. */
export interface Crashed {
  readonly checks: readonly Check[];
  readonly panicSeenBy: 'qmp' | 'console';
  readonly reset: 'guest-reset' | 'timeout';
}

export async function crash(ctx: RunContext, guest: Guest, n: number): Promise<{ readonly value: Crashed; readonly detail: string }> {
  const checks = await beforeTheCrash(ctx, guest, n);
  const { qemu } = guest;
  const { timeouts, crashCommand } = ctx.plan;
  const qmark = qemu.qmp.mark();
  const smark = qemu.serial.mark();
  const panic = waitPanic(qemu, qmark, smark, timeouts.panic, crashCommand, ctx.life.signal);
  panic.catch(() => {});
  const accepted = await guest
    .session()
    .start(crashCommand, { timeout: timeouts.ssh })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  if (accepted !== undefined) {
    // The guest may have died before confirming the channel; a panic settles it.
    await Promise.race([
      panic,
      sleep(5000).then((): never => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what start() rejected with, unchanged
        throw accepted;
      }),
    ]);
  }
  const panicSeenBy = await panic;
  ctx.state.kselftests?.panicked(n);
  // The guest is dead: no SSH goodbye to wait for.
  guest.session().destroy();
  guest.ssh = undefined;
  const reset = await waitParked(qemu, qmark, timeouts.reset, ctx.life.signal);
  const detail = `panic seen by ${panicSeenBy}, ${reset === 'guest-reset' ? 'guest reset' : 'no reset: guest stopped'}`;
  return { value: { checks, panicSeenBy, reset }, detail };
}

/** The scenario's before commands and survivable crash steps; any failure stops the run. */
async function beforeTheCrash(ctx: RunContext, guest: Guest, n: number): Promise<Check[]> {
  const { scenario, out, timeouts } = ctx.plan;
  const signal = ctx.life.signal;
  const ssh = guest.session();
  const checks: Check[] = [];
  for (const [i, cmd] of scenario.before.entries()) {
    checks.push(await guestCommandCheck(ssh, `before[${i}]`, cmd, out, `cycle${n}-before-${i}.log`, timeouts.ssh, signal));
  }
  for (const step of scenario.crash.slice(0, -1)) {
    for (let k = 0; k < step.repeat; k++) checks.push(await nonFatalStep(ssh, step, out, `cycle${n}-step-${checks.length}.log`, timeouts, signal));
  }
  const failed = checks.find((c) => !c.ok);
  if (failed !== undefined) throw new HarnessError('guest', `scenario ${scenario.name}: ${failed.name} failed before the crash: ${failed.detail}`);
  return checks;
}

/**
 * Resolves with how the panic was noticed: the pvpanic event or the console's panic line,
 * whichever comes first. A reset without either is a fault (the command rebooted the guest
 * without crashing it), and so is silence until the timeout.
 */
async function waitPanic(
  qemu: QemuProcess,
  qmark: EventMark,
  smark: LineMark,
  timeoutMs: number,
  command: string,
  signal: AbortSignal,
): Promise<'qmp' | 'console'> {
  const stop = new AbortController();
  const sig = AbortSignal.any([signal, stop.signal]);
  try {
    const first = await Promise.any([
      qemu.waitForEvent('GUEST_PANICKED', { since: qmark, timeout: timeoutMs, signal: sig }).then(() => 'qmp' as const),
      qemu.waitForSerial(PANIC_LINE, { since: smark, timeout: timeoutMs, signal: sig, stage: 'guest' }).then(() => 'console' as const),
      qemu.waitForEvent('SHUTDOWN', { since: qmark, timeout: timeoutMs, signal: sig }).then(() => 'reset' as const),
    ]);
    if (first !== 'reset') return first;
    // The serial file can lag behind QMP: give the panic line a moment to arrive.
    const line = await qemu.serial.waitFor(PANIC_LINE, { since: smark, timeout: 2000, stage: 'guest' }).catch(() => undefined);
    if (line !== undefined) return 'console';
    throw new HarnessError('guest', `the guest reset without a panic after \`${command}\``);
  } catch (e) {
    if (!(e instanceof AggregateError)) throw e;
    if (signal.aborted) throw signal.reason;
    const died = (e.errors as unknown[]).find((x): x is HarnessError => x instanceof HarnessError && x.stage === 'qemu');
    if (died !== undefined) throw died;
    throw new HarnessError(
      'guest',
      `no panic within ${timeoutMs / 1000} s after \`${command}\` (no GUEST_PANICKED event, no "Kernel panic - not syncing" line)`,
    );
  } finally {
    stop.abort();
  }
}

/**
 * Waits for the guest's reboot to park QEMU (SHUTDOWN + STOP). A kernel that hangs instead of
 * resetting is stopped after the timeout: its record is already in RAM.
 */
async function waitParked(qemu: QemuProcess, qmark: EventMark, timeoutMs: number, signal: AbortSignal): Promise<'guest-reset' | 'timeout'> {
  const stop = new AbortController();
  const sig = AbortSignal.any([signal, stop.signal]);
  try {
    const r = await Promise.race([
      qemu.waitForEvent('SHUTDOWN', { since: qmark, signal: sig }).then(() => 'guest-reset' as const),
      sleep(timeoutMs).then(() => 'timeout' as const),
    ]);
    if (r === 'timeout') {
      await qemu.guard(qemu.qmp.execute('stop', undefined, { timeout: 5000 }), 'stop');
      return r;
    }
    await qemu.waitForEvent('STOP', { since: qmark, timeout: 10_000, signal });
    return r;
  } finally {
    stop.abort();
  }
}
