// `ramoops extract` on backend stores: --backend overrides what the first bytes say, a file
// that is not the store named is one line and exit 2, and --json carries the ids as strings.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendFixture } from '../../helpers/backend-fixtures.js';
import { repoRoot } from '../../helpers/paths.js';

const cli = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
const erst = backendFixture('deb61-erst-1panic');
const efi = backendFixture('deb61-efi-1panic');

function run(args: readonly string[]): { status: number | null; stdout: string; stderr: string; files: string[] | undefined } {
  const dir = mkdtempSync(join(tmpdir(), 'rh-cli-backend-'));
  const out = join(dir, 'out');
  try {
    const r = spawnSync(process.execPath, [cli, 'extract', ...args, '--out', out], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, files: existsSync(out) ? readdirSync(out).sort() : undefined };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('--backend efi on an OVMF store gives the same files as detection', (t) => {
  const r = run([efi.storage, '--backend', 'efi', '--kernel-version', efi.release]);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(r.files, efi.expected.map((e) => e.name).sort());
});

test('--backend erst on an OVMF store: one line naming what is missing, exit 2, nothing written', (t) => {
  const r = run([efi.storage, '--backend', 'erst']);
  t.is(r.status, 2);
  t.is(
    r.stderr,
    'ramoops: erst: not a QEMU acpi-erst store: no ERSTSTOR magic at offset 0, and no pstore CPER record on any 4 KiB boundary (at file offset 0x0)\n',
  );
  t.is(r.files, undefined);
});

test('--backend efi on an ERST store: exit 2, the firmware volume signature named', (t) => {
  const r = run([erst.storage, '--backend', 'efi']);
  t.is(r.status, 2);
  t.regex(r.stderr, /^ramoops: efi: no _FVH firmware volume signature .* \(at file offset 0x28\)\n$/);
});

test('--backend ramoops reads a store as a RAM dump (and finds no region there)', (t) => {
  const r = run([erst.storage, '--backend', 'ramoops', '--mem-address', '0', '--mem-size', '0x20000']);
  t.is(r.status, 2);
  t.regex(r.stderr, /carries a ramoops signature/);
});

test('--auto with a backend store is refused: it finds ramoops regions only', (t) => {
  const r = run([erst.storage, '--auto']);
  t.is(r.status, 2);
  t.regex(r.stderr, /--auto: .* is recognised as a QEMU acpi-erst store, which needs no --auto/);
});

test('--json: record ids as decimal strings (ERST ids pass 2^53), offsets and mtimes', (t) => {
  const r = run([erst.storage, '--json', '--kernel-version', erst.release]);
  t.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { backend: string; files: { name: string; id: string; offset: string; mtime: { seconds: number } }[] };
  t.is(j.backend, 'erst');
  t.deepEqual(
    j.files.map((f) => [f.name, f.id, f.offset, f.mtime.seconds]),
    [
      ['dmesg-erst-7715799401691611137', '7715799401691611137', '0x2000', 1796474541],
      ['dmesg-erst-7715799401691611138', '7715799401691611138', '0x4000', 1796474541],
    ],
  );
});
