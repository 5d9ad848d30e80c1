// Real end-to-end cycles with Debian's stock kernel: boot, sysrq crash, RAM read on the host,
// warm reboot, and the host's parse against the guest's own /sys/fs/pstore. Four variants:
// ECC off, ECC 16, ECC 16 with correctable corruption injected into the RAM file between the
// crash and the reboot, and ECC 16 with corruption beyond what the code can fix. Each boots its
// own QEMU; they run one after another (test.serial) so two TCG guests do not share 2 cores.
import type { ExecutionContext } from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dir } from 'tmp-promise';
import { runCycles } from '../../harness/cycle/run.js';
import { defaultRamoopsCmdline, type CorruptSpec } from '../../harness/cycle/options.js';
import { verdictText, type RunReport } from '../../harness/report/run-report.js';
import { loadScenario } from '../../harness/cycle/scenario.js';
import { CI_KERNEL_61 } from '../helpers/ci-kernels.js';
import { serialUnless, x86SkipReason } from '../helpers/integration.js';

const cycleTest = serialUnless(x86SkipReason({ debianKernel: true }));

const ECC16 = `${defaultRamoopsCmdline()} ramoops.ecc=16`;

async function run(
  t: ExecutionContext,
  ramoopsCmdline: string,
  corrupt?: CorruptSpec,
): Promise<{ report: RunReport; host: Buffer; guest: Buffer; serial: string }> {
  const out = await dir({ prefix: 'ramoops-cycle-test-', unsafeCleanup: true });
  if (process.env['RAMOOPS_KEEP_ARTIFACTS'] !== '1') t.teardown(() => out.cleanup());
  const report = await runCycles({ ramoopsCmdline, outDir: out.path, ...(corrupt === undefined ? {} : { corrupt }) });
  t.log(verdictText(report));
  const read = (side: string): Promise<Buffer> => readFile(join(out.path, `cycle1-${side}`, 'dmesg-ramoops-0')).catch(() => Buffer.alloc(0));
  return { report, host: await read('host'), guest: await read('guest'), serial: await readFile(join(out.path, 'serial.log'), 'utf8') };
}

/** The assertions every verified cycle must pass: one cycle, every file equal, a sysrq record on both sides. */
function assertVerified(t: ExecutionContext, report: RunReport, host: Buffer, guest: Buffer): void {
  t.is(report.fault, undefined, report.fault?.message);
  t.is(report.verdict, 'pass');
  t.is(report.exitCode, 0);
  t.is(report.cycles.length, 1);
  const c = report.cycles[0];
  if (c === undefined) return;
  t.true(c.comparison.matched);
  t.true(c.comparison.files.length > 0);
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
  t.regex(guest.toString('latin1'), /sysrq/);
  t.is(c.pmemsave, 'equal');
}

cycleTest("ECC off: a sysrq panic record parsed from guest RAM equals the guest's /sys/fs/pstore", async (t) => {
  const { report, host, guest, serial } = await run(t, defaultRamoopsCmdline());
  assertVerified(t, report, host, guest);
  // The guest took the host key handed to it: it announced none of its own, and the key stays secret.
  t.regex(report.cmdline, / rh\.key=<run key> rh\.hostkey=<run host key>$/);
  t.notRegex(serial, /RAMOOPS-HARNESS-HOSTKEY/);
  t.is(report.cycles[0]?.host.files.find((f) => f.name === 'dmesg-ramoops-0')?.eccNotice, undefined);
});

cycleTest('ECC 16: the record and its "No errors detected" notice equal the guest\'s', async (t) => {
  const { report, host, guest } = await run(t, ECC16);
  assertVerified(t, report, host, guest);
  const c = report.cycles[0];
  t.is(c?.host.files.find((f) => f.name === 'dmesg-ramoops-0')?.eccNotice, 'No errors detected');
  t.is(c?.guest.files.find((f) => f.name === 'dmesg-ramoops-0')?.eccNotice, 'No errors detected');
});

cycleTest('ECC 16, 5 bytes corrupted in one block between crash and reboot: host and guest both correct them', async (t) => {
  // Block 1 of the data (bytes 128..255): inside the compressed record, away from its header.
  const { report, host, guest } = await run(t, ECC16, { dataOffsets: [130, 151, 172, 193, 214], xor: 0x5a });
  assertVerified(t, report, host, guest);
  const c = report.cycles[0];
  t.is(c?.corrupted.length, 5);
  const h = c?.host.files.find((f) => f.name === 'dmesg-ramoops-0')?.eccNotice;
  const g = c?.guest.files.find((f) => f.name === 'dmesg-ramoops-0')?.eccNotice;
  t.is(h, g);
  t.regex(g ?? '', /Corrected bytes/);
  t.notRegex(g ?? '', /No errors/);
  t.is(g, '5 Corrected bytes, 0 unrecoverable blocks');
});

cycleTest('ECC 16, 20 bytes corrupted in one block (beyond capacity): host and guest show the same unrecoverable outcome', async (t) => {
  // Block 2 (bytes 256..383): 20 errors where RS(144,128) fixes at most 8.
  const offsets = Array.from({ length: 20 }, (_, i) => 260 + i * 5);
  const { report } = await run(t, ECC16, { dataOffsets: offsets, xor: 0x5a });
  t.is(report.fault, undefined, report.fault?.message);
  const c = report.cycles[0];
  if (c === undefined) return t.fail('no cycle ran');
  // Agreement is the claim: same names, same bytes, same notice.
  t.is(report.verdict, 'pass');
  t.true(c.comparison.matched);
  t.deepEqual(
    c.host.files.map((f) => f.name),
    c.guest.files.map((f) => f.name),
  );
  const damaged = c.guest.files.filter((f) => f.name.startsWith('dmesg-ramoops-0'));
  t.is(damaged.length, 1);
  const f = damaged[0];
  t.true(f !== undefined && (f.name.endsWith('.enc.z') || /[1-9]\d* unrecoverable/.test(f.eccNotice ?? '')), `outcome: ${f?.name} [${f?.eccNotice}]`);
  t.regex(f?.eccNotice ?? '', /[1-9]\d* unrecoverable blocks/);
  t.is(c.host.files.find((x) => x.name === f?.name)?.eccNotice, f?.eccNotice);
});

// PVH skips the decompressor, which is where x86 KASLR picks the base: the CI kernels boot at
// their link address on the default path. The bzImage path keeps a randomized base, so this
// cell proves what an offset changes (ftrace records named with the reading boot's symbols).
cycleTest('KASLR on the bzImage path: a randomized base, ftrace named as the guest names it', async (t) => {
  t.timeout(20 * 60_000);
  const out = await dir({ prefix: 'ramoops-kaslr-test-', unsafeCleanup: true });
  if (process.env['RAMOOPS_KEEP_ARTIFACTS'] !== '1') t.teardown(() => out.cleanup());
  const report = await runCycles({
    kernel: CI_KERNEL_61,
    ramoopsCmdline: defaultRamoopsCmdline(),
    scenario: loadScenario('ftrace'),
    bootPath: 'bzimage',
    outDir: out.path,
  });
  t.log(verdictText(report));
  t.is(report.verdict, 'pass', report.fault?.message);
  t.is(report.qemu.boot?.path, 'bzimage');
  const names = report.cycles[0]?.comparison.files.map((f) => f.name) ?? [];
  t.true(
    names.some((n) => n.startsWith('ftrace-ramoops-')),
    names.join(','),
  );
  const dmesg = await readFile(join(out.path, 'cycle1-host', 'dmesg-ramoops-0'), 'latin1');
  t.regex(dmesg, /Kernel Offset: 0x[0-9a-f]*[1-9a-f][0-9a-f]* from 0x/, 'the crashed boot ran at a randomized base');
});
