// The shard split: deterministic, complete, kernel groups kept together, balanced.
import test from 'ava';
import { kernelBuildCost, matrixId, parseShard, scenarioCost, ShardSpecError, splitCells } from '../../../harness/matrix/shard.js';
import type { MatrixCell } from '../../../harness/matrix/run.js';

function cells(kernels: readonly string[], perKernel: number): MatrixCell[] {
  const out: MatrixCell[] = [];
  for (const k of kernels) {
    for (let j = 0; j < perKernel; j++) {
      const index = out.length;
      out.push({ index, kernel: k, kernelLabel: k, config: 'default', scenario: `s${j}`, label: `${k} / default / s${j}`, outDir: `o/${index}` });
    }
  }
  return out;
}

test('parseShard accepts i/N and rejects the rest with a ShardSpecError', (t) => {
  t.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
  for (const bad of ['0/3', '4/3', '1/0', 'x', '1-3']) t.throws(() => parseShard(bad), { instanceOf: ShardSpecError });
});

test('split: every cell once, same result for the same list, built kernels stay together', (t) => {
  const all = cells(['a', 'b', 'c', 'd', 'e', 'f'], 2);
  const built = (): number => 5;
  const s1 = splitCells(all, 3, () => 1, built);
  t.deepEqual(
    s1,
    splitCells([...all].reverse(), 3, () => 1, built),
  );
  t.deepEqual(
    s1
      .flat()
      .map((c) => c.index)
      .sort((x, y) => x - y),
    all.map((c) => c.index),
  );
  for (const shard of s1) t.is(shard.length, 4);
  for (const k of ['a', 'b', 'c']) t.is(s1.filter((s) => s.some((c) => c.kernel === k)).length, 1);
});

test('split: more shards than kernels leaves empty shards, heavy kernels spread', (t) => {
  const s = splitCells(
    cells(['a', 'b'], 3),
    3,
    () => 1,
    (k) => (k === 'a' ? 10 : 1),
  );
  t.is(s.filter((x) => x.length === 0).length, 1);
  t.is(
    s[0]!.every((c) => c.kernel === 'a'),
    true,
  );
});

test('split: a stock kernel (nothing to build) spreads its cells over every shard, by cost', (t) => {
  const all = cells(['debian'], 12);
  const s = splitCells(all, 3);
  t.deepEqual(
    s.map((x) => x.length),
    [4, 4, 4],
  );
  t.deepEqual(
    s
      .flat()
      .map((c) => c.index)
      .sort((x, y) => x - y),
    all.map((c) => c.index),
  );
  // One heavy cell (selftests) balances against several light ones.
  const heavy = splitCells(all.slice(0, 4), 2, (c) => (c.index === 0 ? 3 : 1));
  t.deepEqual(
    heavy.map((x) => x.map((c) => c.index)),
    [[0], [1, 2, 3]],
  );
});

test('scenarioCost and kernelBuildCost: selftests, several crashes, cycles and builds weigh more', (t) => {
  const all = cells(['debian'], 3);
  const cost = scenarioCost(
    [
      { name: 's0', crash: [1] },
      { name: 's1', crash: [1, 2, 3] },
      { name: 's2', crash: [1], kselftest: {} },
    ],
    2,
  );
  t.deepEqual(all.map(cost), [2, 4, 10]);
  t.true(kernelBuildCost('build:debian-6.1:base,pstore-full') > 0);
  t.is(kernelBuildCost('debian'), 0);
});

test('matrixId: same options in any key order give one id; another cell list another', (t) => {
  const all = cells(['a', 'b'], 2);
  const id = matrixId({ jobs: 2, cycles: 1 }, all);
  t.is(matrixId({ cycles: 1, jobs: 2 }, all), id);
  t.not(matrixId({ cycles: 2, jobs: 2 }, all), id);
  t.not(matrixId({ jobs: 2, cycles: 1 }, all.slice(1)), id);
  t.regex(id, /^[0-9a-f]{16}$/);
});
