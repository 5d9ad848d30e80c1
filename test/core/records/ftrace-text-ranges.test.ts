// kallsyms names only kernel text (is_ksym_addr without KALLSYMS_ALL): [_stext, _etext) and
// [_sinittext, _einittext), each section's last symbol ending at its end (get_symbol_pos).
// Pinned on a real System.map: a matrix cell whose ftrace records, shifted by the next boot's
// KASLR offset, fell past _etext was named `_etext+0x479b56/0x54c3` by us where the guest's
// kernel printed the raw 0xffffffff90c7a24f.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lookup, parseSystemMap, symbolAddress } from '../../../src/records/ftrace/symbols.js';
import { fixturesDir } from '../../helpers/paths.js';

const map = parseSystemMap(readFileSync(join(fixturesDir(), 'c61-kaslr-smp2-ftrace', 'System.map'), 'utf8'));
const at = (name: string): bigint => {
  const a = symbolAddress(map, name);
  if (a === undefined) throw new Error(`no ${name}`);
  return a;
};

test('addresses at or past _etext and before _sinittext have no name', (t) => {
  t.is(lookup(map, at('_etext')), undefined);
  t.is(lookup(map, at('_etext') + 0x479b56n), undefined);
  t.is(lookup(map, at('_sinittext') - 1n), undefined);
  t.is(lookup(map, at('_einittext')), undefined);
  // With a KASLR shift the same holds for the shifted addresses.
  t.is(lookup(map, at('_etext') + 0xf200000n, 0xf200000n), undefined);
});

test('the last text symbol ends at _etext; init text resolves and ends at _einittext', (t) => {
  const last = lookup(map, at('_etext') - 1n);
  t.is(last?.name, '__SCT__tp_func_ma_write');
  t.is(last?.size, at('_etext') - at('__SCT__tp_func_ma_write'));
  const first = lookup(map, at('_stext'));
  t.is(first?.offset, 0n);
  const init = lookup(map, at('_sinittext') + 4n);
  t.not(init, undefined);
  const lastInit = lookup(map, at('_einittext') - 1n);
  t.true(lastInit !== undefined && at('_einittext') - (at('_einittext') - 1n - lastInit.offset) === lastInit.size);
});
