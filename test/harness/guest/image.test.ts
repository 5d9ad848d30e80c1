// The guest image: its helpers on canned text, its contents read back with GNU cpio, its cache,
// and (integration) a real boot of Debian's kernels to RAMOOPS-HARNESS-READY plus an SSH login
// that reads ramoops' parameters.
import test, { type ExecutionContext } from 'ava';
import { execa, type ResultPromise } from 'execa';
import { gunzipSync } from 'fflate';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { ed25519Pair } from '../../../harness/ssh/keys.js';
import { dir } from 'tmp-promise';
import { buildGuestImage, imageEntries, moduleClosure, parseLdd, parseModulesDep } from '../../../harness/guest/image.js';
import { obtainKernel } from '../../../harness/kernel/obtain.js';
import { QmpClient } from '../../../harness/qmp/client.js';
import { requireHostForwardPort } from '../../../harness/qemu/usernet.js';
import type { KernelArtifacts } from '../../../harness/kernel/artifacts.js';

/** Synchronous, because ava wants every test declared before the first await. */
function onPath(cmd: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((d) => d !== '' && existsSync(join(d, cmd)));
}

const haveGuestTools = existsSync('/bin/busybox') && existsSync('/usr/sbin/dropbear') && onPath('cpio');
const integration = process.env['RAMOOPS_SKIP_INTEGRATION'] !== '1' && onPath('qemu-system-x86_64') && onPath('apt-get') && haveGuestTools;

test('parseLdd keeps resolved libraries and the loader, drops the vDSO', (t) => {
  const out = [
    '\tlinux-vdso.so.1 (0x00007ffd)',
    '\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f1a)',
    '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f1b)',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f1c)',
  ].join('\n');
  t.deepEqual(parseLdd(out), ['/lib/x86_64-linux-gnu/libz.so.1', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
  t.deepEqual(parseLdd('\tnot a dynamic executable'), []);
});

test('moduleClosure walks modules.dep, with - and _ alike and compressed names', (t) => {
  const dep = parseModulesDep(
    [
      'kernel/fs/pstore/ramoops.ko.xz: kernel/lib/reed_solomon/reed_solomon.ko.xz',
      'kernel/lib/reed_solomon/reed_solomon.ko.xz:',
      'kernel/drivers/misc/pvpanic/pvpanic.ko.xz:',
      'kernel/drivers/misc/pvpanic/pvpanic-mmio.ko.xz: kernel/drivers/misc/pvpanic/pvpanic.ko.xz',
      'kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz kernel/net/core/failover.ko.xz',
      'kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz',
      'kernel/net/core/failover.ko.xz:',
      'kernel/sound/unrelated.ko.xz:',
    ].join('\n'),
  );
  t.deepEqual(moduleClosure(dep, ['ramoops', 'pvpanic-mmio', 'virtio_net', 'virtio_pci']), [
    'kernel/drivers/misc/pvpanic/pvpanic-mmio.ko.xz',
    'kernel/drivers/misc/pvpanic/pvpanic.ko.xz',
    'kernel/drivers/net/net_failover.ko.xz',
    'kernel/drivers/net/virtio_net.ko.xz',
    'kernel/fs/pstore/ramoops.ko.xz',
    'kernel/lib/reed_solomon/reed_solomon.ko.xz',
    'kernel/net/core/failover.ko.xz',
  ]);
});

test('imageEntries puts every directory before what it holds', (t) => {
  const enc = new TextEncoder();
  const entries = imageEntries(
    [
      { dest: '/usr/sbin/dropbear', mode: 0o755, data: enc.encode('x') },
      { dest: '/init', mode: 0o755, data: enc.encode('#!/bin/sh\n') },
    ],
    ['bin/sh', 'sbin/modprobe', 'usr/bin/find'],
  );
  const seen = new Set<string>(['']);
  for (const e of entries) {
    const parent = e.path.split('/').slice(0, -1).join('/');
    t.true(seen.has(parent), `${e.path} comes before its directory`);
    seen.add(e.path);
  }
  t.like(
    entries.find((e) => e.path === '/root/.ssh'),
    { type: 'dir', mode: 0o700 },
  );
  t.like(
    entries.find((e) => e.path === '/bin/sh'),
    { type: 'symlink', target: '/bin/busybox' },
  );
  t.like(
    entries.find((e) => e.path === '/dev/console'),
    { type: 'chardev', major: 5, minor: 1 },
  );
});

(haveGuestTools ? test : test.skip)(
  'an image for a kernel without modules holds init, busybox, dropbear and its libraries; cached on the second call',
  async (t) => {
    const tmp = await dir({ unsafeCleanup: true });
    try {
      const kernel: KernelArtifacts = { kernelPath: '/nonexistent', modulesRoot: undefined, release: '6.1.99-test', source: 'test' };
      const lines: string[] = [];
      const path = await buildGuestImage(kernel, { cacheDir: tmp.path, log: (l) => lines.push(l) });
      t.true(path.startsWith(join(tmp.path, 'images')));
      const { stdout } = await execa('cpio', ['-it', '--quiet'], { input: gunzipSync(await readFile(path)), encoding: 'utf8' });
      const names = new Set(stdout.split('\n'));
      for (const n of [
        'init',
        'bin/busybox',
        'bin/sh',
        'sbin/modprobe',
        'usr/sbin/dropbear',
        'lib64/ld-linux-x86-64.so.2',
        'etc/passwd',
        'dev/console',
        'root/.ssh',
      ]) {
        t.true(names.has(n), n);
      }
      t.false([...names].some((n) => n.startsWith('lib/modules')));

      const mtime = (await stat(path)).mtimeMs;
      const again: string[] = [];
      t.is(await buildGuestImage(kernel, { cacheDir: tmp.path, log: (l) => again.push(l) }), path);
      t.is((await stat(path)).mtimeMs, mtime);
      t.regex(again.join('\n'), /cached/);
    } finally {
      await tmp.cleanup();
    }
  },
);

/** The host port QEMU bound for hostfwd port 0, asked over its QMP socket: no probe-then-bind race. */
async function forwardedPort(qmpSocket: string): Promise<number> {
  const qmp = await QmpClient.connect(qmpSocket, { timeout: 15_000 });
  try {
    const text = await qmp.executeRaw('human-monitor-command', { 'command-line': 'info usernet' });
    return requireHostForwardPort(typeof text === 'string' ? text : '', 22);
  } finally {
    await qmp.close();
  }
}

/** Runs one command in the guest over SSH and returns its stdout. */
async function sshExec(port: number, privateKey: string, hostKey: Buffer, command: string): Promise<string> {
  const conn = new ssh2.Client();
  try {
    return await new Promise<string>((resolve, reject) => {
      conn.once('error', reject);
      conn.once('ready', () => {
        conn.exec(command, (err, stream) => {
          if (err !== undefined && err !== null) {
            reject(err);
            return;
          }
          let out = '';
          stream.on('data', (d: Buffer) => (out += d.toString('utf8')));
          stream.stderr.on('data', () => undefined);
          stream.once('close', (code: number | null) => (code === 0 ? resolve(out) : reject(new Error(`${command}: exit ${code}`))));
        });
      });
      conn.connect({
        host: '127.0.0.1',
        port,
        username: 'root',
        privateKey,
        readyTimeout: 30_000,
        // The guest announced its key on the serial console: pin it.
        hostVerifier: (key: Buffer) => key.equals(hostKey),
      });
    });
  } finally {
    conn.end();
  }
}

const READY = 'RAMOOPS-HARNESS-READY';

async function bootSmoke(t: ExecutionContext, spec: 'debian' | 'debian-6.12'): Promise<void> {
  t.timeout(10 * 60_000, 'obtaining the kernel, building the image and booting');
  const kernel = await obtainKernel(spec, { log: (l) => t.log(l) });
  const image = await buildGuestImage(kernel, { log: (l) => t.log(l) });
  t.log(`image: ${((await stat(image)).size / 1048576).toFixed(2)} MiB`);
  const keys = ed25519Pair('ramoops-harness-test');
  const qmpDir = await dir({ unsafeCleanup: true, prefix: 'ramoops-image-it-' });
  t.teardown(() => qmpDir.cleanup());
  const qmpSocket = join(qmpDir.path, 'qmp.sock');
  const append = [
    'console=ttyS0 quiet loglevel=4 panic=-1',
    'memmap=0x100000$0x8000000 ramoops.mem_address=0x8000000 ramoops.mem_size=0x100000 ramoops.record_size=0x4000',
    `rh.key=${Buffer.from(keys.publicKey + '\n').toString('base64')}`,
  ].join(' ');
  let qemu: ResultPromise | undefined;
  // Also when ava gives up on the test: teardown runs then, a finally might not.
  t.teardown(() => qemu?.kill('SIGKILL'));
  let serial = '';
  try {
    const started = Date.now();
    qemu = execa(
      'qemu-system-x86_64',
      [
        '-accel',
        'tcg',
        '-machine',
        'q35',
        '-m',
        '512',
        '-nographic',
        '-no-reboot',
        '-kernel',
        kernel.kernelPath,
        '-initrd',
        image,
        '-append',
        append,
        '-netdev',
        'user,id=n0,hostfwd=tcp:127.0.0.1:0-:22',
        '-device',
        'virtio-net-pci,netdev=n0',
        '-qmp',
        `unix:${qmpSocket},server=on,wait=off`,
        '-device',
        'pvpanic',
        '-serial',
        'stdio',
        '-display',
        'none',
        '-monitor',
        'none',
      ],
      { stdin: 'ignore', reject: false, timeout: 5 * 60_000, forceKillAfterDelay: 2000, encoding: 'utf8' },
    );
    const proc = qemu;
    await new Promise<void>((resolve, reject) => {
      // Bounded by QEMU's own 5 min timeout and the test's; 60 s was too short on a loaded machine (128 s seen).
      const timer = setTimeout(() => reject(new Error(`no ${READY} within 4 min; serial:\n${serial.slice(-2000)}`)), 4 * 60_000);
      proc.stdout?.on('data', (d: Buffer) => {
        serial += d.toString('utf8');
        if (serial.includes(READY)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.stderr?.on('data', (d: Buffer) => (serial += d.toString('utf8')));
      void proc.then((r) => {
        clearTimeout(timer);
        reject(new Error(`qemu exited (${r.exitCode ?? r.signal}) before ${READY}; output:\n${serial.slice(-2000)}`));
      });
    });
    t.log(`${spec}: boot to ${READY} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // Errors print before READY, so everything the guest had to say is in by now.
    t.notRegex(serial, /RAMOOPS-HARNESS-ERROR.*/);
    // Not anchored: the first guest line shares its line with the firmware's escape sequences.
    const hostKeyLine = /RAMOOPS-HARNESS-HOSTKEY (ssh-ed25519) ([A-Za-z0-9+/=]+)/.exec(serial);
    t.truthy(hostKeyLine, 'guest announces its SSH host key');
    const hostKey = Buffer.from(hostKeyLine?.[2] ?? '', 'base64');

    const port = await forwardedPort(qmpSocket);
    const loginStart = Date.now();
    const out = await sshExec(port, keys.privateKey, hostKey, 'cat /sys/module/ramoops/parameters/record_size; ls -a /sys/fs/pstore; uname -r');
    t.log(`${spec}: ssh login + command in ${((Date.now() - loginStart) / 1000).toFixed(1)} s`);
    const [recordSize, ...rest] = out.trim().split('\n');
    t.is(recordSize, '16384');
    t.is(rest.at(-1), kernel.release);
  } finally {
    qemu?.kill('SIGKILL');
  }
}

(integration ? test.serial : test.skip)("Debian's 6.1 kernel boots the image to READY without errors and takes an SSH login", (t) => bootSmoke(t, 'debian'));
(integration ? test.serial : test.skip)("Debian's 6.12 kernel (.ko.xz modules) boots the image to READY without errors and takes an SSH login", (t) =>
  bootSmoke(t, 'debian-6.12'),
);
