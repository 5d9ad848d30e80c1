// A golden file under test/golden/: compared byte for byte; RAMOOPS_UPDATE_GOLDEN=1 rewrites it (review the diff like code).
import type { ExecutionContext } from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export function matchesGolden(t: ExecutionContext, relPath: string, actual: string): void {
  const file = join(repoRoot(), 'test', 'golden', relPath);
  if (process.env['RAMOOPS_UPDATE_GOLDEN'] === '1') writeFileSync(file, actual);
  t.is(actual, readFileSync(file, 'utf8'), `differs from test/golden/${relPath}`);
}
