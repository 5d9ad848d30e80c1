// Kernel selftests through the harness, without QEMU: the scripts are copied from a kernel tree
// into the share (stale state gone, modes kept), the results kselftest-run leaves on the share
// become checks and kselftest TAP, and guest/kselftest-run itself behaves as they assume.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HarnessError } from '../../../harness/errors.js';
import { failedSteps } from '../../../harness/cycle/selftests.js';
import { KselftestRun, kselftestTap, selftestSourceTree, type KselftestResult } from '../../../harness/cycle/selftests.js';
import { loadScenario } from '../../../harness/cycle/scenario.js';
import { repoRoot } from '../../helpers/paths.js';

const SPEC = { collection: 'pstore', tests: ['pstore_tests', 'pstore_crash_test', 'pstore_post_reboot_tests'], adapt: [] } as const;

/** The `selftests` scenario's adaptation, as shipped in guest/scenarios/selftests.json. */
const ADAPT = loadScenario('selftests').kselftest?.adapt ?? [];

/** The two oops end marker checks of tools/testing/selftests/pstore/pstore_post_reboot_tests, verbatim (6.1.192 and 6.12.117 alike). */
const END_MARKER_CHECKS = [
  'prlog -n "Checking dmesg files contain oops end marker"',
  'grep_end_trace() {',
  '    grep -q "\\---\\[ end trace" $1',
  '}',
  'files=`ls dmesg-${backend}-*`',
  'operate_files $? "$files" grep_end_trace',
  '',
  'prlog -n "Checking console file contains oops end marker ... "',
  'grep -q "\\---\\[ end trace" console-${backend}-0',
  'show_result $?',
].join('\n');

/** A fake kernel tree with the pstore selftests folder, and an empty share. */
function fixture(): { tree: string; share: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'rh-selftests-'));
  const dir = path.join(root, 'linux', 'tools', 'testing', 'selftests', 'pstore');
  mkdirSync(dir, { recursive: true });
  for (const f of [...SPEC.tests, 'common_tests']) writeFileSync(path.join(dir, f), `#!/bin/sh\n# ${f}\n`, { mode: 0o755 });
  writeFileSync(path.join(dir, 'config'), 'CONFIG_PSTORE=y\n', { mode: 0o644 });
  return { tree: path.join(root, 'linux'), share: path.join(root, 'share') };
}

/** What kselftest-run leaves for one test. */
function leave(share: string, test: string, out: string, rc?: number): void {
  const res = path.join(share, 'pstore', '.kselftest');
  mkdirSync(res, { recursive: true });
  writeFileSync(path.join(res, `${test}.out`), out);
  if (rc !== undefined) writeFileSync(path.join(res, `${test}.rc`), `${rc}\n`);
}

test('prepare copies the collection with its modes and replaces what an earlier run left', async (t) => {
  const { tree, share } = fixture();
  mkdirSync(path.join(share, 'pstore', '.kselftest'), { recursive: true });
  writeFileSync(path.join(share, 'pstore', 'reboot_flag'), '');
  writeFileSync(path.join(share, 'pstore', 'uuid'), 'stale\n');
  writeFileSync(path.join(share, 'mine'), 'kept\n');
  const run = await KselftestRun.prepare(SPEC, tree, share);
  t.is(run.dir, path.join(share, 'pstore'));
  t.false(existsSync(path.join(share, 'pstore', 'reboot_flag')));
  t.false(existsSync(path.join(share, 'pstore', 'uuid')));
  t.false(existsSync(path.join(share, 'pstore', '.kselftest')));
  t.true(existsSync(path.join(share, 'mine')), 'only the collection folder is replaced');
  t.is(statSync(path.join(share, 'pstore', 'pstore_tests')).mode & 0o777, 0o755);
  t.is(statSync(path.join(share, 'pstore', 'config')).mode & 0o777, 0o644);
  t.is(readFileSync(path.join(share, 'pstore', 'common_tests'), 'utf8'), '#!/bin/sh\n# common_tests\n');
});

test('prepare refuses a tree without the collection or without a named test', async (t) => {
  const { tree, share } = fixture();
  const e1 = await t.throwsAsync(KselftestRun.prepare({ collection: 'nope', tests: ['x'], adapt: [] }, tree, share), { instanceOf: HarnessError });
  t.regex(e1?.message ?? '', /has no selftests folder tools\/testing\/selftests\/nope/);
  const e2 = await t.throwsAsync(KselftestRun.prepare({ collection: 'pstore', tests: ['pstore_tests', 'missing_test'], adapt: [] }, tree, share), {
    instanceOf: HarnessError,
  });
  t.regex(e2?.message ?? '', /lacks missing_test/);
});

test('a cycle: exit statuses become checks; the test that was running at the panic passes', async (t) => {
  const { tree, share } = fixture();
  const run = await KselftestRun.prepare(SPEC, tree, share);
  leave(
    share,
    'pstore_tests',
    'Checking /dev/pmsg0 exists ... ok\ncmdline=console=ttyS0 rh.key=c3NoLWVk rh.hostkey=AAAAC3NzaC1lZDI1NTE5 rh.share=rhshare\n',
    0,
  );
  leave(share, 'pstore_crash_test', 'Causing kernel crash ...\n');
  leave(
    share,
    'pstore_post_reboot_tests',
    'Checking dmesg files contain oops end marker\n\tdmesg-ramoops-0 ... FAIL\nChecking console file contains oops end marker ... FAIL\n',
    1,
  );
  run.panicked(1);
  const checks = run.cycleDone(1);
  t.deepEqual(
    checks.map((c) => [c.name, c.ok]),
    [
      ['selftests: pstore: pstore_tests', true],
      ['selftests: pstore: pstore_crash_test', true],
      ['selftests: pstore: pstore_post_reboot_tests', false],
    ],
  );
  t.is(checks[0]?.detail, 'exit 0');
  t.regex(checks[1]?.detail ?? '', /panicked while it ran/);
  t.is(
    checks[2]?.detail,
    'exit 1: Checking dmesg files contain oops end marker: dmesg-ramoops-0 ... FAIL; Checking console file contains oops end marker ... FAIL',
  );
  t.false(existsSync(path.join(share, 'pstore', '.kselftest')), 'read results are cleared for the next cycle');
  const r = run.report(undefined);
  t.false(r.passed);
  t.deepEqual(
    r.tap.split('\n').filter((l) => /^(ok|not ok|1\.\.)/.test(l)),
    [
      '1..3',
      'ok 1 selftests: pstore: pstore_tests',
      'ok 2 selftests: pstore: pstore_crash_test',
      'not ok 3 selftests: pstore: pstore_post_reboot_tests # exit=1',
    ],
  );
  t.true(r.tap.startsWith('TAP version 13\n1..3\n# selftests: pstore: pstore_tests\n# Checking /dev/pmsg0 exists ... ok\n'));
  t.true(
    r.tap.includes('# cmdline=console=ttyS0 rh.key=<run key> rh.hostkey=<run host key> rh.share=rhshare\n'),
    'both key words are shortened as in report.json',
  );
  t.false(r.tap.includes('AAAAC3NzaC1lZDI1NTE5'), 'the guest host key (a private key) is nowhere in the TAP');
  t.true(r.tap.includes('# \tdmesg-ramoops-0 ... FAIL\n'));
});

test('without a panic a test that never finished fails; one that never started says so; exit 4 is a SKIP', async (t) => {
  const { tree, share } = fixture();
  const run = await KselftestRun.prepare(SPEC, tree, share);
  leave(share, 'pstore_tests', '', 4);
  leave(share, 'pstore_crash_test', 'Causing kernel crash ...\n');
  const checks = run.cycleDone(1);
  t.deepEqual(
    checks.map((c) => [c.ok, c.detail]),
    [
      [true, 'exit 4 (SKIP)'],
      [false, 'no exit status: the test never finished'],
      [false, 'did not run'],
    ],
  );
  const tap = run.report(undefined).tap;
  t.true(tap.includes('ok 1 selftests: pstore: pstore_tests # SKIP\n'));
  t.true(tap.includes('not ok 2 selftests: pstore: pstore_crash_test\n'));
});

test('the report of a run that faulted mid-cycle reads the share; a skipped run SKIPs every test', async (t) => {
  const { tree, share } = fixture();
  const run = await KselftestRun.prepare(SPEC, tree, share);
  leave(share, 'pstore_tests', 'ok\n', 0);
  const r = run.report(1);
  t.deepEqual(
    r.results.map((x) => [x.number, x.test, x.result]),
    [
      [1, 'pstore_tests', 'ok'],
      [2, 'pstore_crash_test', 'not ok'],
      [3, 'pstore_post_reboot_tests', 'not ok'],
    ],
  );
  const skipped = (await KselftestRun.prepare(SPEC, tree, share)).report(0, 'the guest lacks the 9p share');
  t.true(skipped.passed);
  t.deepEqual(
    skipped.results.map((x) => x.result),
    ['skip', 'skip', 'skip'],
  );
  t.true(skipped.tap.includes('# the guest lacks the 9p share\nok 1 selftests: pstore: pstore_tests # SKIP\n'));
  t.is((await KselftestRun.prepare(SPEC, tree, share)).report(undefined).tap, 'TAP version 13\n1..0\n');
});

test('TAP over several cycles numbers on and names the cycle', (t) => {
  const r = (cycle: number, n: number): KselftestResult => ({ number: n, cycle, test: 'pstore_tests', result: 'ok', exitCode: 0, note: undefined, output: '' });
  t.is(
    kselftestTap('pstore', [r(1, 1), r(2, 2)]),
    'TAP version 13\n1..2\n# selftests: pstore: pstore_tests (cycle 1)\nok 1 selftests: pstore: pstore_tests (cycle 1)\n# selftests: pstore: pstore_tests (cycle 2)\nok 2 selftests: pstore: pstore_tests (cycle 2)\n',
  );
});

test('failed steps: a bare FAIL line is joined to the line an error message ended', (t) => {
  const out =
    'Checking a ... ok\nChecking console ... grep: console-ramoops-0: No such file or directory\nFAIL\nError: no log dir\nChecking dmesg files contain oops end marker\n\tdmesg-ramoops-0 ... FAIL\n\tdmesg-ramoops-1 ... ok\n';
  t.deepEqual(failedSteps(out), [
    'Checking console ... grep: console-ramoops-0: No such file or directory FAIL',
    'Error: no log dir',
    'Checking dmesg files contain oops end marker: dmesg-ramoops-0 ... FAIL',
  ]);
});

test("the scripts come from a build's own tree; a release no Debian source matches is refused", async (t) => {
  const { tree } = fixture();
  t.is(await selftestSourceTree(`build:${tree}:base,selftests`, '6.1.0', {}), tree);
  const e = await t.throwsAsync(selftestSourceTree('/boot/vmlinuz-5.10', '5.10.0-9-amd64', {}), { instanceOf: HarnessError });
  t.regex(e?.message ?? '', /no kernel source known for release 5\.10\.0-9-amd64/);
});

test('guest/kselftest-run: runs the test in its folder, keeps output and status, exits 0; refuses bad names', (t) => {
  const script = path.join(repoRoot(), 'guest', 'kselftest-run');
  const share = mkdtempSync(path.join(tmpdir(), 'rh-share-'));
  // The runner's folder is fixed (/rh-share): run a copy pointed at a temp share.
  const copy = path.join(share, 'runner');
  // The guest's shell is busybox sh (the image's); dash where busybox is absent.
  const sh = (args: readonly string[]): [string, string[]] => (existsSync('/bin/busybox') ? ['/bin/busybox', ['sh', ...args]] : ['/bin/sh', [...args]]);
  writeFileSync(copy, readFileSync(script, 'utf8').replace('dir=/rh-share/$1', `dir=${share}/$1`), { mode: 0o755 });
  mkdirSync(path.join(share, 'c'));
  writeFileSync(path.join(share, 'c', 't1'), '#!/bin/sh\necho "in $(basename $(pwd))"\necho oops >&2\nexit 3\n', { mode: 0o755 });
  const out = execFileSync(...sh([copy, 'c', 't1']), { encoding: 'utf8' });
  t.is(out, 'in c\noops\n');
  t.is(readFileSync(path.join(share, 'c', '.kselftest', 't1.rc'), 'utf8'), '3\n');
  t.is(readFileSync(path.join(share, 'c', '.kselftest', 't1.out'), 'utf8'), 'in c\noops\n');
  for (const bad of [
    ['..', 't1'],
    ['c', '../x'],
    ['c', ''],
    ['c', '.hidden'],
    ['c', 'a b'],
  ]) {
    const e = t.throws(() => execFileSync(...sh([copy, ...bad]), { stdio: 'pipe' }));
    t.is((e as unknown as { status: number }).status, 2, bad.join(' '));
  }
  const missing = t.throws(() => execFileSync(...sh([copy, 'c', 'nope']), { stdio: 'pipe' }));
  t.is((missing as unknown as { status: number }).status, 2);
});

test('adapt: the selftests scenario widens both oops end marker greps in the copy, says so in the TAP and the check, leaves the tree alone', async (t) => {
  const { tree, share } = fixture();
  const original = `#!/bin/sh\n${END_MARKER_CHECKS}\n`;
  const shipped = path.join(tree, 'tools', 'testing', 'selftests', 'pstore', 'pstore_post_reboot_tests');
  writeFileSync(shipped, original, { mode: 0o755 });
  t.is(ADAPT.length, 1);
  const run = await KselftestRun.prepare({ ...SPEC, adapt: ADAPT }, tree, share);
  const copy = readFileSync(path.join(run.dir, 'pstore_post_reboot_tests'), 'latin1');
  t.is(copy.split('grep -q -e "\\---\\[ end trace" -e "Kernel panic - not syncing"').length - 1, 2);
  t.false(copy.includes('grep -q "\\---\\[ end trace"'));
  t.is(readFileSync(shipped, 'latin1'), original, 'the kernel tree is never edited');
  t.is(statSync(path.join(run.dir, 'pstore_post_reboot_tests')).mode & 0o777, 0o755);
  leave(share, 'pstore_tests', 'ok\n', 0);
  leave(share, 'pstore_crash_test', 'crashing\n');
  leave(share, 'pstore_post_reboot_tests', 'all ok\n', 0);
  run.panicked(1);
  const checks = run.cycleDone(1);
  t.regex(
    checks[2]?.detail ?? '',
    /^exit 0; adapted pstore_post_reboot_tests: replaced 2 x "grep -q \\"\\\\---\\\\\[ end trace\\"" with .*Kernel panic - not syncing.*\(sysrq-c calls panic\(\) directly/,
  );
  t.false(checks[0]?.detail.includes('adapted'), 'only the adapted script says so');
  const r = run.report(1);
  t.deepEqual(
    r.adaptations.map((a) => [a.file, a.places]),
    [['pstore_post_reboot_tests', 2]],
  );
  t.true(r.tap.startsWith('TAP version 13\n1..3\n# adapted pstore_post_reboot_tests: replaced 2 x '), r.tap);
});

test('adapt: a script that no longer holds the text runs as shipped and the TAP says it was not needed; a missing script is refused', async (t) => {
  const { tree, share } = fixture();
  const run = await KselftestRun.prepare({ ...SPEC, adapt: ADAPT }, tree, share);
  t.is(readFileSync(path.join(run.dir, 'pstore_post_reboot_tests'), 'utf8'), '#!/bin/sh\n# pstore_post_reboot_tests\n');
  const r = run.report(undefined);
  t.is(r.adaptations[0]?.places, 0);
  t.true(r.tap.includes('# adapted pstore_post_reboot_tests: not needed: the script no longer holds "grep -q'), r.tap);
  const e = await t.throwsAsync(KselftestRun.prepare({ ...SPEC, adapt: [{ file: 'gone', replace: 'a', with: 'b', why: 'c' }] }, tree, share), {
    instanceOf: HarnessError,
  });
  t.regex(e?.message ?? '', /adapts gone, which .*pstore does not have/);
});

test('adapt, on a real record: the shipped greps fail on the panic record of sysrq-c (6.1), the adapted ones pass', (t) => {
  // A real capture of the CI 6.1 kernel (SMP, KASLR): sysrq-c panicked it, its only crash, as in
  // pstore_crash_test; no oops end marker was ever logged.
  const dir = path.join(repoRoot(), 'test', 'fixtures', 'c61-kaslr-smp2-ftrace', 'expected');
  const work = mkdtempSync(path.join(tmpdir(), 'rh-adapt-'));
  for (const f of ['dmesg-ramoops-0', 'console-ramoops-0']) writeFileSync(path.join(work, f), readFileSync(path.join(dir, f)));
  const sh = existsSync('/bin/busybox') ? ['/bin/busybox', 'sh'] : ['/bin/sh'];
  const checks = (text: string): number => {
    const script = `backend=ramoops\nrc=0\nprlog() { :; }\noperate_files() { for f in $2; do $3 $f || rc=1; done; }\nshow_result() { [ "$1" = 0 ] || rc=1; }\n${text}\nexit $rc\n`;
    writeFileSync(path.join(work, 'check'), script);
    try {
      execFileSync(sh[0] ?? '/bin/sh', [...sh.slice(1), path.join(work, 'check')], { cwd: work, stdio: 'pipe' });
      return 0;
    } catch (e) {
      return (e as { status: number }).status;
    }
  };
  t.is(checks(END_MARKER_CHECKS), 1, 'as shipped, the end marker checks fail on a panic record');
  const a = ADAPT[0];
  t.truthy(a);
  t.is(checks(END_MARKER_CHECKS.split(a?.replace ?? '').join(a?.with ?? '')), 0, 'adapted, they pass on it');
});
