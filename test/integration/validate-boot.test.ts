// validate --boot against Debian's stock kernel: a configuration validate refuses is refused by
// the kernel with the very message validate quotes; a sound one keeps the crash.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

const skip = process.env.RAMOOPS_SKIP_INTEGRATION === '1' ? 'RAMOOPS_SKIP_INTEGRATION=1' : undefined;
const cli = (): string => join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');

interface Out {
  status: number;
  json: { problems: { severity: string; code: string }[]; boot: { verdict: string; kernelLines: string[]; survived: string[]; kernelMessageSeen: boolean } };
}

function validateBoot(args: readonly string[]): Out {
  try {
    const stdout = execFileSync(process.execPath, [cli(), 'validate', ...args, '--kernel-version', '6.1.0-56-amd64', '--boot', '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 600_000,
    });
    return { status: 0, json: JSON.parse(stdout) as Out['json'] };
  } catch (e) {
    const err = e as { status: number; stdout: string };
    return { status: err.status, json: JSON.parse(err.stdout) as Out['json'] };
  }
}

const run = skip ? test.serial.skip : test.serial;

run('no room for dmesg: validate says error, the kernel refuses with the same message', (t) => {
  const r = validateBoot(['--mem-address', '0x8000000', '--mem-size', '0x2000', '--cmdline', 'memmap=0x2000$0x8000000']);
  t.true(r.json.problems.some((p) => p.severity === 'error' && p.code === 'no-room'));
  t.is(r.json.boot.verdict, 'refused-as-predicted');
  t.true(r.json.boot.kernelMessageSeen);
  t.true(r.json.boot.kernelLines.some((l) => l.includes('no room for dmesg mem region (0xfffffffffffff000@0x8000000) in (0x2000@0x8000000)')));
  t.is(r.status, 2);
});

run('invalid ecc_size: validate says error, the kernel refuses with the same message', (t) => {
  const r = validateBoot([
    '--mem-address',
    '0x8000000',
    '--mem-size',
    '0x10000',
    '--record-size',
    '0x100',
    '--console-size',
    '0',
    '--ftrace-size',
    '0',
    '--pmsg-size',
    '0',
    '--ecc',
    '127',
    '--cmdline',
    'memmap=0x10000$0x8000000',
  ]);
  t.true(r.json.problems.some((p) => p.severity === 'error'));
  t.is(r.json.boot.verdict, 'refused-as-predicted');
  t.true(r.json.boot.kernelMessageSeen, r.json.boot.kernelLines.join('\n'));
});

run('a sound configuration: no errors, and the crash survives the warm reboot', (t) => {
  const r = validateBoot([
    '--mem-address',
    '0x8000000',
    '--mem-size',
    '0x100000',
    '--record-size',
    '0x4000',
    '--ecc',
    '16',
    '--cmdline',
    'memmap=0x100000$0x8000000',
  ]);
  t.false(r.json.problems.some((p) => p.severity === 'error'));
  t.is(r.json.boot.verdict, 'proved');
  t.true(r.json.boot.survived.includes('dmesg-ramoops-0'));
  t.is(r.status, 0);
});
