// reboot: a warm reset of the parked guest with its RAM kept (set-action reboot=reset,
// system_reset, cont) -> READY again.

import type { RunContext } from '../context.js';
import type { Guest } from './boot.js';

export async function reboot(_ctx: RunContext, guest: Guest): Promise<{ readonly value: undefined }> {
  const { qemu } = guest;
  const since = qemu.serial.mark();
  const mark = qemu.qmp.mark();
  // The reset action must be in place before system_reset, or QEMU parks again.
  await qemu.guard(qemu.qmp.execute('set-action', { reboot: 'reset' }, { timeout: 5000 }), 'set-action');
  await qemu.guard(qemu.qmp.execute('system_reset', undefined, { timeout: 5000 }), 'system_reset');
  await qemu.guard(qemu.qmp.execute('cont', undefined, { timeout: 5000 }), 'cont');
  await guest.ready(since, mark);
  // The next crash must park QEMU again.
  await qemu.guard(qemu.qmp.execute('set-action', { reboot: 'shutdown' }, { timeout: 5000 }), 'set-action');
  return { value: undefined };
}
