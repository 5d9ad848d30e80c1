// The QMP client against a real QEMU started by hand (not through process.ts), with the
// plain `-qmp unix:...` form, paused and without a guest.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { HarnessError } from '../../../harness/errors.js';
import { QmpClient } from '../../../harness/qmp/client.js';

function qemuAvailable(): boolean {
  if (process.env['RAMOOPS_SKIP_INTEGRATION'] === '1') return false;
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const itest = qemuAvailable() ? test : test.skip;

itest('connect (socket created late), query-status, events, errors, quit', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rh-qmp-'));
  const sock = path.join(dir, 'qmp.sock');
  // connect() is called before QEMU exists: it must retry until the socket appears.
  // Generous: QEMU's start is slow on a loaded machine, and only a failure waits this long.
  const connecting = QmpClient.connect(sock, { timeout: 60_000 });
  await new Promise((r) => setTimeout(r, 300));
  const qemu = execa(
    'qemu-system-x86_64',
    ['-accel', 'tcg', '-machine', 'q35', '-m', '64', '-nodefaults', '-display', 'none', '-S', '-qmp', `unix:${sock},server=on,wait=off`],
    { reject: false, forceKillAfterDelay: 2000 },
  );
  try {
    const qmp = await connecting;
    t.is(qmp.greeting?.version.major, 7);

    const st = await qmp.execute('query-status', undefined, { timeout: 5000 });
    t.is(st.status, 'prelaunch');

    const before = qmp.mark();
    await qmp.execute('cont', undefined, { timeout: 5000 });
    await qmp.execute('stop', undefined, { timeout: 5000 });
    // Both events came before these waits started; `since` finds them, the default does not.
    t.is((await qmp.waitForEvent('RESUME', { since: before, timeout: 1000 })).event, 'RESUME');
    t.is((await qmp.waitForEvent('STOP', { since: before, timeout: 1000 })).event, 'STOP');
    const late = await t.throwsAsync(qmp.waitForEvent('STOP', { timeout: 300 }), { instanceOf: HarnessError });
    t.regex(late?.message ?? '', /timed out after 300 ms waiting for QMP event STOP/);

    const reset = qmp.waitForEvent('RESET', { where: (e) => e.data['reason'] === 'host-qmp-system-reset', timeout: 5000 });
    await qmp.execute('system_reset', undefined, { timeout: 5000 });
    t.is((await reset).data['guest'], false);

    await qmp.execute('set-action', { reboot: 'shutdown', shutdown: 'pause', panic: 'none' }, { timeout: 5000 });
    const bad = await t.throwsAsync(qmp.executeRaw('no-such-command', undefined, { timeout: 5000 }), { instanceOf: HarnessError });
    t.regex(bad?.message ?? '', /CommandNotFound/);

    const ac = new AbortController();
    const aborted = qmp.waitForEvent('GUEST_PANICKED', { signal: ac.signal });
    ac.abort(new Error('stop waiting'));
    await t.throwsAsync(aborted, { message: 'stop waiting' });

    const pending = qmp.waitForEvent('NEVER');
    await qmp.quit({ timeout: 5000 });
    await t.throwsAsync(pending, { instanceOf: HarnessError, message: /closed/ });
    t.true(qmp.closed);
    t.is((await qemu).exitCode, 0);
  } finally {
    qemu.kill();
    await qemu;
    await rm(dir, { recursive: true, force: true });
  }
});

itest('connect gives up at its deadline when nothing listens', async (t) => {
  const e = await t.throwsAsync(QmpClient.connect('/nonexistent-dir/qmp.sock', { timeout: 300 }), { instanceOf: HarnessError });
  t.is(e?.stage, 'qmp');
});
