// --accel auto: each way to TCG with injected probes, KVM when both probes pass, one probe per
// process, and the real probes on this machine (no usable KVM here: the fallback).
import test from 'ava';
import os from 'node:os';
import { chooseAccel, realProbes, type AccelProbes } from '../../../harness/qemu/accel.js';

function probes(openKvm: string | undefined, qemu: string | undefined): AccelProbes & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    openKvm: () => (calls.push('open'), Promise.resolve(openKvm)),
    qemuWithKvm: (m) => (calls.push(`qemu ${m}`), Promise.resolve(qemu)),
  };
}

const native = os.arch() === 'arm64' ? 'virt' : 'q35';

test('an explicit accelerator is used as given, without probing', async (t) => {
  const p = probes('no', 'no');
  t.deepEqual(await chooseAccel('kvm', 'q35', p), { chosen: 'kvm', reason: '--accel kvm' });
  t.deepEqual(await chooseAccel('tcg', 'q35', p), { chosen: 'tcg', reason: '--accel tcg' });
  t.deepEqual(p.calls, []);
});

test('auto: KVM when /dev/kvm opens and the probe QEMU runs, probed once per process', async (t) => {
  const p = probes(undefined, undefined);
  const d = await chooseAccel('auto', native, p);
  t.is(d.chosen, 'kvm');
  t.regex(d.reason, /\/dev\/kvm opens and a probe QEMU ran/);
  t.is(await chooseAccel('auto', native, p), d);
  t.deepEqual(p.calls, ['open', `qemu ${native}`]);
});

test('auto: TCG with the reason when /dev/kvm does not open, or the probe QEMU fails', async (t) => {
  const closed = probes('/dev/kvm does not open (ENOENT)', undefined);
  t.deepEqual(await chooseAccel('auto', native, closed), { chosen: 'tcg', reason: 'auto: /dev/kvm does not open (ENOENT), so TCG' });
  t.deepEqual(closed.calls, ['open']);
  const broken = probes(undefined, 'a probe QEMU with -accel kvm failed: Could not access KVM kernel module');
  t.deepEqual(await chooseAccel('auto', native, broken), {
    chosen: 'tcg',
    reason: 'auto: a probe QEMU with -accel kvm failed: Could not access KVM kernel module, so TCG',
  });
});

test('auto: a guest of another architecture than the host is TCG without probing', async (t) => {
  const p = probes(undefined, undefined);
  const foreign = native === 'q35' ? 'virt' : 'q35';
  const d = await chooseAccel('auto', foreign, p);
  t.is(d.chosen, 'tcg');
  t.regex(d.reason, /KVM cannot run/);
  t.deepEqual(p.calls, []);
});

test('auto with the real probes on this machine: a decision with its reason (TCG here: no usable KVM)', async (t) => {
  const d = await chooseAccel('auto', 'q35', realProbes);
  t.log(d);
  t.true(d.reason.startsWith('auto: '));
  const kvmUsable = (await realProbes.openKvm()) === undefined && (await realProbes.qemuWithKvm('q35')) === undefined;
  t.is(d.chosen, kvmUsable && os.arch() === 'x64' ? 'kvm' : 'tcg');
  if (d.chosen === 'tcg') t.regex(d.reason, /, so TCG$/);
});

test('the real QEMU probe runs QEMU with -accel kvm and passes on its own words when KVM does not work', async (t) => {
  const kvmOpens = (await realProbes.openKvm()) === undefined;
  const why = await realProbes.qemuWithKvm('q35');
  if (kvmOpens && why === undefined) {
    t.pass('KVM works on this machine');
    return;
  }
  t.regex(why ?? '', /^a probe QEMU with -accel kvm failed: .*kvm/i);
});
