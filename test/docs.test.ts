// The documentation travels with the repository: every relative link in README.md and docs/
// must land on a file of this checkout, and no markdown may send a reader to the project's
// shared folder (../shared), which a user who clones the repository does not have.
import test from 'ava';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { repoRoot } from './helpers/paths.js';

/** Folders that are not the project's own writing (installed, built or version control). */
const SKIP = new Set(['node_modules', 'dist', '.git']);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    if (SKIP.has(n)) return [];
    const p = join(dir, n);
    return statSync(p).isDirectory() ? markdownFiles(p) : n.endsWith('.md') ? [p] : [];
  });
}

/** Text outside fenced code blocks and inline code spans: a path shown as code is not a link. */
function proseOf(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Link targets of inline links `[text](target "title")` and reference definitions `[id]: target`. */
function linkTargets(markdown: string): string[] {
  const prose = proseOf(markdown);
  const inline = [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? '');
  const refs = [...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1] ?? '');
  return [...inline, ...refs];
}

/** Relative targets only, without their #fragment; web links, mail and same-page anchors are not files. */
function relativeFileTarget(target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) return undefined;
  const path = decodeURI(target.split('#')[0] ?? '');
  return path === '' ? undefined : path;
}

const root = repoRoot();
const linkedDocs = [
  join(root, 'README.md'),
  ...readdirSync(join(root, 'docs'))
    .filter((n) => n.endsWith('.md'))
    .map((n) => join(root, 'docs', n)),
];

test('the link reader finds inline and reference links and ignores code', (t) => {
  const sample = [
    'See [format](docs/format.md#zones) and [site](https://example.org).',
    '[arch]: docs/architecture.md "the walk"',
    'Not a link: `[x](nowhere.md)`.',
    '```',
    '[y](inside-a-fence.md)',
    '```',
  ].join('\n');
  t.deepEqual(linkTargets(sample), ['docs/format.md#zones', 'https://example.org', 'docs/architecture.md']);
  t.deepEqual(linkTargets(sample).map(relativeFileTarget), ['docs/format.md', undefined, 'docs/architecture.md']);
});

test('README.md links to docs/format.md and docs/architecture.md, and both exist', (t) => {
  const targets = linkTargets(readFileSync(join(root, 'README.md'), 'utf8')).map(relativeFileTarget);
  for (const doc of ['docs/format.md', 'docs/architecture.md']) {
    t.true(targets.includes(doc), `README.md has no link to ${doc}`);
    t.true(existsSync(join(root, doc)), `${doc} is missing`);
  }
});

test('every relative link in README.md and docs/*.md points to a file in the repository', (t) => {
  let checked = 0;
  const broken: string[] = [];
  for (const file of linkedDocs) {
    for (const target of linkTargets(readFileSync(file, 'utf8'))) {
      const path = relativeFileTarget(target);
      if (path === undefined) continue;
      checked++;
      const to = resolve(dirname(file), path);
      const inside = to === root || to.startsWith(root + sep);
      if (!inside || !existsSync(to)) broken.push(`${relative(root, file)}: ${target}${inside ? '' : ' (outside the repository)'}`);
    }
  }
  t.deepEqual(broken, []);
  // The documents link to each other and to the sources: a count this low means the reader broke.
  t.true(checked >= 10, `only ${checked} relative links found`);
});

test('no markdown in the repository refers to the shared folder (../shared)', (t) => {
  const files = markdownFiles(root);
  t.true(files.length >= linkedDocs.length);
  const offenders = files
    .flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((line, i) => ({ f, line, i })),
    )
    .filter(({ line }) => line.includes('../shared') || line.includes('/work/shared'))
    .map(({ f, i }) => `${relative(root, f)}:${i + 1}`);
  t.deepEqual(offenders, []);
});
