// dmesg header parsing with the kernel's sscanf rules (ramoops-format.md §4.3).
import test from 'ava';
import { parseDmesgHeader } from '../../../src/index.js';

const enc = (s: string | number[]) => (typeof s === 'string' ? new TextEncoder().encode(s) : Uint8Array.from(s));

test('the 4.18+ form from a capture', (t) => {
  const h = parseDmesgHeader(enc('====1795678532.520635-C\nxyz'), true);
  t.deepEqual(h, { length: 24, seconds: 1795678532n, fraction: 520635n, compressed: true, flag: 0x43 });
});

test('the skip after the flag eats payload bytes that are kernel whitespace', (t) => {
  // A raw-deflate stream starting with 0x0B loses that byte, as in the kernel.
  const h = parseDmesgHeader(enc([...enc('====1.000001-C\n'), 0x0b, 0x0c, 0x41]), true);
  t.is(h?.length, 17);
});

test('flag other than C means uncompressed', (t) => {
  t.false(parseDmesgHeader(enc('====5.5-D\nPanic'), true)?.compressed);
  t.false(parseDmesgHeader(enc('====5.5-X\nPanic'), true)?.compressed);
});

test('pattern B: no flag', (t) => {
  const h = parseDmesgHeader(enc('====12.34\nOops'), true);
  t.deepEqual(h, { length: 10, seconds: 12n, fraction: 34n, compressed: false, flag: undefined });
});

test('≤4.17 unsigned seconds reject a minus sign; 4.18+ accepts it', (t) => {
  t.is(parseDmesgHeader(enc('====-5.1-D\n'), false), undefined);
  t.is(parseDmesgHeader(enc('====-5.1-D\n'), true)?.seconds, -5n);
});

test('numbers skip leading whitespace; overflow wraps', (t) => {
  t.is(parseDmesgHeader(enc('==== 7.\t8-D\n'), true)?.fraction, 8n);
  t.is(parseDmesgHeader(enc('====18446744073709551617.0-D\n'), true)?.seconds, 1n);
});

test('no header: undefined (the kernel drops the record)', (t) => {
  t.is(parseDmesgHeader(enc(' ====1.2-C\n'), true), undefined);
  t.is(parseDmesgHeader(enc('===1.2-C\n'), true), undefined);
  t.is(parseDmesgHeader(enc(''), true), undefined);
  t.is(parseDmesgHeader(enc('====.2-C'), true), undefined);
});

test('a header cut after the dot digits still matches pattern B', (t) => {
  t.is(parseDmesgHeader(enc('====1.2-'), true)?.length, 7);
});
