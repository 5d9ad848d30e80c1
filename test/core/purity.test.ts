// The core stays pure: nothing in src/ imports node:*, harness/, or the side-effect packages
// (execa, ssh2, yargs, tmp-promise), and nothing in it touches the process.
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

test('src/ imports no node:* module, no harness code, no process/network/CLI package', (t) => {
  const root = repoRoot();
  const bad: string[] = [];
  const files = tsFiles(join(root, 'src'));
  t.true(files.length > 20);
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? '';
      if (
        /^node:|^(fs|path|os|child_process|net|crypto|worker_threads|zlib)$/.test(spec) ||
        /harness\//.test(spec) ||
        /^(execa|ssh2|yargs|tmp-promise)(\/|$)/.test(spec)
      ) {
        bad.push(`${relative(root, f)} imports ${spec}`);
      }
    }
    if (/\bprocess\.(env|argv|exit|stdout|stderr)\b/.test(text)) bad.push(`${relative(root, f)} touches process`);
  }
  t.deepEqual(bad, []);
});
