// withLock between real processes: a second node process holding the lock keeps us out until it
// lets go, and one SIGKILLed while holding it leaves no stale lock behind.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheEntryNames, withLock } from '../../../harness/io/lock.js';

const lockModule = fileURLToPath(new URL('../../../harness/io/lock.js', import.meta.url));

/** A node process that takes the lock, prints "held", and keeps it until stdin closes. */
async function holder(lockPath: string): Promise<ChildProcess> {
  const script = `
    const { withLock } = await import(${JSON.stringify(lockModule)});
    await withLock(${JSON.stringify(lockPath)}, { stage: 'kernel' }, async () => {
      process.stdout.write('held\\n');
      await new Promise((r) => process.stdin.once('end', r).resume());
    });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`holder exited with ${String(code)} before taking the lock`)));
  });
  return child;
}

test('a second process waits for the holder, and the message names it', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rh-lock-'));
  const lockPath = path.join(dir, 'entry.lock');
  const child = await holder(lockPath);
  const events: string[] = [];
  const logs: string[] = [];
  const waiting = withLock(lockPath, { stage: 'kernel', log: (l) => logs.push(l) }, () => {
    events.push('entered');
    return Promise.resolve();
  });
  // Let go only once we have seen it wait: entering before this would be a second writer.
  while (logs.length === 0) await new Promise((r) => setTimeout(r, 50));
  events.push('released');
  child.stdin?.end();
  await waiting;
  t.deepEqual(events, ['released', 'entered']);
  t.regex(logs[0] ?? '', new RegExp(`waiting for process ${String(child.pid)} to finish unpacking`));
  t.is((await readFile(lockPath, 'utf8')).trim(), String(process.pid));
  await rm(dir, { recursive: true });
});

test('a holder killed with SIGKILL leaves no stale lock', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rh-lock-'));
  const lockPath = path.join(dir, 'entry.lock');
  const child = await holder(lockPath);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  const got = await withLock(lockPath, { stage: 'kernel' }, () => Promise.resolve('entered'), { maxWaitMinutes: 0.5 });
  t.is(got, 'entered');
  await rm(dir, { recursive: true });
});

test('cacheEntryNames lists entries, not the lock files or dot-named work folders beside them', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rh-lock-'));
  t.deepEqual(await cacheEntryNames(path.join(dir, 'absent')), []);
  await mkdir(path.join(dir, 'pkg_1.0'));
  await mkdir(path.join(dir, '.tmp-pkg_2.0-abc'));
  await withLock(path.join(dir, 'pkg_1.0.lock'), { stage: 'kernel' }, () => Promise.resolve(undefined));
  await withLock(path.join(dir, 'pkg_2.0.lock'), { stage: 'kernel' }, async () => {
    t.deepEqual(await cacheEntryNames(dir), ['pkg_1.0']);
  });
  t.deepEqual((await readdir(dir)).sort(), ['.tmp-pkg_2.0-abc', 'pkg_1.0', 'pkg_1.0.lock', 'pkg_2.0.lock']);
  await rm(dir, { recursive: true });
});
