// Real QEMU, no guest: QEMU starts paused (-S), so nothing but QEMU's own ROM loading touches
// RAM. We write patterns into the RAM file before QEMU maps it, then ask QEMU for the same
// guest-physical ranges with pmemsave: equal bytes prove machines.ts's map (and share=on).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HarnessError } from '../../../harness/errors.js';
import { Lifetime, withLifetime, RunAbortedError } from '../../../harness/proc/lifetime.js';
import { physToFileOffset } from '../../../harness/qemu/machines.js';
import { QemuProcess } from '../../../harness/qemu/process.js';
import type { MachineType } from '../../../harness/qemu/args.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

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

function pattern(seed: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Boots nothing: pattern at each address, pmemsave, compare, and the file keeps the pattern. */
const ramMapMacro = test.macro(async (t, machine: MachineType, memoryBytes: number, addresses: readonly number[]) => {
  const len = 4096;
  const life = new Lifetime();
  try {
    const qemu = await QemuProcess.start({
      machine,
      memoryBytes,
      paused: true,
      forwardSsh: false,
      lifetime: life,
      prepareRam: async (ramFile) => {
        const fh = await open(ramFile, 'r+');
        try {
          for (const a of addresses) await fh.write(pattern(a, len), 0, len, physToFileOffset(machine, memoryBytes, a, len));
        } finally {
          await fh.close();
        }
      },
    });
    const status = await qemu.qmp.execute('query-status', undefined, { timeout: 5000 });
    t.is(status.status, 'prelaunch');
    t.false(status.running);
    for (const a of addresses) {
      const out = path.join(qemu.tempDir, `pmem-${a.toString(16)}`);
      await qemu.qmp.execute('pmemsave', { val: a, size: len, filename: out }, { timeout: 10_000 });
      const viaQemu = await readFile(out);
      t.true(viaQemu.equals(pattern(a, len)), `pmemsave at 0x${a.toString(16)} returned the pattern`);
      t.true((await qemu.readRam(a, len)).equals(viaQemu), `RAM file at 0x${a.toString(16)} equals pmemsave`);
    }
    const tmp = qemu.tempDir;
    const pid = qemu.pid;
    await qemu.dispose();
    t.false(existsSync(tmp), 'temp folder removed');
    t.false(alive(pid), 'QEMU is gone');
  } finally {
    await life.close();
  }
});

itest('q35 64M: low memory map', ramMapMacro, 'q35', 64 * MiB, [0x200000, 0x3000000, 64 * MiB - 4096]);
// Sparse RAM file; QEMU maps but never touches most of it, so this needs little host memory.
itest('q35 5G: above 4 GiB starts at file offset 2 GiB', ramMapMacro, 'q35', 5 * GiB, [0x8000000, 2 * GiB - 4096, 4 * GiB, 4 * GiB + 0x123000, 7 * GiB - 4096]);
itest('pc 4G: split at 3 GiB', ramMapMacro, 'pc', 4 * GiB, [3 * GiB - 4096, 4 * GiB, 5 * GiB - 4096]);

itest('a bad command line is a qemu-stage error with stderr, and leaves nothing behind', async (t) => {
  const parent = await mkdtemp(path.join(os.tmpdir(), 'rh-test-'));
  const e = await t.throwsAsync(
    QemuProcess.start({
      memoryBytes: 64 * MiB,
      paused: true,
      forwardSsh: false,
      tempParent: parent,
      extraArgs: ['-device', 'no-such-device'],
    }),
    { instanceOf: HarnessError },
  );
  t.is(e?.stage, 'qemu');
  t.regex(e?.message ?? '', /exited with code 1/);
  t.regex(e?.message ?? '', /no-such-device/);
  t.deepEqual(await readdir(parent), []);
  await rm(parent, { recursive: true });
});

itest('a missing binary is a qemu-stage error', async (t) => {
  const e = await t.throwsAsync(QemuProcess.start({ memoryBytes: 64 * MiB, forwardSsh: false, binary: '/nonexistent/qemu' }), { instanceOf: HarnessError });
  t.is(e?.stage, 'qemu');
  t.regex(e?.message ?? '', /could not be started/);
});

itest('the SSH forward is on the port QEMU bound, read back over QMP, and accepts connections', async (t) => {
  const qemu = await QemuProcess.start({ memoryBytes: 64 * MiB, paused: true });
  try {
    const port = qemu.sshPort ?? 0;
    t.true(port > 0 && port <= 65535, `sshPort ${port}`);
    t.true(qemu.args.includes('user,id=n0,hostfwd=tcp:127.0.0.1:0-:22'));
    // slirp accepts on the host side whether or not the guest ever answers on port 22.
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', reject);
    });
  } finally {
    await qemu.dispose();
  }
});

itest('waits fail fast when QEMU dies, with the exit status', async (t) => {
  const qemu = await QemuProcess.start({ memoryBytes: 64 * MiB, paused: true, forwardSsh: false });
  try {
    const wait = qemu.waitForEvent('GUEST_PANICKED', { timeout: 30_000 });
    process.kill(qemu.pid ?? 0, 'SIGKILL');
    const e = await t.throwsAsync(wait, { instanceOf: HarnessError });
    t.is(e?.stage, 'qemu');
    t.regex(e?.message ?? '', /killed by SIGKILL/);
  } finally {
    await qemu.dispose();
  }
});

itest('the run timeout kills QEMU and removes its folder', async (t) => {
  let pid: number | undefined;
  let tmp = '';
  const e = await t.throwsAsync(
    withLifetime({ timeoutMs: 1500 }, async (life) => {
      const qemu = await QemuProcess.start({ memoryBytes: 64 * MiB, paused: true, forwardSsh: false, lifetime: life });
      pid = qemu.pid;
      tmp = qemu.tempDir;
      // Ignores the signal on purpose: the timeout must win anyway.
      await new Promise((resolve) => setTimeout(resolve, 60_000).unref());
    }),
    { instanceOf: RunAbortedError },
  );
  t.is(e?.abortCause, 'timeout');
  t.false(alive(pid));
  t.false(existsSync(tmp));
});

itest('QMP quit ends QEMU with status 0', async (t) => {
  const qemu = await QemuProcess.start({ memoryBytes: 64 * MiB, paused: true, forwardSsh: false });
  try {
    await qemu.qmp.quit({ timeout: 5000 });
    const x = await qemu.exited;
    t.is(x.exitCode, 0);
  } finally {
    await qemu.dispose();
  }
});
