// Classification of dmesg records on the real captures' texts (test/fixtures/*/expected, what
// the guests' /sys/fs/pstore showed) and on report shapes the captures do not have.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyDmesg, parseEccNotice, stripLogPrefix, withoutEccNotice } from '../../../src/harvest/index.js';
import { fixturesDir } from '../../helpers/paths.js';

const expected = (fixture: string, file: string): Buffer => readFileSync(join(fixturesDir(), fixture, 'expected', file));
const text = (fixture: string, file: string): string => new TextDecoder().decode(withoutEccNotice(expected(fixture, file)));

test('deb61-noecc: a SysRq panic, its trigger and the frames after the helpers', (t) => {
  const d = classifyDmesg(text('deb61-noecc', 'dmesg-ramoops-0'));
  t.like(d, {
    reason: 'Panic',
    counter: 1,
    part: 1,
    headline: 'Kernel panic - not syncing: sysrq triggered crash',
    cause: 'sysrq: Trigger a crash',
    rip: undefined,
  });
  // dump_stack_lvl is skipped; `? ` guesses are left out when reliable frames exist.
  t.deepEqual(d.frames.slice(0, 4), ['panic+0x118/0x2f4', 'sysrq_handle_crash+0x16/0x20', '__handle_sysrq.cold+0x44/0x11c', 'write_sysrq_trigger+0x24/0x40']);
  t.false(d.frames.some((f) => f.startsWith('?')));
});

test('deb612: the same panic from Debian 6.12', (t) => {
  const d = classifyDmesg(text('deb612-ecc16-1panic', 'dmesg-ramoops-0'));
  t.like(d, { reason: 'Panic', counter: 1, part: 1, headline: 'Kernel panic - not syncing: sysrq triggered crash', cause: 'sysrq: Trigger a crash' });
  t.is(d.frames[1], 'sysrq_handle_crash+0x1a/0x20');
});

test('c61-full-deflate: Oops#1 (lkdtm BUG, only guessed frames) then Panic#2 (SysRq)', (t) => {
  const oops = classifyDmesg(text('c61-full-deflate', 'dmesg-ramoops-0'));
  t.like(oops, {
    reason: 'Oops',
    counter: 1,
    part: 1,
    headline: 'invalid opcode: 0000 [#1]',
    cause: 'lkdtm: Performing direct entry BUG',
    rip: 'RIP: 0010:lkdtm_BUG+0x5/0x7',
  });
  t.is(oops.frames[0], '? direct_entry+0xaa/0xc0');
  const panic = classifyDmesg(text('c61-full-deflate', 'dmesg-ramoops-1'));
  // The record also holds the earlier oops; the panic line and its trigger win.
  t.like(panic, { reason: 'Panic', counter: 2, part: 1, headline: 'Kernel panic - not syncing: sysrq triggered crash', cause: 'sysrq: Trigger a crash' });
  t.deepEqual(panic.frames, []);
});

test('c61-zstd-ecc16-full: the same pair, zstd-compressed and with ECC notices', (t) => {
  t.like(classifyDmesg(text('c61-zstd-ecc16-full', 'dmesg-ramoops-0')), { reason: 'Oops', counter: 1 });
  t.like(classifyDmesg(text('c61-zstd-ecc16-full', 'dmesg-ramoops-1')), { reason: 'Panic', counter: 2 });
  t.like(parseEccNotice(expected('c61-zstd-ecc16-full', 'console-ramoops-0')), {
    text: 'ECC: No errors detected',
    corrected: 0,
    unrecoverable: 0,
    prefixed: true,
  });
});

test('ECC notices of the captures: none, clean, corrected, unrecoverable', (t) => {
  t.is(parseEccNotice(expected('deb61-noecc', 'dmesg-ramoops-0')), undefined);
  t.like(parseEccNotice(expected('deb61-ecc16-1panic', 'dmesg-ramoops-0')), { text: 'ECC: No errors detected', length: 25 });
  t.like(parseEccNotice(expected('deb61-ecc16-corrected', 'dmesg-ramoops-0')), {
    text: 'ECC: 9 Corrected bytes, 0 unrecoverable blocks',
    corrected: 9,
    unrecoverable: 0,
  });
  t.like(parseEccNotice(expected('deb61-ecc16-uncorrectable', 'dmesg-ramoops-0.enc.z')), { corrected: 0, unrecoverable: 1 });
});

test('ECC notices of kernels before 5.18 have no prefix', (t) => {
  const enc = new TextEncoder();
  t.like(parseEccNotice(enc.encode('log\n\n3 Corrected bytes, 1 unrecoverable blocks\n')), { corrected: 3, unrecoverable: 1, prefixed: false });
  t.like(parseEccNotice(enc.encode('log\n\nNo errors detected\n')), { text: 'No errors detected', prefixed: false, length: 20 });
  // Not at the very end: not a notice.
  t.is(parseEccNotice(enc.encode('\nECC: No errors detected\nmore\n')), undefined);
  t.deepEqual(withoutEccNotice(enc.encode('abc\nECC: No errors detected\n')), enc.encode('abc'));
});

test("log prefixes: syslog level, time stamp, caller id; the text's own indentation stays", (t) => {
  t.is(stripLogPrefix('<4>[    3.251027]  dump_stack_lvl+0x44/0x5c'), ' dump_stack_lvl+0x44/0x5c');
  t.is(stripLogPrefix('<0>[    3.250024][    T96] Kernel panic - not syncing: x'), 'Kernel panic - not syncing: x');
  t.is(stripLogPrefix('[    6.399770] sysrq: Trigger a crash'), 'sysrq: Trigger a crash');
  t.is(stripLogPrefix('Panic#1 Part1'), 'Panic#1 Part1');
  t.is(stripLogPrefix('<6>no time stamps'), 'no time stamps');
});

const lines = (...l: string[]): string => l.join('\n') + '\n';

test('x86 NULL dereference: the BUG line above the Oops header is the headline', (t) => {
  const d = classifyDmesg(
    lines(
      'Oops#1 Part1',
      '<6>[   10.0] lkdtm: Performing direct entry NULL_DEREF',
      '<1>[   10.1] BUG: kernel NULL pointer dereference, address: 0000000000000000',
      '<1>[   10.1] #PF: supervisor read access in kernel mode',
      '<1>[   10.1] #PF: error_code(0x0000) - not-present page',
      '<6>[   10.1] PGD 0 P4D 0 ',
      '<4>[   10.1] Oops: 0000 [#1] PREEMPT SMP NOPTI',
      '<4>[   10.1] CPU: 0 PID: 1 Comm: sh Not tainted 6.1.0 #1',
      '<4>[   10.1] RIP: 0010:lkdtm_NULL_DEREF+0x5/0x10 [lkdtm]',
      '<4>[   10.1] Call Trace:',
      '<4>[   10.1]  <TASK>',
      '<4>[   10.1]  lkdtm_do_action+0x15/0x20 [lkdtm]',
      '<4>[   10.1]  direct_entry+0x9f/0xb0 [lkdtm]',
      '<4>[   10.1]  ? up_write+0x1/0x2',
      '<4>[   10.1]  full_proxy_write+0x50/0x80',
      '<4>[   10.1]  </TASK>',
      '<4>[   10.1] ---[ end trace 0000000000000000 ]---',
    ),
  );
  t.like(d, {
    reason: 'Oops',
    headline: 'BUG: kernel NULL pointer dereference, address: 0000000000000000',
    cause: 'lkdtm: Performing direct entry NULL_DEREF',
    rip: 'RIP: 0010:lkdtm_NULL_DEREF+0x5/0x10 [lkdtm]',
  });
  t.deepEqual(d.frames, ['lkdtm_do_action+0x15/0x20 [lkdtm]', 'direct_entry+0x9f/0xb0 [lkdtm]', 'full_proxy_write+0x50/0x80']);
});

test('panic_on_oops: the panic is the headline and the oops its cause', (t) => {
  const d = classifyDmesg(
    lines(
      'Panic#2 Part1',
      '<4>[    5.0] ------------[ cut here ]------------',
      '<4>[    5.0] kernel BUG at drivers/misc/lkdtm/bugs.c:76!',
      '<4>[    5.0] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI',
      '<4>[    5.0] RIP: 0010:lkdtm_BUG+0x5/0x10 [lkdtm]',
      '<4>[    5.0] Call Trace:',
      '<4>[    5.0]  direct_entry+0x9f/0xb0 [lkdtm]',
      '<0>[    5.1] Kernel panic - not syncing: Fatal exception',
    ),
  );
  t.like(d, { reason: 'Panic', counter: 2, headline: 'Kernel panic - not syncing: Fatal exception', cause: 'kernel BUG at drivers/misc/lkdtm/bugs.c:76!' });
  // No trace after the panic line: its frames are not borrowed from the oops above.
  t.deepEqual(d.frames, []);
});

test('general protection fault (6.10+ "Oops: " form) and an arm64 report', (t) => {
  t.is(
    classifyDmesg(lines('Oops#1 Part1', '<4>[ 1.0] Oops: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP'))
      .headline,
    'Oops: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP',
  );
  const arm = classifyDmesg(
    lines(
      'Oops#1 Part1',
      '[   20.0] Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000',
      '[   20.0] Mem abort info:',
      '[   20.0] Internal error: Oops: 0000000096000045 [#1] PREEMPT SMP',
      '[   20.0] pc : lkdtm_WRITE_KERN+0x1c/0x40',
      '[   20.0] Call trace:',
      '[   20.0]  lkdtm_WRITE_KERN+0x1c/0x40',
      '[   20.0]  direct_entry+0x120/0x160',
    ),
  );
  t.like(arm, { headline: 'Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000', rip: 'pc : lkdtm_WRITE_KERN+0x1c/0x40' });
  t.deepEqual(arm.frames, ['lkdtm_WRITE_KERN+0x1c/0x40', 'direct_entry+0x120/0x160']);
});

test('a record without a header or a failure line still has its last line', (t) => {
  const d = classifyDmesg(lines('<6>[ 1.0] hello', '<6>[ 2.0] reboot: Restarting system'));
  t.like(d, { reason: undefined, counter: undefined, headline: undefined, lastLine: 'reboot: Restarting system' });
});
