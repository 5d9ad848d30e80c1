// The copy-paste CI definitions in examples/ cannot rot: each parses as YAML, its shard jobs
// and merge job use only commands and options our CLI accepts (parsed by the CLI's own yargs
// definitions, then the values checked as the commands check them), the N shard jobs run the
// same matrix with --shard 1/N..N/N, every shard's folder is kept and reaches the merge job,
// and the merge's folder is kept. test/integration/ci-examples.test.ts runs the same plans.
import test from 'ava';
import path from 'node:path';
import { matrixConfig } from '../harness/cli/commands/matrix.js';
import { parseShard } from '../harness/matrix/shard.js';
import { checkKcidbOptions } from '../harness/report/kcidb.js';
import { loadScenario } from '../harness/cycle/scenario.js';
import { githubPlan, gitlabPlan, loadYaml, parseRamoops, shellCommands, type CiPlan } from './helpers/ci-examples.js';

const EXAMPLES = [
  ['examples/github-actions.yml', githubPlan],
  ['examples/gitlab-ci.yml', gitlabPlan],
] as const;

/** `dir` is inside one of the kept paths (a folder kept whole keeps what is under it). */
function keptBy(kept: readonly string[], dir: string): boolean {
  const norm = (p: string): string => path.posix.normalize(p).replace(/\/$/, '');
  return kept.some((k) => norm(dir) === norm(k) || norm(dir).startsWith(`${norm(k)}/`));
}

async function checkPlan(t: import('ava').ExecutionContext, plan: CiPlan): Promise<void> {
  t.true(plan.shards >= 2);
  const matrices = [];
  for (const [i, job] of plan.shardJobs.entries()) {
    const p = await parseRamoops(job.words);
    t.is(p.command, 'matrix');
    const a = p.args as { shard: string; out: string; configs: string[]; scenarios: string[]; arch: string };
    t.deepEqual(parseShard(a.shard), { index: i + 1, count: plan.shards });
    for (const c of a.configs) t.notThrows(() => matrixConfig(c, a.arch));
    for (const s of a.scenarios) t.notThrows(() => loadScenario(s));
    t.true(keptBy(job.kept, a.out), `shard ${i + 1}: --out ${a.out} is kept (${job.kept.join(', ')})`);
    const { shard: _s, out: _o, _: _u, $0: _z, ...rest } = p.args as Record<string, unknown>;
    matrices.push(rest);
  }
  // One matrix: every shard job runs the same options but --shard and --out.
  for (const m of matrices) t.deepEqual(m, matrices[0]);
  const merge = await parseRamoops(plan.merge.words);
  t.is(merge.command, 'report merge');
  const b = merge.args as { dirs: string[]; out: string; kcidb?: string; 'kcidb-origin': string; 'kcidb-url'?: string; 'kcidb-run'?: string };
  t.deepEqual(
    b.dirs,
    plan.shardJobs.map((j) => j.arrivesAs),
  );
  t.true(keptBy(plan.merge.kept, b.out), `merged --out ${b.out} is kept`);
  t.truthy(b.kcidb);
  t.true(keptBy(plan.merge.kept, path.posix.dirname(b.kcidb!)), 'the KCIDB file is kept');
  t.notThrows(() =>
    checkKcidbOptions({
      origin: b['kcidb-origin'],
      ...(b['kcidb-url'] === undefined ? {} : { baseUrl: b['kcidb-url'] }),
      ...(b['kcidb-run'] === undefined ? {} : { run: b['kcidb-run'] }),
    }),
  );
}

for (const [file, plan] of EXAMPLES) {
  test(`${file}: parses, and its shard and merge jobs are commands our CLI accepts`, async (t) => {
    await checkPlan(t, plan(loadYaml(file)));
  });
}

test('the CLI parser used above refuses an unknown option and an unknown command', async (t) => {
  await t.throwsAsync(() => parseRamoops(['ramoops', 'matrix', '--shards', '1/2']), { message: /Unknown argument: shards/ });
  await t.throwsAsync(() => parseRamoops(['ramoops', 'report', 'combine', 'a']), { message: /Unknown argument/ });
  await t.throwsAsync(() => parseRamoops(['ramoops', 'report', 'merge', 'a']), { message: /Missing required argument: out/ });
});

test('the shell reader splits commands, keeps quotes, expands variables and globs, and refuses an unset variable', (t) => {
  t.deepEqual(
    shellCommands(`a '' 'x y' "\${N}/$T" s/* && b # c\nd \\\n e`, { N: '1', T: '2' }, (p) => (p === 's/*' ? ['s/1', 's/2'] : [])),
    [['a', '', 'x y', '1/2', 's/1', 's/2'], ['b'], ['d', 'e']],
  );
  t.throws(() => shellCommands('a $CI_NODE_INDX', {}), { message: /\$CI_NODE_INDX is not set/ });
});
