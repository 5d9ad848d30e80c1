// The guest command line carries both key words, last, and what the report keeps of it names
// neither key.
import test from 'ava';
import { guestCmdline } from '../../../harness/cycle/guest-cmdline.js';
import { generateGuestHostKey, generateRunKeys, maskKeyWords } from '../../../harness/ssh/keys.js';

test('guestCmdline ends with the run key and the guest host key words; masked, neither key is left', (t) => {
  const run = generateRunKeys();
  const host = generateGuestHostKey();
  const line = guestCmdline({ memAddress: 0x8000000, memSize: 0x100000 }, ' ramoops.mem_size=0x100000 ', ['nokaslr'], run.cmdlineWord, host.cmdlineWord);
  t.is(
    line,
    `console=ttyS0 quiet loglevel=4 panic=-1 no_timer_check memmap=0x100000$0x8000000 ramoops.mem_size=0x100000 nokaslr ${run.cmdlineWord} ${host.cmdlineWord}`,
  );
  // The kernel keeps 2048 bytes of command line on x86 and arm64.
  t.true(line.length < 2048);
  t.is(
    maskKeyWords(line),
    'console=ttyS0 quiet loglevel=4 panic=-1 no_timer_check memmap=0x100000$0x8000000 ramoops.mem_size=0x100000 nokaslr rh.key=<run key> rh.hostkey=<run host key>',
  );
});
