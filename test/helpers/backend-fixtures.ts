// Real captures of pstore's other backends: a folder with the backend's storage file
// (erst.bin: QEMU's acpi-erst memory backend; vars.fd: OVMF's variable store), guest-info.txt
// and expected/ (the guest's /sys/fs/pstore). A new folder needs no code change.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../../src/index.js';
import type { ExpectedFile } from './fixtures.js';
import { fixturesDir } from './paths.js';

export interface BackendFixture {
  readonly name: string;
  readonly dir: string;
  readonly backend: Backend;
  /** Path of the storage file. */
  readonly storage: string;
  readonly bytes: Uint8Array;
  readonly release: string;
  readonly cmdline: string;
  readonly expected: readonly ExpectedFile[];
}

const STORAGE: readonly (readonly [string, Backend])[] = [
  ['erst.bin', 'erst'],
  ['vars.fd', 'efi'],
];

export function loadBackendFixtures(): BackendFixture[] {
  const root = fixturesDir();
  const out: BackendFixture[] = [];
  for (const d of readdirSync(root, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    const found = STORAGE.find(([file]) => existsSync(join(root, d.name, file)));
    if (found) out.push(loadBackendFixture(d.name, found[0], found[1]));
  }
  return out;
}

function loadBackendFixture(name: string, file: string, backend: Backend): BackendFixture {
  const dir = join(fixturesDir(), name);
  const info = readFileSync(join(dir, 'guest-info.txt'), 'utf8').split('\n');
  const expected = readFileSync(join(dir, 'expected', 'LISTING'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [n = '', size, mtime] = l.trim().split(/\s+/);
      return { name: n, size: Number(size), mtime: Number(mtime), bytes: new Uint8Array(readFileSync(join(dir, 'expected', n))) };
    });
  const storage = join(dir, file);
  return { name, dir, backend, storage, bytes: new Uint8Array(readFileSync(storage)), release: (info[0] ?? '').trim(), cmdline: info[1] ?? '', expected };
}

/** A fixture by folder name (tests that damage one on purpose). */
export function backendFixture(name: string): BackendFixture {
  const fx = loadBackendFixtures().find((f) => f.name === name);
  if (!fx) throw new Error(`backend fixture ${name} missing under test/fixtures`);
  return fx;
}
