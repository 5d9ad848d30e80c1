// The command lines a run keeps (qemu-cmdline.txt, kernel-cmdline.txt): one shell line that
// splits back into the argv, and neither key word in clear.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KERNEL_CMDLINE_FILE, saveCommandLine, shellLine } from '../../../harness/cycle/command-lines.js';
import { guestCmdline } from '../../../harness/cycle/guest-cmdline.js';
import { generateGuestHostKey, generateRunKeys } from '../../../harness/ssh/keys.js';

const keys = generateRunKeys();
const host = generateGuestHostKey();
const append = guestCmdline(
  { memAddress: 0x8000000, memSize: 0x100000 },
  'ramoops.mem_address=0x8000000 ramoops.mem_size=0x100000',
  ["dyndbg='x y'"],
  keys.cmdlineWord,
  host.cmdlineWord,
);
const argv = ['qemu-system-x86_64', '-machine', 'q35,memory-backend=mem', '-initrd', '/tmp/a b/initrd', '-append', append];

test('the shell line splits back into the argv (sh itself reads it), key words masked', (t) => {
  const line = shellLine(argv);
  t.false(line.includes(keys.cmdlineWord));
  t.false(line.includes(host.cmdlineWord));
  t.true(line.includes('rh.key=<run key> rh.hostkey=<run host key>'));
  // Commas stay unquoted: QEMU's options are full of them.
  t.true(line.includes(' -machine q35,memory-backend=mem '));
  const r = spawnSync('sh', ['-c', `printf '%s\\n' ${line}`], { encoding: 'utf8' });
  t.deepEqual(r.stdout.trimEnd().split('\n'), [
    ...argv.slice(0, -1),
    append.replace(keys.cmdlineWord, 'rh.key=<run key>').replace(host.cmdlineWord, 'rh.hostkey=<run host key>'),
  ]);
});

test('saveCommandLine writes the masked line and a newline', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rh-cmdline-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const saved = saveCommandLine(dir, KERNEL_CMDLINE_FILE, append);
  t.is(readFileSync(join(dir, KERNEL_CMDLINE_FILE), 'utf8'), saved + '\n');
  t.regex(saved, /memmap=0x100000\$0x8000000 .* rh\.key=<run key> rh\.hostkey=<run host key>$/);
});
