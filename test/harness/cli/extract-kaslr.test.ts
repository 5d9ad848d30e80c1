// `ramoops extract` with ftrace names under KASLR, on the real KASLR capture: the offset's
// source in --json, --kaslr-offset winning, and the refusals of bad symbol options.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFixture } from '../../helpers/fixtures.js';
import { repoRoot } from '../../helpers/paths.js';

const cli = (): string => join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
const fx = loadFixture('c61-kaslr-smp2-ftrace');
const base = (): string[] => [cli(), 'extract', join(fx.dir, 'region.bin'), '--base', fx.memAddress, '--cmdline', fx.cmdline, '--kernel-version', fx.release];

interface Json {
  kernelOffset: { value: string; file: string } | null;
  symbolShift: { value: string; source: string } | null;
  decisions: string[];
}

test("--system-map alone: the crashed boot's offset from the dump, said in --json", (t) => {
  const out = mkdtempSync(join(tmpdir(), 'rh-kaslr-'));
  try {
    const json = JSON.parse(
      execFileSync(process.execPath, [...base(), '--system-map', join(fx.dir, 'System.map'), '--out', out, '--json'], { encoding: 'utf8' }),
    ) as Json;
    t.deepEqual(json.kernelOffset?.value, '0x1e000000');
    t.is(json.kernelOffset?.file, 'dmesg-ramoops-0');
    t.is(json.symbolShift?.value, '0x1e000000');
    t.regex(json.symbolShift?.source ?? '', /^"Kernel Offset: 0x1e000000 from 0xffffffff81000000/);
    t.regex(readFileSync(join(out, 'ftrace-ramoops-0'), 'latin1'), /sysrq_handle_crash <- __handle_sysrq\+0x/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("--kaslr-offset wins and reproduces the guest's own file (the reading boot's offset)", (t) => {
  const out = mkdtempSync(join(tmpdir(), 'rh-kaslr-'));
  try {
    const json = JSON.parse(
      execFileSync(process.execPath, [...base(), '--system-map', join(fx.dir, 'System.map'), '--kaslr-offset', '35600000', '--out', out, '--json'], {
        encoding: 'utf8',
      }),
    ) as Json;
    t.deepEqual(json.symbolShift, { value: '0x35600000', source: '--kaslr-offset' });
    t.true(json.decisions.includes('ftrace names: System.map shifted by KASLR offset 0x35600000 (--kaslr-offset)'));
    t.true(readFileSync(join(out, 'ftrace-ramoops-0')).equals(Buffer.from(fx.expected.find((e) => e.name === 'ftrace-ramoops-0')?.bytes ?? new Uint8Array())));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('bad symbol options are refused with exit 2 and the flag named', (t) => {
  const out = join(tmpdir(), 'rh-kaslr-never');
  const both = spawnSync(process.execPath, [...base(), '--system-map', join(fx.dir, 'System.map'), '--kallsyms', join(fx.dir, 'System.map'), '--out', out], {
    encoding: 'utf8',
  });
  t.is(both.status, 2);
  t.regex(both.stderr, /--kallsyms: give either --system-map or --kallsyms, not both/);
  const bad = spawnSync(process.execPath, [...base(), '--system-map', join(fx.dir, 'System.map'), '--kaslr-offset', '0xkaslr', '--out', out], {
    encoding: 'utf8',
  });
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--kaslr-offset: "0xkaslr" is not a hex offset/);
});
