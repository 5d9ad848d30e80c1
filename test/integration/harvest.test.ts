// `ramoops harvest` end to end. Without QEMU: a local harvest of a real capture's files (the
// archive, re-harvest, erase), a fake SSH machine without pstore or with hostile names, and a
// closed port. With QEMU (skipped when RAMOOPS_SKIP_INTEGRATION=1 or QEMU is missing): one
// Debian 6.1 guest crashed twice with warm reboots in between, harvested over SSH through the
// CLI after each crash and again without a crash, then erased and rebooted; plus a wrong key
// and wrong host keys. Serial: one guest, and each boot costs 10-20 s under TCG.
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { dir } from 'tmp-promise';
import { HarnessError } from '../../harness/errors.js';
import { harvestLocal, harvestSession, parseListing, type HarvestShell } from '../../harness/harvest/harvest.js';
import { generateRunKeys } from '../../harness/ssh/keys.js';
import type { ExecResult } from '../../harness/ssh/session.js';
import { configFromCmdline, extractRegion } from '../../src/index.js';
import { ARCHIVE_NAME, type HarvestReport, type Manifest } from '../../src/harvest/index.js';
import { loadFixture } from '../helpers/fixtures.js';
import { bootGuest, canBootGuests, GUEST_RAMOOPS_CMDLINE, GUEST_REGION, type TestGuest } from '../helpers/guest.js';
import { repoRoot } from '../helpers/paths.js';
import { closedPort } from '../helpers/closed-port.js';

const CLI = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface CliRun {
  readonly code: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

async function cli(args: readonly string[], limitMs = 120_000): Promise<CliRun> {
  const t0 = performance.now();
  const r = await execa('node', [CLI, 'harvest', ...args], { reject: false, timeout: limitMs, stdin: 'ignore', encoding: 'utf8' });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

/** The archive as the manifest describes it must be the archive on disk, both ways. */
function checkArchive(t: ExecutionContext, root: string): { readonly manifest: Manifest; readonly folders: readonly string[] } {
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as Manifest;
  const entries = readdirSync(root);
  const folders = entries.filter((e) => ARCHIVE_NAME.test(e)).sort();
  t.deepEqual(
    entries.filter((e) => e.includes('.tmp-')),
    [],
    'no temp leftovers',
  );
  t.deepEqual(
    manifest.crashes.map((c) => c.name),
    folders,
    'manifest lists every folder',
  );
  for (const r of manifest.records) {
    const bytes = readFileSync(join(root, r.archive));
    t.is(sha256(bytes), r.sha256, `${r.archive} content`);
    t.is(bytes.length, r.length, `${r.archive} length`);
    t.is(r.archive, `${r.crash}/${r.file}`);
  }
  for (const f of folders) {
    const onDisk = readdirSync(join(root, f))
      .filter((n) => n !== 'meta.json')
      .sort();
    const listed = manifest.records
      .filter((r) => r.crash === f)
      .map((r) => r.file)
      .sort();
    t.deepEqual(onDisk, listed, `${f}: files on disk = files in the manifest`);
  }
  return { manifest, folders };
}

/** A snapshot of every archived file's bytes and mtime, to prove later harvests left them alone. */
function snapshot(root: string): ReadonlyMap<string, string> {
  const m = new Map<string, string>();
  for (const f of readdirSync(root).filter((e) => ARCHIVE_NAME.test(e))) {
    for (const n of readdirSync(join(root, f))) {
      const p = join(root, f, n);
      m.set(`${f}/${n}`, `${sha256(readFileSync(p))}@${statSync(p).mtimeMs}`);
    }
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Without QEMU

test('local harvest of a real capture: archive, harvest again (nothing new), erase', async (t) => {
  const fx = loadFixture('c61-full-deflate');
  const pstore = await dir({ unsafeCleanup: true });
  const out = await dir({ unsafeCleanup: true });
  t.teardown(() => Promise.all([pstore.cleanup(), out.cleanup()]));
  for (const e of fx.expected) {
    writeFileSync(join(pstore.path, e.name), e.bytes);
    utimesSync(join(pstore.path, e.name), e.mtime, e.mtime);
  }
  const first = await harvestLocal({ outDir: out.path, pstoreDir: pstore.path });
  t.deepEqual(
    first.report.crashes.map((c) => [c.name, c.status, c.files, c.bootLogs]),
    [
      ['20261126T073532Z-oops-1eb0bbbe21d8', 'archived', ['dmesg-ramoops-0'], []],
      ['20261126T073534Z-panic-c1549a6d6adf', 'archived', ['dmesg-ramoops-1'], ['console-ramoops-0', 'ftrace-ramoops-0', 'pmsg-ramoops-0']],
    ],
  );
  const { manifest } = checkArchive(t, out.path);
  t.is(manifest.records.length, 5);
  // Archived files keep the record time.
  t.is(statSync(join(out.path, '20261126T073534Z-panic-c1549a6d6adf', 'dmesg-ramoops-1')).mtimeMs, 1795678534 * 1000);
  const before = snapshot(out.path);

  const again = await harvestLocal({ outDir: out.path, pstoreDir: pstore.path });
  t.deepEqual(
    again.report.crashes.map((c) => c.status),
    ['already archived', 'already archived'],
  );
  t.deepEqual(again.report.bootLogsAlreadyArchived, ['console-ramoops-0', 'ftrace-ramoops-0', 'pmsg-ramoops-0']);
  t.deepEqual(snapshot(out.path), before);

  const erased = await harvestLocal({ outDir: out.path, pstoreDir: pstore.path, erase: true });
  t.deepEqual(erased.report.erase?.unlinked, ['dmesg-ramoops-0', 'dmesg-ramoops-1', 'console-ramoops-0', 'ftrace-ramoops-0', 'pmsg-ramoops-0']);
  t.deepEqual(erased.report.erase?.remaining, []);
  t.deepEqual(erased.report.erase?.zonesCleared, ['dmesg zone 0', 'dmesg zone 1', 'console zone', 'ftrace zone 0', 'pmsg zone']);
  t.deepEqual(readdirSync(pstore.path), []);
  t.deepEqual(snapshot(out.path), before);
});

test('local harvest: odd entries are refused, never archived, never erased', async (t) => {
  const pstore = await dir({ unsafeCleanup: true });
  const out = await dir({ unsafeCleanup: true });
  t.teardown(() => Promise.all([pstore.cleanup(), out.cleanup()]));
  writeFileSync(join(pstore.path, 'dmesg-ramoops-0'), 'Panic#1 Part1\n<0>[ 1.0] Kernel panic - not syncing: test\n');
  writeFileSync(join(pstore.path, 'Evil name'), 'x');
  symlinkSync('/etc/passwd', join(pstore.path, 'console-ramoops-0'));
  const h = await harvestLocal({ outDir: out.path, pstoreDir: pstore.path, erase: true });
  t.deepEqual(h.report.refused, ['Evil name', 'console-ramoops-0']);
  t.deepEqual(h.report.erase?.unlinked, ['dmesg-ramoops-0']);
  t.deepEqual(h.report.erase?.remaining, ['Evil name', 'console-ramoops-0']);
  t.deepEqual(readdirSync(pstore.path).sort(), ['Evil name', 'console-ramoops-0']);
  t.is(h.report.crashes.length, 1);
  checkArchive(t, out.path);
});

/** A machine that answers the harvest's commands from a table, recording every command. */
function fakeShell(answer: (command: string) => Partial<ExecResult>): HarvestShell & { readonly commands: string[] } {
  const commands: string[] = [];
  return {
    commands,
    exec: (command: string) => {
      commands.push(command);
      const a = answer(command);
      return Promise.resolve({ code: a.code ?? 0, signal: undefined, stdout: a.stdout ?? Buffer.alloc(0), stderr: a.stderr ?? Buffer.alloc(0) });
    },
  };
}

test('a machine without pstore: a clear error', async (t) => {
  const out = await dir({ unsafeCleanup: true });
  t.teardown(() => out.cleanup());
  const noFs = fakeShell((c) => (c.includes('/proc/filesystems') ? { code: 20 } : {}));
  const e1 = await t.throwsAsync(harvestSession(noFs, { outDir: out.path }), { instanceOf: HarnessError });
  t.regex(e1?.message ?? '', /no pstore file system .*CONFIG_PSTORE/);
  const noBackend = fakeShell((c) => (c.includes('boot_id') ? { stdout: Buffer.from('pstore.backend=(null)\n') } : {}));
  const e2 = await t.throwsAsync(harvestSession(noBackend, { outDir: out.path }), { instanceOf: HarnessError });
  t.regex(e2?.message ?? '', /no pstore backend is registered/);
  t.deepEqual(readdirSync(out.path), [], 'nothing written');
});

test('names from the machine never reach a command unless pstore could have made them', async (t) => {
  const out = await dir({ unsafeCleanup: true });
  t.teardown(() => out.cleanup());
  const listing = [
    'dmesg-ramoops-0|14|1700000000|2023-11-14 22:13:20.000000000 +0000',
    "x';reboot;'|1|1700000000|2023-11-14 22:13:20.000000000 +0000",
    '../../etc/passwd|1|1700000000|2023-11-14 22:13:20.000000000 +0000',
    'garbage line',
  ].join('\n');
  const shell = fakeShell((c) => {
    if (c.includes('boot_id')) return { stdout: Buffer.from('pstore.backend=ramoops\nboot_id=abc\n') };
    if (c.includes('stat -c')) return { stdout: Buffer.from(listing + '\n') };
    if (c.startsWith('cat -- /sys/fs/pstore/dmesg-ramoops-0')) return { stdout: Buffer.from('Panic#1 Part1\n') };
    return {};
  });
  const h = await harvestSession(shell, { outDir: out.path, erase: true });
  t.deepEqual(h.report.refused, ['../../etc/passwd', 'garbage line', "x';reboot;'"]);
  t.false(shell.commands.some((c) => c.includes('reboot') || c.includes('passwd') || c.includes('garbage')));
  t.true(shell.commands.some((c) => c.includes('rm -- "$f"') && c.includes('dmesg-ramoops-0')));
  t.deepEqual(parseListing('a|b|c|d|1|1700000000|2023-11-14 22:13:20.5 +0000').listed, [
    { name: 'a|b|c|d', size: 1, mtime: { seconds: 1700000000, nsec: 500000000 } },
  ]);
});

test('the closed port of these tests is held: no one can listen on it until it is released', async (t) => {
  const held = await closedPort();
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(held.port, '127.0.0.1', () => srv.close(() => resolve()));
    });
  await t.throwsAsync(listen, { code: 'EADDRINUSE' });
  await held.release();
  await t.notThrowsAsync(listen);
});

test('CLI: a closed port ends with exit 2 and a clear message within the timeout', async (t) => {
  const out = await dir({ unsafeCleanup: true });
  t.teardown(() => out.cleanup());
  const keyFile = join(out.path, 'key');
  writeFileSync(keyFile, generateRunKeys().privateKey, { mode: 0o600 });
  const closed = await closedPort();
  const port = closed.port;
  t.teardown(() => closed.release());
  const r = await cli([
    '--ssh',
    `root@127.0.0.1:${port}`,
    '--key',
    keyFile,
    '--accept-new-host-key',
    '--out',
    join(out.path, 'a'),
    '--timeout',
    '3',
    '--junit',
    join(out.path, 'j.xml'),
  ]);
  t.log(`closed port: exit ${r.code} after ${r.seconds.toFixed(1)} s`);
  t.is(r.code, 2);
  // Without --wait a refused connection is the answer: one attempt, said at once (the message
  // is the one-attempt path's; how long it took is only logged: timings belong in make bench).
  t.regex(r.stderr, new RegExp(`no SSH login to root@127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED.*--wait SECONDS`));
  t.regex(readFileSync(join(out.path, 'j.xml'), 'utf8'), /<error message="no SSH login/);
  t.false(existsSync(join(out.path, 'a')), 'no archive for a harvest that never started');
});

test('CLI: --wait keeps trying a closed port, then says how long it waited', async (t) => {
  const out = await dir({ unsafeCleanup: true });
  t.teardown(() => out.cleanup());
  const keyFile = join(out.path, 'key');
  writeFileSync(keyFile, generateRunKeys().privateKey, { mode: 0o600 });
  const closed = await closedPort();
  const port = closed.port;
  t.teardown(() => closed.release());
  const r = await cli(['--ssh', `root@127.0.0.1:${port}`, '--key', keyFile, '--accept-new-host-key', '--out', join(out.path, 'a'), '--wait', '2']);
  t.is(r.code, 2);
  t.regex(r.stderr, new RegExp(`no SSH login to root@127\\.0\\.0\\.1:${port} within --wait 2 s \\(last error: .*ECONNREFUSED`));
});

// ---------------------------------------------------------------------------------------------
// With a QEMU guest

const qemuTest = canBootGuests() ? test.serial : test.skip;
let guestPromise: Promise<TestGuest> | undefined;
let artifacts: { path: string; cleanup: () => Promise<void> } | undefined;

async function guest(t: ExecutionContext): Promise<TestGuest> {
  if (guestPromise === undefined) {
    artifacts = await dir({ unsafeCleanup: true, prefix: 'ramoops-harvest-it-' });
    const t0 = performance.now();
    guestPromise = bootGuest({ artifactsDir: artifacts.path, log: (l) => t.log(l) });
    await guestPromise;
    t.log(`guest booted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return guestPromise;
}

test.after.always(async () => {
  if (guestPromise !== undefined) await (await guestPromise.catch(() => undefined))?.dispose();
  await artifacts?.cleanup();
});

const archive = { path: '' };
const sshArgs = (g: TestGuest): string[] => ['--ssh', `root@127.0.0.1:${g.sshPort}`, '--key', g.privateKeyPath, '--known-host-key', g.hostKey()];

async function harvestCli(t: ExecutionContext, g: TestGuest, extra: readonly string[] = []): Promise<HarvestReport> {
  const r = await cli([...sshArgs(g), '--out', archive.path, '--json', ...extra]);
  t.log(`harvest ${extra.join(' ')}: exit ${r.code} in ${r.seconds.toFixed(1)} s`);
  if (r.code !== 0) t.log(r.stderr, r.stdout);
  t.is(r.code, 0);
  return JSON.parse(r.stdout) as HarvestReport;
}

async function lsPstore(g: TestGuest): Promise<string> {
  const ssh = await g.connect();
  try {
    return (await ssh.exec('ls -A /sys/fs/pstore', { timeout: 30_000 })).stdout.toString('utf8').trim();
  } finally {
    await ssh.close();
  }
}

qemuTest('guest: a fresh boot has nothing; harvestSession works on a connected session', async (t) => {
  const g = await guest(t);
  const out = await dir({ unsafeCleanup: true });
  archive.path = join(out.path, 'archive');
  const ssh = await g.connect();
  try {
    const h = await harvestSession(ssh, { outDir: archive.path, host: 'guest' });
    t.deepEqual(h.report.files, []);
    t.deepEqual(h.report.crashes, []);
    t.like(h.report.context, { kernelRelease: g.kernel.release, hostname: 'ramoops-guest', pstoreMountedByHarvest: false });
    t.is(h.report.context.ramoopsParameters['mem_address'], String(GUEST_REGION.address));
    t.is(h.report.context.pstoreParameters['backend'], 'ramoops');
    t.regex(h.report.context.bootId ?? '', /^[0-9a-f-]{36}$/);
    t.regex(h.report.context.cmdline ?? '', /ramoops\.mem_address=0x8000000/);
  } finally {
    await ssh.close();
  }
});

qemuTest('guest: crash, warm reboot, harvest; harvest again adds nothing', async (t) => {
  const g = await guest(t);
  let t0 = performance.now();
  await g.crash();
  t.log(`crash 1: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  t0 = performance.now();
  await g.warmReboot();
  t.log(`warm reboot: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const first = await harvestCli(t, g);
  t.is(first.crashes.length, 1);
  const c = first.crashes[0];
  t.like(c, {
    status: 'archived',
    reason: 'Panic',
    counter: 1,
    headline: 'Kernel panic - not syncing: sysrq triggered crash',
    cause: 'sysrq: Trigger a crash',
  });
  t.regex(c?.name ?? '', /^\d{8}T\d{6}Z-panic-[0-9a-f]{12}$/);
  t.true(c?.frames.some((f) => f.startsWith('sysrq_handle_crash+')));
  t.log(c?.summary);
  const { folders } = checkArchive(t, archive.path);
  t.deepEqual(folders, [c?.name]);
  const before = snapshot(archive.path);

  // Again, as a person would run it (text): the same name, marked as seen, nothing written.
  const again = await cli([...sshArgs(g), '--out', archive.path]);
  t.log(again.stdout.trim());
  t.is(again.code, 0);
  t.true(again.stdout.includes(`SEEN ${c?.name ?? '?'}  ${c?.summary ?? '?'}  (already archived)`));
  t.regex(again.stdout, /1 crash\(es\): 0 archived, 1 already archived; 1 file\(s\) read/);
  t.deepEqual(snapshot(archive.path), before);
  checkArchive(t, archive.path);
});

qemuTest('guest: a second crash is a second folder; the first is untouched', async (t) => {
  const g = await guest(t);
  const before = snapshot(archive.path);
  await g.crash();
  await g.warmReboot();
  const r = await harvestCli(t, g, ['--junit', join(archive.path, '..', 'junit.xml')]);
  const { folders, manifest } = checkArchive(t, archive.path);
  t.is(folders.length, 2);
  t.deepEqual(
    r.crashes.map((k) => k.status),
    ['archived'],
  );
  t.log(r.crashes[0]?.summary);
  t.not(r.crashes[0]?.name, [...before.keys()][0]?.split('/')[0]);
  for (const [k, v] of before) t.is(snapshot(archive.path).get(k), v, `${k} unchanged`);
  t.deepEqual(
    manifest.records.filter((x) => x.type === 'dmesg').map((x) => x.reason),
    ['Panic', 'Panic'],
  );
  t.is(new Set(manifest.records.map((x) => x.bootId)).size, 2, 'each harvest recorded its boot');
  t.regex(
    readFileSync(join(archive.path, '..', 'junit.xml'), 'utf8'),
    /<testcase name="\d{8}T\d{6}Z-panic-[0-9a-f]{12}: Kernel panic - not syncing: sysrq triggered crash"/,
  );
});

qemuTest('guest: --erase empties /sys/fs/pstore and resets the zones (RAM shows them empty, and so does the next boot)', async (t) => {
  const g = await guest(t);
  const config = configFromCmdline(GUEST_RAMOOPS_CMDLINE, g.kernel.release);
  const ramBefore = extractRegion(await g.readRam(GUEST_REGION.address, GUEST_REGION.size), config);
  t.true(
    ramBefore.files.some((f) => f.type === 'dmesg'),
    'the record is in RAM before the erase',
  );

  const before = snapshot(archive.path);
  const r = await harvestCli(t, g, ['--erase']);
  t.log(`erase: ${JSON.stringify(r.erase)}`);
  t.deepEqual(r.erase?.remaining, []);
  t.deepEqual(r.erase?.kept, []);
  t.true(r.erase?.unlinked.includes('dmesg-ramoops-0'));
  t.true(r.erase?.zonesCleared.includes('dmesg zone 0'));
  t.is(await lsPstore(g), '', 'listing over SSH shows nothing');
  t.deepEqual(snapshot(archive.path), before, 'erasing adds nothing to the archive');

  const ramAfter = extractRegion(await g.readRam(GUEST_REGION.address, GUEST_REGION.size), config);
  t.deepEqual(
    ramAfter.files.map((f) => f.name),
    [],
    'the zones are reset in RAM',
  );

  await g.warmReboot();
  t.is(await lsPstore(g), '', 'the next boot finds the zones empty');
  const after = await harvestCli(t, g);
  t.deepEqual(after.files, []);
  checkArchive(t, archive.path);
});

qemuTest('guest: a wrong key or a wrong host key ends with exit 2 and a clear message', async (t) => {
  const g = await guest(t);
  const out = await dir({ unsafeCleanup: true });
  t.teardown(() => out.cleanup());
  const wrongKey = join(out.path, 'wrong-key');
  writeFileSync(wrongKey, generateRunKeys().privateKey, { mode: 0o600 });
  const port = `root@127.0.0.1:${g.sshPort}`;

  const k = await cli(['--ssh', port, '--key', wrongKey, '--known-host-key', g.hostKey(), '--out', join(out.path, 'a')]);
  t.log(`wrong key: exit ${k.code} after ${k.seconds.toFixed(1)} s: ${k.stderr.trim()}`);
  t.is(k.code, 2);
  t.regex(k.stderr, new RegExp(`${port.replaceAll('.', '\\.')} refused the key ${wrongKey}`));
  t.true(k.seconds < 30);

  const other = generateRunKeys().publicKey.split(' ')[1] ?? '';
  const h = await cli(['--ssh', port, '--key', g.privateKeyPath, '--known-host-key', other, '--out', join(out.path, 'a')]);
  t.is(h.code, 2);
  t.regex(h.stderr, /presented host key \S+, not the one given with --known-host-key/);

  const u = await cli(['--ssh', port, '--key', g.privateKeyPath, '--out', join(out.path, 'a')]);
  t.is(u.code, 2);
  t.true(u.stderr.includes(`--known-host-key ${g.hostKey()}`), 'tells the key to pin');
  t.false(existsSync(join(out.path, 'a')));
});
