// The project's data folders (guest/, kernel-configs/) travel beside the code: found from this
// file whether it runs compiled (dist/harness/io) or from the sources (harness/io).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessError } from '../errors.js';

/** `<project>/<name>`: the first folder above this module holding both package.json and `name`. */
export function projectDir(name: string): string {
  const start = dirname(fileURLToPath(import.meta.url));
  let dir = start;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, name)) && existsSync(join(dir, 'package.json'))) return join(dir, name);
    dir = dirname(dir);
  }
  throw new HarnessError('kernel', `cannot find ${name}/ above ${start}: is the package installed whole?`);
}
