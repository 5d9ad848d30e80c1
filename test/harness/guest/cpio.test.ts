// The newc writer checked against an independent reader: GNU cpio lists and extracts what we wrote.
import test from 'ava';
import { execa } from 'execa';
import { gunzipSync } from 'fflate';
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { dir } from 'tmp-promise';
import { gzipCpio, writeCpio, type CpioEntry } from '../../../harness/guest/cpio.js';

const enc = new TextEncoder();

async function haveCpio(): Promise<boolean> {
  try {
    await execa('cpio', ['--version']);
    return true;
  } catch {
    return false;
  }
}

const entries: readonly CpioEntry[] = [
  { type: 'dir', path: 'bin', mode: 0o755 },
  { type: 'file', path: 'bin/hello', mode: 0o755, data: enc.encode('#!/bin/sh\necho hi\n') },
  { type: 'symlink', path: 'bin/sh', target: 'hello' },
  { type: 'dir', path: 'root', mode: 0o700 },
  { type: 'dir', path: 'root/.ssh', mode: 0o700 },
  // Lengths 0..5 cover every padding case for both name and data.
  { type: 'file', path: 'root/a', mode: 0o600, data: new Uint8Array(0) },
  { type: 'file', path: 'root/ab', mode: 0o644, data: enc.encode('x') },
  { type: 'file', path: 'root/abc', mode: 0o644, data: enc.encode('xy') },
  { type: 'file', path: 'root/abcd', mode: 0o644, data: enc.encode('xyz') },
  { type: 'file', path: 'root/abcde', mode: 0o644, data: enc.encode('wxyz') },
  { type: 'file', path: 'root/big', mode: 0o644, data: Uint8Array.from({ length: 70001 }, (_, i) => (i * 7) & 0xff) },
];

test('archive is 4-byte aligned, starts with a newc header and ends with the trailer', (t) => {
  const a = writeCpio(entries);
  t.is(a.length % 4, 0);
  t.is(new TextDecoder().decode(a.subarray(0, 6)), '070701');
  t.true(new TextDecoder().decode(a.subarray(a.length - 256)).includes('TRAILER!!!'));
});

test('same entries give the same bytes, also after gzip', (t) => {
  t.deepEqual(writeCpio(entries), writeCpio(entries));
  const g1 = gzipCpio(writeCpio(entries));
  t.deepEqual(g1, gzipCpio(writeCpio(entries)));
  t.deepEqual(gunzipSync(g1), writeCpio(entries));
});

test('rejects duplicate and escaping paths', (t) => {
  t.throws(
    () =>
      writeCpio([
        { type: 'dir', path: 'a', mode: 0o755 },
        { type: 'dir', path: '/a/', mode: 0o755 },
      ]),
    {
      instanceOf: RangeError,
    },
  );
  t.throws(() => writeCpio([{ type: 'dir', path: 'a/../b', mode: 0o755 }]), { instanceOf: RangeError });
});

test('GNU cpio extracts what we wrote, with modes, symlinks and contents', async (t) => {
  if (!(await haveCpio())) {
    t.log('GNU cpio is not installed (apt-get install cpio); skipping the cross-check');
    t.pass();
    return;
  }
  const tmp = await dir({ unsafeCleanup: true });
  try {
    const archive = writeCpio(entries);
    const listing = await execa('cpio', ['-it', '--quiet'], { input: archive, encoding: 'utf8' });
    t.deepEqual(
      listing.stdout.split('\n').filter((l) => l !== ''),
      entries.map((e) => e.path),
    );
    await execa('cpio', ['-idm', '--quiet', '--no-absolute-filenames'], { input: archive, cwd: tmp.path });
    for (const e of entries) {
      const p = join(tmp.path, e.path);
      const st = await lstat(p);
      switch (e.type) {
        case 'file':
          t.true(st.isFile(), e.path);
          t.is(st.mode & 0o7777, e.mode, e.path);
          t.deepEqual(new Uint8Array(await readFile(p)), e.data, e.path);
          t.is(st.mtimeMs, 0, `${e.path} mtime`);
          break;
        case 'dir':
          t.true(st.isDirectory(), e.path);
          t.is(st.mode & 0o7777, e.mode, e.path);
          break;
        case 'symlink':
          t.true(st.isSymbolicLink(), e.path);
          t.is(await readlink(p), e.target);
          break;
        case 'chardev':
          break;
      }
    }
  } finally {
    await tmp.cleanup();
  }
});

test('GNU cpio lists a character device with its major and minor', async (t) => {
  if (!(await haveCpio())) {
    t.pass();
    return;
  }
  const archive = writeCpio([
    { type: 'dir', path: 'dev', mode: 0o755 },
    { type: 'chardev', path: 'dev/console', mode: 0o600, major: 5, minor: 1 },
  ]);
  const { stdout } = await execa('cpio', ['-itv', '--quiet'], { input: archive, encoding: 'utf8' });
  t.regex(stdout, /^crw------- .* 5,\s*1 .*dev\/console$/m);
});
