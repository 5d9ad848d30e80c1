// readingKernelOffset: the reading boot's /proc/kallsyms `_stext` (over SSH) minus System.map's
// (`_stext`: arm64's kallsyms has no `_text`, which lies below the text range kallsyms keeps).
import test from 'ava';
import { parseSystemMap } from '../../../src/index.js';
import { HarnessError } from '../../../harness/errors.js';
import { kallsymsAddress, offsetFromRunning, readingKernelOffset, type ExecSession } from '../../../harness/cycle/kaslr.js';
import type { ExecResult } from '../../../harness/ssh/session.js';
import { loadFixture } from '../../helpers/fixtures.js';

function fake(stdout: string, code = 0, stderr = ''): ExecSession & { commands: string[] } {
  const commands: string[] = [];
  return {
    commands,
    exec: (command: string): Promise<ExecResult> => {
      commands.push(command);
      return Promise.resolve({ code, signal: undefined, stdout: Buffer.from(stdout), stderr: Buffer.from(stderr) });
    },
  };
}

const map = (): ReturnType<typeof parseSystemMap> => {
  const fx = loadFixture('c61-full-deflate');
  if (fx.systemMap === undefined) throw new Error('c61-full-deflate has no System.map');
  return parseSystemMap(fx.systemMap);
};

test('kallsymsAddress takes the _stext line and treats a hidden (0) address as absent', (t) => {
  t.is(kallsymsAddress('ffffffff9e400000 T _stext\n'), 0xffffffff9e400000n);
  t.is(kallsymsAddress('0000000000000000 T _stext\n'), undefined);
  t.is(kallsymsAddress('ffffffff9e400000 T _text\n'), undefined);
  t.is(kallsymsAddress('ffffffff9e400000 T _text\n', '_text'), 0xffffffff9e400000n);
});

test("readingKernelOffset: running _stext minus the real System.map's _stext (0xffffffff81000000)", async (t) => {
  const ssh = fake('ffffffff9e400000 T _stext\n');
  const off = await readingKernelOffset(ssh, map());
  t.is(off.value, 0x1d400000n);
  t.regex(off.source, /reading boot's \/proc\/kallsyms _stext 0xffffffff9e400000 - System\.map _stext 0xffffffff81000000/);
  // One command: read, lowering kptr_restrict only when the address is hidden, and putting it back.
  t.is(ssh.commands.length, 1);
  t.regex(ssh.commands[0] ?? '', /kptr_restrict/);
});

test('readingKernelOffset: an unrandomized kernel gives 0', async (t) => {
  t.is((await readingKernelOffset(fake('ffffffff81000000 T _stext\n'), map())).value, 0n);
});

test('readingKernelOffset: hidden addresses, no kallsyms, or a map of another kernel are harness errors that say why', async (t) => {
  const hidden = await t.throwsAsync(readingKernelOffset(fake('0000000000000000 T _stext\n'), map()), { instanceOf: HarnessError });
  t.regex(hidden?.message ?? '', /hidden.*kptr_restrict/);
  const none = await t.throwsAsync(readingKernelOffset(fake('', 1, 'grep: /proc/kallsyms: No such file or directory'), map()), { instanceOf: HarnessError });
  t.regex(none?.message ?? '', /no _stext line.*No such file.*KALLSYMS/);
  t.throws(() => offsetFromRunning(0xffffffff80000000n, map()), { instanceOf: HarnessError, message: /not the running kernel's/ });
  t.throws(() => offsetFromRunning(0xffffffff81000000n, parseSystemMap('ffffffff81000000 T startup_64\n')), { instanceOf: HarnessError, message: /no _stext/ });
});
