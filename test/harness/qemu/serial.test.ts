// The serial follower on a file written the way QEMU writes it: in pieces, lines split
// across writes, CRLF, the file appearing only after following started.
import test from 'ava';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HarnessError } from '../../../harness/errors.js';
import { SerialLog } from '../../../harness/qemu/serial.js';

async function folder(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'rh-serial-'));
}

test('follows a file created late, lines split across writes, CRLF, tee', async (t) => {
  const dir = await folder();
  const file = path.join(dir, 'serial.log');
  const tee = path.join(dir, 'tee.log');
  const log = SerialLog.follow(file, { teePath: tee, pollMs: 20 });
  try {
    const ready = log.waitFor(/RAMOOPS-HARNESS-READY/, { timeout: 5000 });
    await new Promise((r) => setTimeout(r, 100));
    await writeFile(file, '\x1b[2JRAMOOPS-HARNESS-HOSTKEY ssh-ed25519 AAAA\r\nRAMOOPS-HARNESS-');
    await new Promise((r) => setTimeout(r, 100));
    await appendFile(file, 'READY\r\n[    6.1] Kernel panic - not syncing: sysrq triggered crash\n');
    const m = await ready;
    t.is(m.line, 'RAMOOPS-HARNESS-READY');
    t.is(m.index, 1);
    // Lines from before the wait are found with since; without it only new ones count.
    const hk = await log.waitFor(/HOSTKEY (\S+) (\S+)/, { since: 0, timeout: 1000 });
    t.is(hk.match[2], 'AAAA');
    const panic = await log.waitFor(/Kernel panic - not syncing: (.*)/, { since: m.index, timeout: 1000 });
    t.is(panic.match[1], 'sysrq triggered crash');
    await t.throwsAsync(log.waitFor(/Kernel panic/, { timeout: 200 }), { instanceOf: HarnessError });
  } finally {
    await log.close();
  }
  t.is(await readFile(tee, 'utf8'), await readFile(file, 'utf8'));
  await rm(dir, { recursive: true });
});

test('a timeout names the pattern and shows the last lines; the stage is configurable', async (t) => {
  const dir = await folder();
  const file = path.join(dir, 'serial.log');
  await writeFile(file, 'one\ntwo\nthree');
  const log = SerialLog.follow(file);
  try {
    const e = await t.throwsAsync(log.waitFor(/READY/, { timeout: 150, stage: 'guest' }), { instanceOf: HarnessError });
    t.is(e?.stage, 'guest');
    t.regex(e?.message ?? '', /no serial line matched \/READY\/ within 150 ms; last lines:\none\ntwo\nthree/);
    t.deepEqual(log.tail(2), ['two', 'three']);
  } finally {
    await log.close();
    await rm(dir, { recursive: true });
  }
});

test('close rejects pending waits and keeps the unfinished last line', async (t) => {
  const dir = await folder();
  const file = path.join(dir, 'serial.log');
  await writeFile(file, 'cut off mid-li');
  const log = SerialLog.follow(file);
  const lines: string[] = [];
  log.onLine((l) => lines.push(l));
  const pending = log.waitFor(/never/);
  const ac = new AbortController();
  const aborted = log.waitFor(/never/, { signal: ac.signal });
  ac.abort(new Error('stop'));
  await t.throwsAsync(aborted, { message: 'stop' });
  await log.close();
  await t.throwsAsync(pending, { instanceOf: HarnessError, message: /closed/ });
  t.deepEqual(lines, ['cut off mid-li']);
  await rm(dir, { recursive: true });
});
