// Real-kernel captures: region.bin, guest-info.txt and expected/ (the guest's /sys/fs/pstore).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from './paths.js';

export interface ExpectedFile {
  readonly name: string;
  readonly size: number;
  readonly mtime: number;
  readonly bytes: Uint8Array;
}

export interface Fixture {
  readonly name: string;
  readonly dir: string;
  readonly release: string;
  readonly cmdline: string;
  readonly memAddress: string;
  readonly region: Uint8Array;
  readonly systemMap: string | undefined;
  readonly expected: readonly ExpectedFile[];
}

/** Every capture folder with a region.bin; a new folder needs no code change. */
export function loadFixtures(): Fixture[] {
  const root = fixturesDir();
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'region.bin')))
    .map((d) => loadFixture(d.name));
}

export function loadFixture(name: string): Fixture {
  const dir = join(fixturesDir(), name);
  const info = readFileSync(join(dir, 'guest-info.txt'), 'utf8').split('\n');
  const cmdline = info[1] ?? '';
  const expected = readFileSync(join(dir, 'expected', 'LISTING'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [n, size, mtime] = l.trim().split(/\s+/);
      const fname = n ?? '';
      return { name: fname, size: Number(size), mtime: Number(mtime), bytes: new Uint8Array(readFileSync(join(dir, 'expected', fname))) };
    });
  const addr = /ramoops\.mem_address=(\S+)/.exec(cmdline)?.[1] ?? '0';
  const map = join(dir, 'System.map');
  return {
    name,
    dir,
    release: (info[0] ?? '').trim(),
    cmdline,
    memAddress: addr,
    region: new Uint8Array(readFileSync(join(dir, 'region.bin'))),
    systemMap: existsSync(map) ? readFileSync(map, 'utf8') : undefined,
    expected,
  };
}
