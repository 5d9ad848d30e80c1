// `ramoops scan` runs without yargs for plain argument lists (start-up is measured against
// ripgrep). What the fast path accepts, yargs must accept with the same values; what it does
// not understand goes to yargs; and both paths print the same scan.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { parseScanArgs, scanCommand } from '../../../harness/cli/commands/scan.js';
import { repoRoot } from '../../helpers/paths.js';

/** The arguments the yargs path hands the handler (the fields it reads), or undefined for a usage error. */
function viaYargs(argv: readonly string[]): Record<string, unknown> | undefined {
  let got: Record<string, unknown> | undefined;
  try {
    yargs(['scan', ...argv])
      .command({ ...scanCommand, handler: (a) => void (got = a as unknown as Record<string, unknown>) })
      .strict()
      .exitProcess(false)
      .fail((msg: string | undefined, err: Error | undefined) => {
        throw err ?? new Error(msg);
      })
      .parseSync();
  } catch {
    return undefined;
  }
  if (!got) return undefined;
  const { dump, json, format, base, machine } = got;
  return { dump, json, format, base, ...(machine !== undefined ? { machine } : {}), ...(got['ram-size'] !== undefined ? { 'ram-size': got['ram-size'] } : {}) };
}

const PLAIN: readonly (readonly string[])[] = [
  ['d.bin'],
  ['d.bin', '--json'],
  ['--json', 'd.bin'],
  ['d.bin', '--base', '0x8000000'],
  ['d.bin', '--base=4G'],
  ['--format', 'raw', 'd.bin', '--json'],
  ['d.bin', '--format=qemu-ram', '--machine', 'pc', '--ram-size', '4608M'],
  ['/tmp/a dir/vmcore', '--format', 'elf'],
  ['dump-2024.bin', '--base', '0'],
];
const NOT_PLAIN: readonly (readonly string[])[] = [
  [],
  ['--help'],
  ['d.bin', '-h'],
  ['d.bin', '--no-json'],
  ['d.bin', '--json=false'],
  ['d.bin', '--json', '--json'],
  ['d.bin', '--json', 'true'],
  ['d.bin', '--format', 'zip'],
  ['d.bin', '--base'],
  ['d.bin', '--base', '--json'],
  ['d.bin', '--base', '1', '--base', '2'],
  ['d.bin', '--bogus', '1'],
  ['d.bin', 'e.bin'],
  ['123'],
  ['0x10'],
  ['true'],
  ['d.bin', '--'],
  ['-'],
];

test('every plain argument list gets the values yargs would give', (t) => {
  for (const argv of PLAIN) {
    const fast = parseScanArgs(argv);
    t.truthy(fast, argv.join(' '));
    t.deepEqual(fast, viaYargs(argv) as unknown, argv.join(' '));
  }
});

test('anything else is left to yargs', (t) => {
  for (const argv of NOT_PLAIN) t.is(parseScanArgs(argv), undefined, argv.join(' '));
});

test('the fast path and the yargs path print the same scan', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rh-scanfast-'));
  try {
    const region = readFileSync(join(repoRoot(), 'test/fixtures/deb61-ecc16-1panic/region.bin'));
    const dump = new Uint8Array(0x400000);
    dump.set(region, 0x100000);
    writeFileSync(join(dir, 'd.bin'), dump);
    const cli = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
    const run = (...args: string[]): string =>
      execFileSync(process.execPath, [cli, 'scan', join(dir, 'd.bin'), '--base', '0x7f00000', ...args], { encoding: 'utf8' });
    // --json=true and --json=false are not plain: yargs parses those runs.
    t.is(run('--json'), run('--json=true'));
    t.is(run(), run('--format', 'auto', '--json=false'));
    t.regex(run(), /region at 0x8000000, 1048576 bytes/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
