// Real end-to-end cycles on arm64: QEMU's virt machine (TCG, cortex-a57) with Debian's stock
// arm64 6.1 kernel, ramoops configured by a /reserved-memory node we add to the DTB QEMU
// generates. The host parses with the configuration read back from that DTB by the DT rules,
// and must equal the guest's own /sys/fs/pstore byte for byte: ECC off and ECC 16. Then the
// collision the issue describes: a node at 0x48000000, where QEMU's loader puts the initrd.
// The kernel refuses to reserve it ("failed to reserve memory for node"), ramoops probes anyway
// on memory the kernel then hands out (seen: an empty region after the crash, or an oops in
// persistent_ram_save_old when pstore is mounted); the run must end as a clear boot fault.
// The ECC-off cycle also checks the harvest archive the run made of the arm64 guest's pstore.
// The first run downloads the arm64 packages (~65 MB) into the cache.
import type { ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir } from 'tmp-promise';
import { ARM64_DEFAULT_NODE } from '../../harness/qemu/virt-arm64.js';
import { runCycles } from '../../harness/cycle/run.js';
import { verdictText, type RunReport } from '../../harness/report/run-report.js';
import { readFdt } from '../../src/dt/fdt.js';
import { ramoopsNodeFromDt } from '../../src/config/from-dt.js';
import type { RamoopsNodeSpec } from '../../src/dt/ramoops-node.js';
import type { Manifest } from '../../src/harvest/index.js';
import { arm64SkipReason, serialUnless } from '../helpers/integration.js';

const cycleTest = serialUnless(arm64SkipReason());

async function run(t: ExecutionContext, node: RamoopsNodeSpec): Promise<{ report: RunReport; out: string; host: Buffer; guest: Buffer }> {
  const out = await dir({ prefix: 'ramoops-arm64-test-', unsafeCleanup: true });
  if (process.env['RAMOOPS_KEEP_ARTIFACTS'] !== '1') t.teardown(() => out.cleanup());
  const report = await runCycles({ arch: 'arm64', ramoopsCmdline: '', ramoopsNode: node, outDir: out.path });
  t.log(verdictText(report));
  const read = (side: string): Promise<Buffer> => readFile(join(out.path, `cycle1-${side}`, 'dmesg-ramoops-0')).catch(() => Buffer.alloc(0));
  return { report, out: out.path, host: await read('host'), guest: await read('guest') };
}

/** Every verified-cycle assertion, plus: the guest booted the DTB we wrote, with the node we asked for. */
async function assertVerified(t: ExecutionContext, r: { report: RunReport; out: string; host: Buffer; guest: Buffer }, node: RamoopsNodeSpec): Promise<void> {
  const { report, host, guest } = r;
  t.is(report.fault, undefined, report.fault?.message);
  t.is(report.verdict, 'pass');
  t.is(report.exitCode, 0);
  t.is(report.arch, 'arm64');
  t.is(report.qemu.machine, 'virt');
  t.regex(report.kernel.release ?? '', /-arm64$/);
  t.notRegex(report.cmdline, /ramoops\.|memmap=/, 'the region comes from the DT only');
  const c = report.cycles[0];
  if (c === undefined) return t.fail('no cycle ran');
  t.true(c.comparison.matched);
  t.true(c.comparison.files.every((f) => f.status === 'match'));
  t.true(
    c.host.files.some((f) => f.name === 'dmesg-ramoops-0'),
    'host parsed dmesg-ramoops-0',
  );
  t.true(
    c.guest.files.some((f) => f.name === 'dmesg-ramoops-0'),
    'guest shows dmesg-ramoops-0',
  );
  t.regex(host.toString('latin1'), /sysrq/);
  t.true(host.equals(guest));
  t.is(c.pmemsave, 'equal', 'the virt RAM map (file offset = phys - 0x40000000) agrees with QEMU');
  // The artifact is the blob the guest booted: read back, it holds exactly the node asked for.
  const dt = ramoopsNodeFromDt(readFdt(new Uint8Array(await readFile(join(r.out, 'guest.dtb')))));
  t.is(dt.path, `/reserved-memory/ramoops@${node.address.toString(16)}`);
  t.is(dt.settings.memAddress, node.address);
  t.is(dt.settings.recordSize, node.recordSize);
  t.is(dt.settings.ecc, node.eccSize ?? 0);
  t.is(dt.settings.ftraceSize, node.ftraceSize ?? 0, 'an absent ftrace-size is 0 on the DT path');
  t.true(dt.noMap);
}

cycleTest("arm64, DT ramoops, ECC off: the sysrq panic record parsed from guest RAM equals the guest's /sys/fs/pstore", async (t) => {
  const node = ARM64_DEFAULT_NODE;
  const r = await run(t, node);
  await assertVerified(t, r, node);
  t.is(r.report.cycles[0]?.host.files.find((f) => f.name === 'dmesg-ramoops-0')?.eccNotice, undefined);
  // The guest's side is read by the harvest code (what `ramoops harvest --ssh` runs after its
  // login, which is the same on every arch): its archive of this arm64 guest's /sys/fs/pstore is
  // in the artifacts. No extra boot: the panic is named from an arm64 call trace, and the
  // archived bytes are the guest's.
  const root = join(r.out, 'cycle1-harvest');
  const manifest = JSON.parse(await readFile(join(root, 'manifest.json'), 'utf8')) as Manifest;
  t.is(manifest.crashes.length, 1);
  t.like(manifest.crashes[0], { kind: 'crash', reason: 'Panic', counter: 1, files: ['dmesg-ramoops-0'] });
  t.regex(manifest.crashes[0]?.summary ?? '', /Panic#1: Kernel panic - not syncing: sysrq triggered crash .*\| panic < /);
  const rec = manifest.records.find((x) => x.file === 'dmesg-ramoops-0');
  t.like(rec, { type: 'dmesg', backend: 'ramoops', reason: 'Panic', part: 1, host: 'guest', length: r.guest.length });
  t.is(rec?.sha256, createHash('sha256').update(r.guest).digest('hex'));
  t.true((await readFile(join(root, rec?.archive ?? 'missing'))).equals(r.guest), "the archived record is the guest's file");
});

cycleTest('arm64, DT ramoops, ecc-size 16: the record and its "No errors detected" notice equal the guest\'s', async (t) => {
  const node: RamoopsNodeSpec = { ...ARM64_DEFAULT_NODE, eccSize: 16 };
  const r = await run(t, node);
  await assertVerified(t, r, node);
  const c = r.report.cycles[0];
  t.is(c?.host.files.find((f) => f.name === 'dmesg-ramoops-0')?.eccNotice, 'No errors detected');
  t.is(c?.guest.files.find((f) => f.name === 'dmesg-ramoops-0')?.eccNotice, 'No errors detected');
});

cycleTest('arm64, a node at 0x48000000 (where QEMU loads the initrd): the kernel refuses the reservation and the run is a clear boot fault', async (t) => {
  const node: RamoopsNodeSpec = { ...ARM64_DEFAULT_NODE, address: 0x4800_0000 };
  const { report } = await run(t, node);
  t.is(report.verdict, 'fault');
  t.is(report.exitCode, 2);
  t.is(report.cycles.length, 0, 'no crash is attempted on a region that cannot hold records');
  t.is(report.fault?.stage, 'boot');
  t.regex(report.fault?.message ?? '', /could not reserve ramoops@48000000/);
  t.regex(report.fault?.message ?? '', /overlaps the initrd QEMU loads at 0x48000000\.\./);
  // The kernel's own words, as the console showed them.
  t.regex(report.fault?.message ?? '', /Reserved memory: failed to reserve memory for node 'ramoops@48000000'/);
  // In the whole console log: when the reused region later oopses the kernel (seen here), the
  // trace pushes the line out of the report's 25-line excerpt.
  const serial = await readFile(join(report.outDir, 'serial.log'), 'utf8');
  t.regex(serial, /failed to reserve memory for node 'ramoops@48000000'/);
});
