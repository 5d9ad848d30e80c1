// The pure parts of `validate --boot`: judging a finished run against the prediction (probe
// refusal, the arm64 reservation refusal, a kept crash), the JSON the arm64 proof boots with
// (DT semantics), and which quoted kernel message counts. The boots themselves are in
// test/integration/validate-boot.test.ts (x86_64) and validate-boot-arm64.test.ts.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runDtNode } from '../../../harness/cli/commands/run.js';
import { kernelMessageSeen } from '../../../harness/cli/commands/validate.js';
import { arm64BootConfig, judgeBoot, type BootPrediction, type JudgedReport } from '../../../harness/validate/boot.js';
import type { Problem } from '../../../src/validate/types.js';

const KEEPS: BootPrediction = { refusal: false, reservationFailure: false };
const REFUSES: BootPrediction = { refusal: true, reservationFailure: false };
const UNRESERVED: BootPrediction = { refusal: false, reservationFailure: true };

const pass: JudgedReport = { verdict: 'pass', guestErrors: [], fault: undefined, cycles: [{ guest: { files: [{ name: 'dmesg-ramoops-0' }] } }] };
const notBound: JudgedReport = {
  verdict: 'fault',
  guestErrors: ['RAMOOPS-HARNESS-ERROR ramoops did not bind to a device: ramoops: no room for dmesg mem region'],
  fault: { message: 'the guest could not set up pstore' },
  cycles: [],
};
// As `ramoops run --arch arm64` reports the issue 8 collision (message from reservationFailureText).
const RESERVE_LINE = "[    0.000000] OF: fdt: Reserved memory: failed to reserve memory for node 'ramoops@48000000': base 0x0000000048000000, size 1 MiB";
const unreserved: JudgedReport = {
  verdict: 'fault',
  guestErrors: [],
  fault: {
    message: `the kernel could not reserve ramoops@48000000 (0x100000 bytes at 0x48000000): it overlaps the initrd QEMU loads at 0x48000000..0x482e9007; records there do not survive a reboot. Kernel: "OF: fdt: ..."`,
  },
  cycles: [],
};
const serial = [
  'Booting Linux on physical CPU 0x0000000000 [0x411fd070]',
  RESERVE_LINE,
  '[    2.774203] ramoops: failed to allocate buffer',
  'RAMOOPS-HARNESS READY',
];

test('judgeBoot: a kept crash proves a clean prediction and contradicts a predicted refusal of either kind', (t) => {
  const ok = judgeBoot(pass, [], KEEPS, '/o');
  t.like(ok, { verdict: 'proved', observed: 'kept', survived: ['dmesg-ramoops-0'] });
  t.like(judgeBoot(pass, [], REFUSES, '/o'), { verdict: 'contradicted', observed: 'kept' });
  const c = judgeBoot(pass, [], UNRESERVED, '/o');
  t.is(c.verdict, 'contradicted');
  t.regex(c.message, /refuses to reserve the node, but it booted/);
});

test('judgeBoot: the arm64 reservation refusal is predicted by the collision warning, and quotes the kernel', (t) => {
  const p = judgeBoot(unreserved, serial, UNRESERVED, '/o');
  t.like(p, { verdict: 'refused-as-predicted', observed: 'not-reserved' });
  t.is(p.kernelLine, "OF: fdt: Reserved memory: failed to reserve memory for node 'ramoops@48000000': base 0x0000000048000000, size 1 MiB");
  t.regex(p.message, /overlaps the initrd QEMU loads at 0x48000000/);
  t.deepEqual(p.kernelLines, [RESERVE_LINE, '[    2.774203] ramoops: failed to allocate buffer']);
  // Not predicted: a contradiction, whatever else was predicted.
  t.like(judgeBoot(unreserved, serial, KEEPS, '/o'), { verdict: 'contradicted', observed: 'not-reserved' });
  t.like(judgeBoot(unreserved, serial, REFUSES, '/o'), { verdict: 'contradicted', observed: 'not-reserved' });
  // Both predicted (an error and the collision): the reservation comes first, and counts.
  t.like(judgeBoot(unreserved, serial, { refusal: true, reservationFailure: true }, '/o'), { verdict: 'refused-as-predicted' });
});

test('judgeBoot: a probe refusal, a mismatch and other faults', (t) => {
  t.like(judgeBoot(notBound, [], REFUSES, '/o'), { verdict: 'refused-as-predicted', observed: 'probe-refused' });
  t.like(judgeBoot(notBound, [], KEEPS, '/o'), { verdict: 'contradicted', observed: 'probe-refused' });
  t.like(judgeBoot({ ...pass, verdict: 'mismatch' }, [], KEEPS, '/o'), { verdict: 'contradicted', observed: 'mismatch' });
  const f = judgeBoot({ verdict: 'fault', guestErrors: [], fault: { message: 'no SSH login within 60 s' }, cycles: [] }, [], UNRESERVED, '/o');
  t.like(f, { verdict: 'fault', observed: 'fault' });
  t.regex(f.message, /no SSH login/);
});

test('arm64BootConfig: a DT node keeps DT semantics (ecc-size literal, absent sizes 0, defaults not written)', (t) => {
  const dt = arm64BootConfig(
    {
      memAddress: 0x50000000,
      memSize: 0x100000,
      recordSize: 0x4000,
      consoleSize: 0x4000,
      pmsgSize: 0x4000,
      ecc: 1,
      memType: 0,
      maxReason: 2,
      ftracePerCpu: false,
    },
    'dt',
  );
  t.deepEqual(dt, {
    mem_address: '0x50000000',
    mem_size: '0x100000',
    record_size: '0x4000',
    console_size: '0x4000',
    ftrace_size: '0x0',
    pmsg_size: '0x4000',
    ecc: 1,
  });
  // What run makes of it: the same node, property for property.
  const file = join(mkdtempSync(join(tmpdir(), 'rh-vb-')), 'validated-config.json');
  writeFileSync(file, JSON.stringify(dt));
  const { node } = runDtNode({ config: file });
  rmSync(dirname(file), { recursive: true });
  t.deepEqual(node, { address: 0x50000000, size: 0x100000, recordSize: 0x4000, consoleSize: 0x4000, ftraceSize: 0, pmsgSize: 0x4000, eccSize: 1 });
  const odd = arm64BootConfig(
    { memAddress: 0x50000000, memSize: 0x100000, recordSize: 0x4000, ftraceSize: 0x2000, memType: 2, maxReason: 1, ftracePerCpu: true, compress: 'deflate' },
    'dt',
  );
  t.like(odd, { console_size: '0x0', mem_type: 2, max_reason: 1, ftracePerCpu: true, compress: 'deflate' });
});

test('arm64BootConfig: flags are validated as module parameters and booted as what validate checked', (t) => {
  // ecc 1 means 16 and unset sizes are 4096 on the module path; the node gets those values.
  t.like(arm64BootConfig({ memAddress: 0x50000000, memSize: 0x100000, ecc: 1 }, 'modparams'), {
    ecc: 16,
    record_size: '0x1000',
    ftrace_size: '0x1000',
    ftracePerCpu: true,
  });
  // Settings that do not build go as given; run refuses them (validate already reports the error).
  t.deepEqual(arm64BootConfig({ memAddress: 0x50000000, ecc: 200, kernelVersion: '6.1.0-56-arm64' }, 'dt'), { memAddress: 0x50000000, ecc: 200 });
});

test('kernelMessageSeen: the quote that matches what the boot showed', (t) => {
  const collision: Problem = {
    severity: 'warning',
    code: 'boot-image-collision',
    message: 'm',
    fix: 'f',
    kernelMessage: "Reserved memory: failed to reserve memory for node 'pstore@48000000'",
  };
  const noRoom: Problem = { severity: 'error', code: 'no-room', message: 'm', fix: 'f', kernelMessage: 'no room for dmesg mem region' };
  // The proof's node is ramoops@ADDR whatever the tree called it: matched up to the name.
  t.true(kernelMessageSeen([collision], { observed: 'not-reserved', kernelLines: [RESERVE_LINE] }));
  t.false(kernelMessageSeen([collision], { observed: 'not-reserved', kernelLines: ['ramoops: using 0x100000@0x48000000'] }));
  t.true(kernelMessageSeen([noRoom, collision], { observed: 'probe-refused', kernelLines: ['ramoops: no room for dmesg mem region (0x...)'] }));
  // The collision's quote does not stand in for an error's.
  t.false(kernelMessageSeen([noRoom, collision], { observed: 'probe-refused', kernelLines: [RESERVE_LINE] }));
  t.true(kernelMessageSeen([], { observed: 'probe-refused', kernelLines: [] }));
});
