// The CI examples run here as their engines would run them: each shard job of
// examples/github-actions.yml in its own fresh workspace (one process each, as on separate
// runners), its kept folder carried to where the merge job finds it, then the merge job of
// each example (examples/gitlab-ci.yml's shard jobs run the same matrix, checked below, so its
// merge takes the same shard folders at its own paths). The merged folder must hold every
// cell, report.html and junit.xml, and a KCIDB file that validates against kcidb-io's schema.
// Run alone (scripts/run-tests.mjs phase 2).
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import type { MatrixReport } from '../../harness/matrix/run.js';
import { githubPlan, gitlabPlan, loadYaml, type CiPlan } from '../helpers/ci-examples.js';
import { serialUnless, x86SkipReason } from '../helpers/integration.js';
import { validate } from '../helpers/json-schema.js';
import { fixturesDir, repoRoot } from '../helpers/paths.js';

const ciTest = serialUnless(x86SkipReason({ debianKernel: true }));
const CLI = join(repoRoot(), 'dist/harness/cli/main.js');
const SCHEMA = JSON.parse(readFileSync(join(fixturesDir(), 'kcidb', 'kcidb-io.schema.v5.3.json'), 'utf8')) as object;

/** `ramoops ...` as the installed command would run it, in `cwd`. */
async function ramoops(words: readonly string[], cwd: string): Promise<{ exitCode: number | undefined; all: string }> {
  const r = await execa(process.execPath, [CLI, ...words.slice(1)], { cwd, reject: false, all: true });
  return { exitCode: r.exitCode, all: r.all };
}

/** The shard words without --out's value: what must agree between the two examples. */
const matrixOf = (w: readonly string[]): string[] => w.filter((_, i) => w[i - 1] !== '--out');

ciTest('the examples run: 2 shard jobs in their own workspaces, each merge job gives one report with valid KCIDB', async (t) => {
  t.timeout(60 * 60_000);
  const tmp = await dir({ prefix: 'ramoops-ci-examples-', unsafeCleanup: true });
  if (process.env['RAMOOPS_KEEP_ARTIFACTS'] !== '1') t.teardown(() => tmp.cleanup());
  const gh: CiPlan = githubPlan(loadYaml('examples/github-actions.yml'));
  const gl: CiPlan = gitlabPlan(loadYaml('examples/gitlab-ci.yml'));
  t.is(gl.shards, gh.shards);
  for (const [i, j] of gh.shardJobs.entries()) t.deepEqual(matrixOf(gl.shardJobs[i]!.words), matrixOf(j.words));

  const shardFolders: string[] = [];
  for (const [i, job] of gh.shardJobs.entries()) {
    const ws = join(tmp.path, `runner-${i + 1}`);
    mkdirSync(ws);
    const r = await ramoops(job.words, ws);
    const out = join(ws, job.words[job.words.indexOf('--out') + 1]!);
    t.true(existsSync(join(out, 'shard.json')), r.all);
    const m = JSON.parse(readFileSync(join(out, 'matrix.json'), 'utf8')) as MatrixReport;
    t.is(r.exitCode, m.exitCode, r.all);
    t.true(m.cells.length > 0, `shard ${i + 1} ran cells`);
    shardFolders.push(out);
  }
  const merged: MatrixReport[] = [];
  for (const [name, plan] of [
    ['github', gh],
    ['gitlab', gl],
  ] as const) {
    const ws = join(tmp.path, `${name}-report`);
    for (const [i, job] of plan.shardJobs.entries()) cpSync(shardFolders[i]!, join(ws, job.arrivesAs), { recursive: true });
    const r = await ramoops(plan.merge.words, ws);
    const words = plan.merge.words;
    const out = join(ws, words[words.indexOf('--out') + 1]!);
    const m = JSON.parse(readFileSync(join(out, 'matrix.json'), 'utf8')) as MatrixReport;
    t.is(r.exitCode, m.exitCode, r.all);
    t.true(existsSync(join(out, 'report.html')) && existsSync(join(out, 'junit.xml')));
    const kcidb = JSON.parse(readFileSync(join(ws, words[words.indexOf('--kcidb') + 1]!), 'utf8')) as { tests: { status: string; id: string }[] };
    t.deepEqual(validate(SCHEMA, kcidb), [], name);
    t.is(kcidb.tests.length, m.cells.length);
    t.true(
      kcidb.tests.every((x) => x.id.includes('-4242-cell-')),
      'the pipeline id is in the test ids',
    );
    merged.push(m);
  }
  t.is(merged[0]!.cells.length, merged[0]!.summary.cells);
  t.deepEqual(
    merged[1]!.cells.map((c) => [c.label, c.verdict]),
    merged[0]!.cells.map((c) => [c.label, c.verdict]),
  );
  t.log(
    `verdicts ${JSON.stringify(merged[0]!.summary)}; shards ${shardFolders.map((d) => (JSON.parse(readFileSync(join(d, 'matrix.json'), 'utf8')) as MatrixReport).seconds).join(' + ')} s`,
  );
});
