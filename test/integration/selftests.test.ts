// The kernel's own pstore selftests (tools/testing/selftests/pstore) through `ramoops run
// --selftests`, as a user runs them, each beside a byte-for-byte match of host and guest:
// - the CI kernels (custom 6.1 and 6.12 with pstore console, pmsg, 9p; built by CI before the
//   tests, never here: without a cached build a test is skipped): `--selftests` (the scripts with
//   the scenario's one printed adaptation) passes all three; `--scenario selftests-verbatim`
//   (exactly as shipped) passes every step but the two "---[ end trace" greps, which no kernel
//   whose sysrq crash is a plain panic() (6.1, 6.12) can satisfy; the TAP says so and the run
//   fails, as a failed selftest must;
// - Debian's stock 6.1 kernel, which has neither a pstore console nor pmsg: the selftests must
//   say exactly that.
import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dir } from 'tmp-promise';
import { findCachedBuild } from '../../harness/kernel/build.js';
import { failedSteps } from '../../harness/cycle/selftests.js';
import type { RunReport } from '../../harness/report/run-report.js';
import { CI_KERNEL_FRAGMENTS } from '../helpers/ci-kernels.js';
import { serialUnless, x86SkipReason } from '../helpers/integration.js';
import { repoRoot } from '../helpers/paths.js';

/** The CI kernel's fragments (`make kernels`): every ramoops feature, LKDTM, SMP, KASLR and the selftests' 9p. */
const CI_FRAGMENTS = CI_KERNEL_FRAGMENTS.split(',');

const reason = x86SkipReason();
const declare = (title: string, why: string | undefined, fn: (t: ExecutionContext) => Promise<void>): void => serialUnless(why)(title, fn);

interface Run {
  readonly code: number;
  readonly report: RunReport;
  readonly tap: string;
  readonly stderr: string;
  readonly out: string;
}

/** `ramoops run ... --json` through the CLI, as a user runs it (`--selftests` unless args name the scenario). */
async function cli(t: ExecutionContext, args: readonly string[]): Promise<Run> {
  const out = await dir({ prefix: 'ramoops-selftests-test-', unsafeCleanup: true });
  if (process.env['RAMOOPS_KEEP_ARTIFACTS'] !== '1') t.teardown(() => out.cleanup());
  const main = join(repoRoot(), 'dist', 'harness', 'cli', 'main.js');
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [main, 'run', ...args, ...(args.includes('--scenario') ? [] : ['--selftests']), '--json', '--out', out.path],
      { timeout: 900_000, maxBuffer: 64 << 20 },
      (err, so, se) => {
        const status = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code: status, stdout: so, stderr: se });
      },
    );
  });
  const report = JSON.parse(stdout) as RunReport;
  const tap = readFileSync(join(out.path, 'selftests.tap'), 'utf8');
  t.log(tap);
  return { code, report, tap, stderr, out: out.path };
}

/** TAP's result lines. */
const results = (tap: string): string[] => tap.split('\n').filter((l) => /^(ok|not ok|1\.\.)/.test(l));

/** Every file the host parsed out of guest RAM equals the guest's own, byte for byte, in the artifacts too. */
function assertSameBytes(t: ExecutionContext, r: Run): void {
  const c = r.report.cycles[0];
  t.truthy(c);
  if (c === undefined) return;
  t.true(c.comparison.matched, "host parse equals the guest's /sys/fs/pstore");
  t.true(c.comparison.files.length > 0);
  t.true(c.comparison.files.every((f) => f.status === 'match'));
  const host = readdirSync(join(r.out, 'cycle1-host')).sort();
  t.deepEqual(readdirSync(join(r.out, 'cycle1-guest')).sort(), host);
  for (const f of host) t.true(readFileSync(join(r.out, 'cycle1-host', f)).equals(readFileSync(join(r.out, 'cycle1-guest', f))), f);
}

// Only lookups, all before the first test is declared (ava wants them declared synchronously):
// a build of half an hour belongs to CI's kernel step, not to a test.
const SOURCES = ['debian-6.1', 'debian-6.12'] as const;
const ciKernels = await Promise.all(
  SOURCES.map((source) => (reason === undefined ? findCachedBuild({ source, configs: CI_FRAGMENTS }) : Promise.resolve(undefined))),
);

/** The steps of pstore_post_reboot_tests that do not depend on the end marker: all pass on the CI kernels. */
function assertPostRebootSteps(t: ExecutionContext, r: Run): void {
  // The files exist and pmsg kept the uuid pstore_tests wrote before the crash, read back after
  // the warm reboot from the 9p share.
  const post = r.report.selftests?.results[2]?.output ?? '';
  for (const step of ['dmesg', 'console', 'pmsg']) t.true(post.includes(`Checking ${step} files exist in pstore filesystem ... ok\n`), step);
  t.true(post.includes('Checking pmsg file properly keeps the content written before crash ... ok\n'));
  // sysrq's crash handler calls panic() directly (6.1 and 6.12 alike), so the kernel never prints
  // an oops end marker; the record says "Kernel panic - not syncing: sysrq triggered crash".
  const dmesg = readFileSync(join(r.out, 'cycle1-host', 'dmesg-ramoops-0'), 'latin1');
  t.true(dmesg.includes('Kernel panic - not syncing: sysrq triggered crash'));
  t.false(dmesg.includes('---[ end trace'));
}

/** The CI kernel `source` with the selftests: one run of `scenario`, its common checks done. */
async function ciRun(t: ExecutionContext, source: string, release: string | undefined, scenario: readonly string[]): Promise<Run> {
  const r = await cli(t, ['--source', source, '--kernel-config', CI_FRAGMENTS.join(','), ...scenario]);
  t.is(r.report.fault, undefined, r.report.fault?.message);
  t.is(r.report.kernel.release, release);
  assertSameBytes(t, r);
  for (const n of ['dmesg-ramoops-0', 'console-ramoops-0', 'pmsg-ramoops-0'])
    t.true(r.report.cycles[0]?.guest.files.some((f) => f.name === n) ?? false, `guest shows ${n}`);
  assertPostRebootSteps(t, r);
  return r;
}

const ciReason = (i: number): string | undefined =>
  reason ?? (ciKernels[i] === undefined ? `the CI kernel build:${SOURCES[i]}:${CI_FRAGMENTS.join(',')} is not built (make kernels)` : undefined);

for (const [i, source] of SOURCES.entries()) {
  declare(
    `CI kernel (${source} built with ${CI_FRAGMENTS.join(',')}): --selftests passes all three, the one adaptation printed in the TAP`,
    ciReason(i),
    async (t) => {
      const r = await ciRun(t, source, ciKernels[i]?.release, []);
      t.deepEqual(results(r.tap), [
        '1..3',
        'ok 1 selftests: pstore: pstore_tests',
        'ok 2 selftests: pstore: pstore_crash_test',
        'ok 3 selftests: pstore: pstore_post_reboot_tests',
      ]);
      // The adaptation is never silent: in the TAP header, the report and the post-reboot test's check.
      t.regex(r.tap, /^TAP version 13\n1\.\.3\n# adapted pstore_post_reboot_tests: replaced 2 x "grep -q \\"\\\\---\\\\\[ end trace\\"" with /);
      t.deepEqual(
        r.report.selftests?.adaptations.map((a) => [a.file, a.places]),
        [['pstore_post_reboot_tests', 2]],
      );
      const post = r.report.selftests?.results[2]?.output ?? '';
      t.true(post.includes('Checking dmesg files contain oops end marker\n\tdmesg-ramoops-0 ... ok\n'), post);
      t.true(post.includes('Checking console file contains oops end marker ... ok\n'), post);
      t.regex(
        r.report.cycles[0]?.checks.find((c) => c.name === 'selftests: pstore: pstore_post_reboot_tests')?.detail ?? '',
        /^exit 0; adapted pstore_post_reboot_tests/,
      );
      t.true(r.report.cycles[0]?.checks.every((c) => c.ok));
      t.is(r.report.verdict, 'pass');
      t.is(r.code, 0);
    },
  );
}

declare(`CI kernel (debian-6.12 built with ${CI_FRAGMENTS.join(',')}): selftests-verbatim fails only the oops end marker checks`, ciReason(1), async (t) => {
  const r = await ciRun(t, 'debian-6.12', ciKernels[1]?.release, ['--scenario', 'selftests-verbatim']);
  t.deepEqual(results(r.tap), [
    '1..3',
    'ok 1 selftests: pstore: pstore_tests',
    'ok 2 selftests: pstore: pstore_crash_test',
    'not ok 3 selftests: pstore: pstore_post_reboot_tests # exit=1',
  ]);
  t.false(r.tap.includes('# adapted'));
  t.deepEqual(r.report.selftests?.adaptations, []);
  t.deepEqual(failedSteps(r.report.selftests?.results[2]?.output ?? ''), [
    'Checking dmesg files contain oops end marker: dmesg-ramoops-0 ... FAIL',
    'Checking console file contains oops end marker ... FAIL',
  ]);
  const failed = r.report.cycles[0]?.checks.filter((c) => !c.ok).map((c) => c.name);
  t.deepEqual(failed, ['selftests: pstore: pstore_post_reboot_tests']);
  t.is(r.report.verdict, 'mismatch');
  t.is(r.code, 1);
});

declare("Debian's stock 6.1 (no pstore console, no pmsg): the selftests fail on exactly that, the parse still matches", reason, async (t) => {
  const r = await cli(t, ['--kernel', 'debian']);
  t.is(r.report.fault, undefined, r.report.fault?.message);
  assertSameBytes(t, r);
  t.deepEqual(results(r.tap), [
    '1..3',
    'not ok 1 selftests: pstore: pstore_tests # exit=1',
    'ok 2 selftests: pstore: pstore_crash_test',
    'not ok 3 selftests: pstore: pstore_post_reboot_tests # exit=1',
  ]);
  t.true(r.tap.includes('# Checking pstore console is registered ... FAIL\n'));
  t.true(r.tap.includes('# Checking /dev/pmsg0 exists ... FAIL\n'));
  t.true(r.tap.includes('# Checking dmesg files exist in pstore filesystem ... ok\n'));
  t.true(r.tap.includes('# Checking console files exist in pstore filesystem ... FAIL\n'));
  t.true(r.tap.includes('# Checking pmsg files exist in pstore filesystem ... FAIL\n'));
  // The post-reboot script removes the pstore files: only after the harness read them.
  t.true(r.tap.includes('# \tdmesg-ramoops-0 ... ok\n'), 'the script removed the record the harness had read');
  // The failed selftests fail the run; nothing else does.
  const failed = r.report.cycles[0]?.checks.filter((c) => !c.ok).map((c) => c.name);
  t.deepEqual(failed, ['selftests: pstore: pstore_tests', 'selftests: pstore: pstore_post_reboot_tests']);
  t.is(r.report.verdict, 'mismatch');
  t.is(r.code, 1);
});
