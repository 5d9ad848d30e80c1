// The native search addon and the worker-thread search must return the same offsets as a
// plain search of the whole file: matches straddling the addon's 8 MiB windows and the slice
// boundaries of both engines, overlapping matches, matches ending at the last byte, a needle
// cut off by the end of the file, and `max` reached inside a later slice.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeFindAll, nativeSearch } from '../../../harness/io/native-search.js';
import { parallelFindAll, type SearchEngine } from '../../../harness/io/parallel-search.js';

const WINDOW = 8 << 20;
const SIZE = 2 * WINDOW + 5 * 4096 + 3; // not a multiple of anything the engines use

/** Pseudo-random text over a 5-letter alphabet: "DBGC" every ~600 bytes, partial matches everywhere. */
function makeFile(): Buffer {
  const b = Buffer.alloc(SIZE);
  let s = 0x2545f491;
  const abc = Buffer.from('DBGCx');
  for (let i = 0; i < SIZE; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    b[i] = abc[(s >>> 0) % 5] ?? 0;
  }
  const plant = (at: number, text: string): void => void b.write(text, at, 'latin1');
  // Across the windows (and the native slices, which are whole windows) and the JS slices of 2, 3 and 5 threads.
  for (const edge of [WINDOW, 2 * WINDOW, Math.ceil(SIZE / 2), Math.ceil(SIZE / 3), 2 * Math.ceil(SIZE / 3), Math.ceil(SIZE / 5), 4096, WINDOW + 4096]) {
    for (const k of [1, 2, 3]) plant(edge - k, 'DBGC');
  }
  plant(0, 'DBGC');
  plant(1000, 'AAAAAAA'); // overlapping matches of "AAA"
  plant(WINDOW - 2, 'AAAAA');
  plant(SIZE - 3, 'DBG'); // cut off by the end: no match
  plant(SIZE - 7, 'DBGC'); // ends 3 bytes before the end
  plant(WINDOW - 50, 'The quick brown fox jumps over the lazy dog, twice!'); // longer than a SIMD block, across a window
  for (const at of [5, WINDOW - 1, WINDOW, SIZE - 1]) b[at] = 7; // a one-byte needle, also in the very last byte
  return b;
}

/** Same offsets; a cheap comparison, as answers run to 100,000s of offsets. */
function same(got: readonly number[], want: readonly number[]): string {
  if (got.length !== want.length) return `${got.length} offsets, want ${want.length}`;
  const i = got.findIndex((o, k) => o !== want[k]);
  return i < 0 ? 'same' : `offset #${i} is ${got[i]}, want ${want[i]}`;
}

function bruteForce(b: Buffer, needle: Uint8Array, max: number): number[] {
  const out: number[] = [];
  for (let i = b.indexOf(needle); i >= 0 && out.length < max; i = b.indexOf(needle, i + 1)) out.push(i);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'rh-search-'));
const file = join(dir, 'dump.bin');
const data = makeFile();
writeFileSync(file, data);
writeFileSync(join(dir, 'empty.bin'), new Uint8Array(0));
writeFileSync(join(dir, 'tail.bin'), Buffer.from('xxDBGC'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const NEEDLES = ['DBGC', '\x07', 'GC', 'AAA', 'The quick brown fox jumps over the lazy dog, twice!', 'DBGCDBGCD'].map((s) => Buffer.from(s, 'latin1'));
const engines: SearchEngine[] = nativeFindAll() ? ['native', 'js'] : ['js'];
if (!nativeFindAll()) test('native search addon is not built: only the JS engine is checked', (t) => t.pass());

for (const engine of engines) {
  for (const threads of [1, 2, 3, 5]) {
    test(`${engine}, ${threads} thread(s): every needle, same offsets as a plain search`, async (t) => {
      for (const needle of NEEDLES) {
        const got = await parallelFindAll(file, needle, 1 << 22, undefined, { engine, threads });
        t.is(same(got, bruteForce(data, needle, 1 << 22)), 'same', JSON.stringify(needle.toString('latin1')));
      }
    });
  }
  test(`${engine}: max cuts the answer at the first matches, also when reached in a later slice`, async (t) => {
    const needle = Buffer.from('DBGC');
    const all = bruteForce(data, needle, 1 << 22);
    // Enough to reach into the second slice of a two-thread search.
    const deep = all.findIndex((o) => o >= SIZE / 2) + 3;
    for (const max of [0, 1, 3, deep])
      t.is(same(await parallelFindAll(file, needle, max, undefined, { engine, threads: 2 }), all.slice(0, max)), 'same', `max ${max}`);
  });
  test(`${engine}: an empty file, and a match in a file's last bytes`, async (t) => {
    t.deepEqual(await parallelFindAll(join(dir, 'empty.bin'), Buffer.from('DBGC'), 10, undefined, { engine }), []);
    t.deepEqual(await parallelFindAll(join(dir, 'tail.bin'), Buffer.from('DBGC'), 10, undefined, { engine, threads: 2 }), [2]);
  });
  test(`${engine}: progress adds up to the file size`, async (t) => {
    let last = 0;
    await parallelFindAll(
      file,
      Buffer.from('DBGC'),
      1 << 22,
      (done, total) => {
        t.is(total, SIZE);
        last = done;
      },
      { engine, threads: 2 },
    );
    t.is(last, SIZE);
  });
}

const addon = nativeSearch();
if (addon) {
  test('native: every search loop this CPU has (AVX2, SSE2, scalar) gives the same offsets', async (t) => {
    const best = addon.useImpl();
    try {
      for (const impl of ['scalar', 'sse2', 'avx2']) {
        // Only on x86-64 with AVX2 are all three there; useImpl says which one runs.
        const used = addon.useImpl(impl);
        for (const needle of NEEDLES) {
          const got = await parallelFindAll(file, needle, 1 << 22, undefined, { engine: 'native', threads: 3 });
          t.is(same(got, bruteForce(data, needle, 1 << 22)), 'same', `${used}: ${JSON.stringify(needle.toString('latin1'))}`);
        }
      }
    } finally {
      addon.useImpl(best);
    }
  });
}

test('a missing file is an error with its name, from either engine', async (t) => {
  for (const engine of engines) {
    await t.throwsAsync(parallelFindAll(join(dir, 'nope.bin'), Buffer.from('DBGC'), 10, undefined, { engine }), { message: /nope\.bin/ });
  }
});
