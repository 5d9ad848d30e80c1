// The house's one-way streets, checked on the sources: no import cycles anywhere (type-only
// imports count: a cycle of types is still a knot for a reader), src/ never reaches into
// harness/ or tools/, harness/ never into tools/, and the top of harness/ holds only what all
// its folders share.
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { repoRoot } from './helpers/paths.js';

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** file -> the project files it imports (relative specifiers only), paths relative to the root. */
function importGraph(root: string, tops: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of tops.flatMap((t) => tsFiles(join(root, t)))) {
    const from = relative(root, f);
    const to: string[] = [];
    for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? '';
      if (spec.startsWith('.')) to.push(normalize(join(dirname(from), spec)).replace(/\.js$/, '.ts'));
    }
    graph.set(from, to);
  }
  return graph;
}

/** Every cycle found by a depth-first walk, each as the list of files around it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'open') found.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m) && graph.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return found;
}

const root = repoRoot();
const graph = importGraph(root, ['src', 'harness', 'tools']);

test('no import cycles in src/, harness/ or tools/', (t) => {
  t.true(graph.size > 100);
  t.deepEqual(
    cycles(graph).map((c) => c.join(' -> ')),
    [],
  );
});

test('the cycle finder finds a planted cycle', (t) => {
  const g = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', ['a.ts']],
  ]);
  t.deepEqual(cycles(g), [['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
});

test('imports run one way: tools -> harness -> src', (t) => {
  const bad: string[] = [];
  for (const [from, tos] of graph) {
    for (const to of tos) {
      if (from.startsWith('src/') && !to.startsWith('src/')) bad.push(`${from} -> ${to}`);
      if (from.startsWith('harness/') && to.startsWith('tools/')) bad.push(`${from} -> ${to}`);
    }
  }
  t.deepEqual(bad, []);
});

test('the top of harness/ holds only errors.ts; everything else lives in a folder named for it', (t) => {
  const loose = readdirSync(join(root, 'harness')).filter((n) => !statSync(join(root, 'harness', n)).isDirectory());
  t.deepEqual(loose, ['errors.ts']);
});
