// Reading the CI examples (examples/*.yml) the way their CI engine would, far enough to test
// them: the YAML parsed (js-yaml, which ava brings), the engine's variables put in for each of
// the N shard jobs, the shell lines split into commands, and the `ramoops` ones parsed by our
// own CLI's yargs definitions (handlers replaced: nothing runs). Then the unit test checks the
// plan, and the integration test runs it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import yargs from 'yargs';
import type { CommandModule } from 'yargs';
import { matrixCommand } from '../../harness/cli/commands/matrix.js';
import { mergeCommand, reportCommand } from '../../harness/cli/commands/report.js';
import { repoRoot } from './paths.js';

type Yaml = { readonly [k: string]: unknown };

export function loadYaml(file: string): Yaml {
  const yaml = createRequire(import.meta.url)('js-yaml') as { safeLoad?: (s: string) => unknown; load: (s: string) => unknown };
  const doc = (yaml.safeLoad ?? yaml.load)(readFileSync(path.join(repoRoot(), file), 'utf8'));
  if (typeof doc !== 'object' || doc === null) throw new Error(`${file}: not a YAML mapping`);
  return doc as Yaml;
}

/**
 * Shell words of a script, command by command (split at newlines, `;`, `&&`, `||`, `|`):
 * quotes, `\` line continuations, `#` comments, $NAME and ${NAME} (an unknown one throws: a
 * typo in an example must fail), and unquoted `*` words expanded by `glob` (left as written
 * when nothing matches, as bash does).
 */
export function shellCommands(script: string, env: Readonly<Record<string, string>>, glob: (pattern: string) => string[] = () => []): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | undefined;
  let globbed = false;
  const endWord = (): void => {
    if (word === undefined) return;
    const hits = globbed ? glob(word) : [];
    words.push(...(hits.length > 0 ? hits : [word]));
    word = undefined;
    globbed = false;
  };
  const endCommand = (): void => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  const expand = (at: number): [string, number] => {
    const m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(script.slice(at));
    if (m === null) return ['$', at + 1];
    const name = (m[1] ?? m[2])!;
    const value = env[name];
    if (value === undefined) throw new Error(`\$${name} is not set in the example's environment`);
    return [value, at + m[0].length];
  };
  let i = 0;
  while (i < script.length) {
    const c = script[i]!;
    if (c === '\\' && script[i + 1] === '\n') i += 2;
    else if (c === '\n' || c === ';' || c === '|' || (c === '&' && script[i + 1] === '&')) {
      endCommand();
      i += c === '&' || (c === '|' && script[i + 1] === '|') ? 2 : 1;
    } else if (c === ' ' || c === '\t') {
      endWord();
      i++;
    } else if (c === '#' && word === undefined) {
      while (i < script.length && script[i] !== '\n') i++;
    } else if (c === "'") {
      const end = script.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${script}`);
      word = (word ?? '') + script.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      word ??= '';
      i++;
      while (i < script.length && script[i] !== '"') {
        if (script[i] === '$') {
          const [v, next] = expand(i);
          word += v;
          i = next;
        } else word += script[i++];
      }
      if (i >= script.length) throw new Error(`unterminated " in: ${script}`);
      i++;
    } else if (c === '$') {
      const [v, next] = expand(i);
      word = (word ?? '') + v;
      i = next;
    } else {
      if (c === '*') globbed = true;
      word = (word ?? '') + c;
      i++;
    }
  }
  endCommand();
  return commands;
}

/** Puts GitHub expressions (`${{ matrix.shard }}`) in; one that `values` lacks throws. */
export function githubExpressions(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, e: string) => {
    const v = values[e];
    if (v === undefined) throw new Error(`\${{ ${e} }} is not known to the test`);
    return v;
  });
}

/** A glob over known paths (`shards/*` -> the shard folders), sorted as bash sorts them in C locale. */
export function globOver(paths: readonly string[]): (pattern: string) => string[] {
  return (pattern) => {
    const re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    return paths.filter((p) => re.test(p)).sort();
  };
}

export interface ParsedRamoops {
  readonly command: 'matrix' | 'report merge';
  readonly args: Readonly<Record<string, unknown>>;
}

/** Parses `ramoops ...` words with the CLI's own definitions in strict mode; an unknown command or option throws. */
export async function parseRamoops(words: readonly string[]): Promise<ParsedRamoops> {
  if (words[0] !== 'ramoops') throw new Error(`not a ramoops command: ${words.join(' ')}`);
  let parsed: ParsedRamoops | undefined;
  const capture =
    (command: ParsedRamoops['command']) =>
    (args: unknown): void => {
      parsed = { command, args: args as Record<string, unknown> };
    };
  const merge = { ...mergeCommand, handler: capture('report merge') } as unknown as CommandModule;
  await yargs(words.slice(1))
    .scriptName('ramoops')
    .strict()
    .exitProcess(false)
    .fail((msg: string | undefined, err: Error | undefined) => {
      throw err ?? new Error(msg ?? 'invalid usage');
    })
    .command({ ...matrixCommand, handler: capture('matrix') } as unknown as CommandModule)
    .command({ ...reportCommand, builder: (y) => y.command(merge).demandCommand(1) } as CommandModule)
    .demandCommand(1)
    .parseAsync();
  if (parsed === undefined) throw new Error(`no command ran for: ${words.join(' ')}`);
  return parsed;
}

/** What a CI example does with N shards, as the engine would run it. */
export interface CiPlan {
  readonly shards: number;
  /** Per shard job: its ramoops words, the folder it keeps as an artifact, and where the merge job finds that folder. */
  readonly shardJobs: readonly { readonly words: readonly string[]; readonly kept: readonly string[]; readonly arrivesAs: string }[];
  /** The merge job's ramoops words (shard folders expanded) and the folders it keeps. */
  readonly merge: { readonly words: readonly string[]; readonly kept: readonly string[] };
}

function ramoopsIn(commands: readonly string[][], where: string): string[] {
  const hits = commands.filter((c) => c[0] === 'ramoops');
  if (hits.length !== 1) throw new Error(`${where}: expected one ramoops command, found ${hits.length}`);
  return hits[0]!;
}

type Step = { readonly run?: string; readonly uses?: string; readonly if?: string; readonly with?: Readonly<Record<string, string>> };

/** examples/github-actions.yml: `strategy.matrix.shard` jobs, upload-artifact, download-artifact into per-artifact folders, merge. */
export function githubPlan(doc: Yaml): CiPlan {
  const jobs = doc['jobs'] as Readonly<Record<string, { steps: Step[]; strategy?: { matrix: { shard: number[] } }; needs?: string; if?: string }>>;
  const shardJob = jobs['shard']!;
  const list = shardJob.strategy!.matrix.shard;
  // A shard that mismatched exits 1: its folder must still be uploaded and the merge still run.
  const base = { 'github.run_id': '4242', '!cancelled()': 'even-after-failure' };
  if (jobs['report']!.if !== '${{ !cancelled() }}') throw new Error('the report job must run when a shard failed: if: ${{ !cancelled() }}');
  const shardJobs = list.map((s) => {
    const values = { ...base, 'matrix.shard': String(s), 'strategy.job-total': String(list.length) };
    const steps = shardJob.steps.map((st) => JSON.parse(githubExpressions(JSON.stringify(st), values)) as Step);
    const words = ramoopsIn(
      steps.flatMap((st) => (st.run === undefined ? [] : shellCommands(st.run, {}))),
      `shard ${s}`,
    );
    const uploads = steps.filter((st) => st.uses?.startsWith('actions/upload-artifact@') === true);
    if (uploads.length === 0 || uploads.some((u) => u.if !== 'even-after-failure'))
      throw new Error(`shard ${s}: upload the folder with if: \${{ !cancelled() }}`);
    const download = jobs['report']!.steps.find((st) => st.uses?.startsWith('actions/download-artifact@') === true)!;
    const name = uploads[0]!.with!['name']!;
    if (!globOver([name])(download.with!['pattern']!).includes(name)) throw new Error(`artifact ${name} is not downloaded by the report job`);
    return { words, kept: uploads.map((u) => u.with!['path']!), arrivesAs: `${download.with!['path']!}/${name}` };
  });
  const report = jobs['report']!;
  const steps = report.steps.map((st) => JSON.parse(githubExpressions(JSON.stringify(st), base)) as Step);
  const glob = globOver(shardJobs.map((j) => j.arrivesAs));
  const words = ramoopsIn(
    steps.flatMap((st) => (st.run === undefined ? [] : shellCommands(st.run, {}, glob))),
    'report',
  );
  const kept = steps.filter((st) => st.uses?.startsWith('actions/upload-artifact@') === true).map((st) => st.with!['path']!);
  return { shards: list.length, shardJobs, merge: { words, kept } };
}

type GitlabJob = {
  readonly parallel?: number;
  readonly when?: string;
  readonly script: string[];
  readonly artifacts: { readonly paths: string[]; readonly when?: string };
};

/** examples/gitlab-ci.yml: `parallel: N` shard jobs (CI_NODE_INDEX/CI_NODE_TOTAL), artifacts restored in place, merge. */
export function gitlabPlan(doc: Yaml): CiPlan {
  const shardJob = doc['ramoops-shard'] as GitlabJob;
  const n = shardJob.parallel!;
  const report = doc['ramoops-report'] as GitlabJob;
  // A shard that mismatched exits 1: its folder must still be kept and the merge still run.
  if (shardJob.artifacts.when !== 'always' || report.artifacts.when !== 'always' || report.when !== 'always')
    throw new Error('artifacts:when and the report job need `when: always`');
  const env = { CI_PIPELINE_ID: '4242', CI_JOB_URL: 'https://gitlab.example.org/lab/kernel/-/jobs/777' };
  const shardJobs = Array.from({ length: n }, (_, i) => {
    const words = ramoopsIn(
      shardJob.script.flatMap((l) => shellCommands(l, { ...env, CI_NODE_INDEX: String(i + 1), CI_NODE_TOTAL: String(n) })),
      `shard ${i + 1}`,
    );
    const out = words[words.indexOf('--out') + 1]!;
    // GitLab restores artifacts at the paths they were taken from.
    return { words, kept: shardJob.artifacts.paths, arrivesAs: out };
  });
  const glob = globOver(shardJobs.map((j) => j.arrivesAs));
  const words = ramoopsIn(
    report.script.flatMap((l) => shellCommands(l, env, glob)),
    'report',
  );
  return { shards: n, shardJobs, merge: { words, kept: report.artifacts.paths } };
}
