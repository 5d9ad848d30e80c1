// `npm run lint` as a test, so `make test` holds the code to it: ESLint's type-aware rules with
// no errors, and prettier's formatting. A failure names the files and what is wrong with them.
import test from 'ava';
import { execa } from 'execa';
import { repoRoot } from './helpers/paths.js';

const TREES = ['src', 'harness', 'tools', 'test'];
const root = repoRoot();

// Type-aware ESLint over the whole tree takes a minute or two on a loaded machine.
const LIMIT_MS = 15 * 60_000;

interface EslintFileResult {
  readonly filePath: string;
  readonly errorCount: number;
  readonly messages: readonly { readonly line: number; readonly ruleId: string | null; readonly message: string; readonly severity: number }[];
}

test('eslint reports no errors', async (t) => {
  t.timeout(LIMIT_MS);
  const r = await execa('npx', ['eslint', '--format', 'json', ...TREES], { cwd: root, reject: false, stdin: 'ignore' });
  // Exit 1 is "errors found" (the JSON says which); anything else is ESLint itself failing.
  if (r.exitCode !== 0 && r.exitCode !== 1) return void t.fail(`eslint failed (exit ${r.exitCode}): ${r.stderr}`);
  const results = JSON.parse(r.stdout) as readonly EslintFileResult[];
  const errors = results.flatMap((f) =>
    f.messages.filter((m) => m.severity === 2).map((m) => `${f.filePath.slice(root.length + 1)}:${m.line} ${m.ruleId ?? ''} ${m.message}`),
  );
  t.deepEqual(errors, [], 'npx eslint src harness tools test');
  t.is(r.exitCode, 0);
});

test('prettier finds every file formatted', async (t) => {
  t.timeout(LIMIT_MS);
  const r = await execa('npx', ['prettier', '--check', ...TREES], { cwd: root, reject: false, stdin: 'ignore' });
  // prettier --check names each unformatted file on stderr as "[warn] path".
  const unformatted = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('[warn] ') && !l.includes('Code style issues'))
    .map((l) => l.slice('[warn] '.length));
  t.deepEqual(unformatted, [], 'npx prettier --write on these files');
  t.is(r.exitCode, 0, r.stderr);
});
