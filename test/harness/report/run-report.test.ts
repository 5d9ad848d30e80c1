// The run report's views: verdict and exit code, verdict text, diff text, JUnit XML escaping.
import test from 'ava';
import { compareFiles } from '../../../harness/cycle/compare.js';
import { diffText, junitXml, overallVerdict, verdictText, xmlEscape, type CycleReport, type RunReport } from '../../../harness/report/run-report.js';
import { eccNoticeOf } from '../../../harness/cycle/files.js';
import { matchesGolden } from '../../helpers/golden.js';

function cycle(n: number, guestText: string): CycleReport {
  const bytes = new TextEncoder().encode('sysrq\n');
  const comparison = compareFiles(
    [
      {
        name: 'dmesg-ramoops-0',
        type: 'dmesg',
        id: 0,
        bytes,
        size: bytes.length,
        mtime: undefined,
        zones: [],
        ecc: undefined,
        compression: undefined,
        notes: [],
      },
    ],
    [{ name: 'dmesg-ramoops-0', size: Buffer.byteLength(guestText), mtime: { seconds: 1, nsec: 0 }, bytes: Buffer.from(guestText) }],
  );
  return {
    cycle: n,
    verdict: comparison.matched ? 'match' : 'mismatch',
    reason: undefined,
    panicSeenBy: 'qmp',
    reset: 'guest-reset',
    pmemsave: 'equal',
    corrupted: [],
    host: { files: [{ name: 'dmesg-ramoops-0', size: 6, length: 6, mtime: undefined, eccNotice: undefined }], decisions: [], warnings: [] },
    guest: { files: [{ name: 'dmesg-ramoops-0', size: 6, length: 6, mtime: 1, eccNotice: undefined }] },
    comparison,
    checks: [],
    timings: { crash: 0.1, capture: 0.2, reboot: 4, ssh: 0.3, compare: 0.01 },
  };
}

function report(cycles: readonly CycleReport[], fault?: RunReport['fault']): RunReport {
  return {
    tool: 'ramoops-harness run',
    ...overallVerdict(cycles, fault),
    startedAt: '2024-01-01T00:00:00.000Z',
    seconds: 12.5,
    kernel: { spec: 'debian', release: '6.1.0-56-amd64', path: '/k' },
    qemu: { accel: { chosen: 'tcg', reason: '--accel tcg' }, memoryBytes: 512 << 20, machine: 'q35' },
    cmdline: 'console=ttyS0',
    crash: 'echo c > /proc/sysrq-trigger',
    scenario: { name: 'crash', source: '--crash' },
    skipped: undefined,
    cyclesRequested: cycles.length,
    timings: { setup: 1, boot: 4.5, ssh: 0.2 },
    cycles,
    guestErrors: [],
    fault,
    outDir: '/tmp/out',
  };
}

test('verdict and exit code: pass 0, mismatch 1, fault 2', (t) => {
  t.deepEqual(overallVerdict([cycle(1, 'sysrq\n')], undefined), { verdict: 'pass', exitCode: 0 });
  t.deepEqual(overallVerdict([cycle(1, 'sysrq\n'), cycle(2, 'other\n')], undefined), { verdict: 'mismatch', exitCode: 1 });
  const fault = { phase: 'crash' as const, stage: 'guest' as const, message: 'no panic', serial: [], qemuStderr: [] };
  t.deepEqual(overallVerdict([cycle(1, 'sysrq\n')], fault), { verdict: 'fault', exitCode: 2 });
});

test('verdict text names the outcome, the files and the timings', (t) => {
  const pass = verdictText(report([cycle(1, 'sysrq\n')]));
  t.regex(pass, /^PASS: 1 cycle\(s\) with kernel 6\.1\.0-56-amd64: 1\/1 file\(s\)/);
  t.regex(pass, /reboot 4\.00 s/);
  const bad = report([cycle(1, 'sysrX\n')]);
  t.regex(verdictText(bad), /^MISMATCH: 0\/1 file\(s\) matched/);
  t.regex(diffText(bad), /== cycle 1\ndmesg-ramoops-0: differs\n {2}bytes: first difference at offset 4/);
  const fault = verdictText(report([], { phase: 'boot', stage: 'boot', message: 'no READY', serial: ['[ 1.0] oops'], qemuStderr: [] }));
  t.regex(fault, /^FAULT in phase boot \(boot\): no READY\n {2}--- serial console \(last 1 lines\) ---\n {2}\[ 1\.0\] oops/);
});

test('XML escaping covers markup characters and bytes XML 1.0 cannot hold', (t) => {
  t.is(xmlEscape(`a<b>&"c'`), 'a&lt;b&gt;&amp;&quot;c&apos;');
  t.is(xmlEscape('\u0000\u001b[0m\tok\n'), '\\x00\\x1b[0m\tok\n');
  t.is(xmlEscape('\ud800x'), '\\xd800x');
});

test('JUnit XML: a testcase per file per cycle, failures and the fault as an error', (t) => {
  const fault = { phase: 'reboot' as const, stage: 'qemu' as const, message: 'QEMU died <oops> & "more"', serial: ['\u0007bell'], qemuStderr: [] };
  const xml = junitXml(report([cycle(1, 'sysrq\n'), cycle(2, '<bad>\n')], fault));
  // The whole document, byte for byte (the one JUnit writer, src/report/junit.ts, must keep it).
  matchesGolden(t, 'junit/run.xml', xml);
  t.regex(xml, /<testsuites tests="3" failures="1" errors="1"/);
  t.regex(xml, /<testcase name="cycle 1: dmesg-ramoops-0" classname="ramoops\.run\.6\.1\.0-56-amd64" time="4\.610"\/>/);
  t.regex(xml, /<failure message="dmesg-ramoops-0 differs">/);
  t.regex(xml, /<error message="QEMU died &lt;oops&gt; &amp; &quot;more&quot;">/);
  t.regex(xml, /\\x07bell/);
  // Nothing unescaped in any text node: every '<' starts a tag we wrote.
  for (const m of xml.matchAll(/<(?!\/?(?:testsuites|testsuite|testcase|failure|error|system-out)\b|\?xml)/g)) t.fail(`raw < at ${m.index}`);
});

test('eccNoticeOf finds the notice pstore appends, with or without the ECC: prefix', (t) => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  t.is(eccNoticeOf(enc('log\n\nECC: 5 Corrected bytes, 0 unrecoverable blocks\n')), '5 Corrected bytes, 0 unrecoverable blocks');
  t.is(eccNoticeOf(enc('log\nNo errors detected\n')), 'No errors detected');
  t.is(eccNoticeOf(enc('log\n')), undefined);
});
