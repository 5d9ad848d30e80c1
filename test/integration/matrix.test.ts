// The crash matrix on the two custom kernels CI builds (make kernels): every compressor each
// version offers, ECC off and on, console/pmsg/ftrace zones, an oops and a panic in one boot
// (scenario `full`), and the LKDTM crash list. Each cell is a verified cycle: the host's parse
// of guest RAM equals the guest's /sys/fs/pstore byte for byte, and the scenario's checks
// hold. Driven through the CLI as a user would; run alone (scripts/run-tests.mjs phase 2).
import type { ExecutionContext } from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { dir } from 'tmp-promise';
import type { MatrixReport } from '../../harness/matrix/run.js';
import type { RunReport } from '../../harness/report/run-report.js';
import { CI_KERNEL_61, CI_KERNEL_612 } from '../helpers/ci-kernels.js';
import { onPath, serialUnless, x86SkipReason } from '../helpers/integration.js';
import { repoRoot } from '../helpers/paths.js';

const matrixTest = serialUnless(x86SkipReason());

async function matrix(t: ExecutionContext, args: readonly string[]): Promise<{ m: MatrixReport; reports: Map<string, RunReport> }> {
  t.timeout(60 * 60_000);
  const out = await dir({ prefix: 'ramoops-matrix-test-', unsafeCleanup: true });
  if (process.env['RAMOOPS_KEEP_ARTIFACTS'] !== '1') t.teardown(() => out.cleanup());
  const r = await execa(process.execPath, [join(repoRoot(), 'dist/harness/cli/main.js'), 'matrix', '--jobs', '2', '--out', out.path, ...args], {
    reject: false,
    all: true,
  });
  const m = JSON.parse(readFileSync(join(out.path, 'matrix.json'), 'utf8')) as MatrixReport;
  t.log(
    r.all
      ?.split('\n')
      .filter((l) => /^(PASS|FAIL|  (pass|mismatch|fault|skipped) )/.test(l))
      .join('\n'),
  );
  for (const c of m.cells.filter((x) => x.verdict !== 'pass')) t.log(`${c.label}: ${c.verdict}: ${c.why ?? ''}\n${r.all ?? ''}`);
  t.is(r.exitCode, m.exitCode, "the exit code is the report's");
  const reports = new Map<string, RunReport>();
  for (const c of m.cells) reports.set(c.label, JSON.parse(readFileSync(join(c.outDir, 'report.json'), 'utf8')) as RunReport);
  return { m, reports };
}

/** Every file both sides showed in the cell's single cycle. */
function files(r: RunReport | undefined): string[] {
  return (r?.cycles[0]?.comparison.files ?? []).map((f) => f.name).sort();
}

/** Runs `full` on the ECC-off configurations and `full-noftrace` on the ECC ones (see that scenario). */
async function fullMatrix(t: ExecutionContext, kernel: string, configs: readonly string[]): Promise<{ m: MatrixReport; reports: Map<string, RunReport> }[]> {
  const plain = configs.filter((c) => !c.includes('ramoops.ecc='));
  const ecc = configs.filter((c) => c.includes('ramoops.ecc='));
  const runs = [await matrix(t, ['--kernels', kernel, '--scenarios', 'full', '--configs', ...plain])];
  if (ecc.length > 0) runs.push(await matrix(t, ['--kernels', kernel, '--scenarios', 'full-noftrace', '--configs', ...ecc]));
  return runs;
}

matrixTest('6.1: every compressor, ECC off and on, all zones (ftrace without ECC), oops + panic: host == guest', async (t) => {
  const configs = [
    'deflate:pstore.compress=deflate',
    'lzo-ecc16:pstore.compress=lzo ramoops.ecc=16',
    'lz4:pstore.compress=lz4',
    'lz4hc-ecc16:pstore.compress=lz4hc ramoops.ecc=16',
    '842:pstore.compress=842',
    'zstd-ecc16:pstore.compress=zstd ramoops.ecc=16',
  ];
  const runs = await fullMatrix(t, CI_KERNEL_61, configs);
  t.is(
    runs.reduce((n, r) => n + r.m.summary.pass, 0),
    6,
    JSON.stringify(runs.map((r) => r.m.summary)),
  );
  for (const { m, reports } of runs)
    for (const c of m.cells) {
      const r = reports.get(c.label);
      t.is(r?.verdict, 'pass', c.label);
      // Oops#1 and Panic#2, the console, pmsg and the ftrace zone: every front end, compared.
      const names = files(r);
      t.true(names.filter((n) => n.startsWith('dmesg-ramoops-')).length >= 2, `${c.label}: ${names.join(',')}`);
      for (const want of ['console-ramoops-0', 'pmsg-ramoops-0']) t.true(names.includes(want), `${c.label}: ${want} in ${names.join(',')}`);
      if (c.scenario === 'full')
        t.true(
          names.some((n) => n.startsWith('ftrace-ramoops-')),
          `${c.label}: ftrace in ${names.join(',')}`,
        );
      t.true(
        r?.cycles[0]?.comparison.files.every((f) => f.status === 'match'),
        c.label,
      );
      t.true(
        r?.cycles[0]?.checks.every((k) => k.ok),
        c.label,
      );
      // ECC cells: the guest's kernel appended its ECC verdict, and the host's bytes equal it.
      const ecc = c.config.endsWith('ecc16');
      const notice = r?.cycles[0]?.guest.files.find((f) => f.name === 'dmesg-ramoops-0')?.eccNotice;
      t.is(notice !== undefined, ecc, `${c.label}: ECC notice ${notice ?? 'none'}`);
      // The records were written with the configuration's compressor: the host decoded them with it.
      const algo = c.config.split('-')[0] ?? '';
      const dmesg = r?.cycles[0]?.host.files.filter((f) => f.name.startsWith('dmesg-')) ?? [];
      t.true(
        dmesg.length >= 2 && dmesg.every((f) => f.compression === algo),
        `${c.label}: ${dmesg.map((f) => `${f.name}=${f.compression ?? 'none'}`).join(', ')}`,
      );
    }
});

matrixTest('6.12: deflate with ECC off and on, all zones (ftrace without ECC), oops + panic: host == guest', async (t) => {
  const runs = await fullMatrix(t, CI_KERNEL_612, ['deflate:pstore.compress=deflate', 'deflate-ecc16:pstore.compress=deflate ramoops.ecc=16']);
  t.is(
    runs.reduce((n, r) => n + r.m.summary.pass, 0),
    2,
    JSON.stringify(runs.map((r) => r.m.summary)),
  );
  for (const { m, reports } of runs)
    for (const c of m.cells) {
      const names = files(reports.get(c.label));
      t.true(names.filter((n) => n.startsWith('dmesg-ramoops-')).length >= 2, `${c.label}: ${names.join(',')}`);
      for (const want of ['console-ramoops-0', 'pmsg-ramoops-0']) t.true(names.includes(want), `${c.label}: ${want} in ${names.join(',')}`);
      if (c.scenario === 'full')
        t.true(
          names.some((n) => n.startsWith('ftrace-ramoops-')),
          `${c.label}: ${names.join(',')}`,
        );
    }
});

matrixTest('the LKDTM crash list, ring wrap, parts and console wrap on 6.1; hard lockup on 6.12 with 2 CPUs', async (t) => {
  const scenarios = ['lkdtm-bug', 'lkdtm-exception', 'lkdtm-panic', 'lkdtm-warning', 'lkdtm-softlockup', 'ring-wrap', 'parts', 'console-wrap'];
  const { m } = await matrix(t, ['--kernels', CI_KERNEL_61, '--scenarios', ...scenarios]);
  t.is(m.summary.pass, scenarios.length, JSON.stringify(m.cells.map((c) => [c.scenario, c.verdict, c.why])));
  const hard = await matrix(t, ['--kernels', CI_KERNEL_612, '--scenarios', 'lkdtm-hardlockup']);
  t.is(hard.m.summary.pass, 1, JSON.stringify(hard.m.cells.map((c) => [c.scenario, c.verdict, c.why])));
  t.is(hard.reports.values().next().value?.qemu.cpus, 2);
});

matrixTest('arm64: the matrix with ramoops from the device tree, ECC off and on (Debian arm64 kernel)', async (t) => {
  if (!onPath('qemu-system-aarch64')) {
    t.fail('qemu-system-aarch64 is not installed (make setup installs qemu-system-arm)');
    return;
  }
  const { m, reports } = await matrix(t, ['--arch', 'arm64', '--scenarios', 'panic-sysrq', '--configs', 'plain:', 'ecc16:ramoops.ecc=16']);
  t.is(m.summary.pass, 2, JSON.stringify(m.cells.map((c) => [c.label, c.verdict, c.why])));
  for (const c of m.cells) {
    const r = reports.get(c.label);
    t.is(r?.arch, 'arm64');
    // The configuration became the node's ecc-size (taken literally by the DT rules).
    t.is(r?.ramoopsNode?.['ecc-size'], c.config === 'ecc16' ? 16 : undefined, c.label);
    t.true(files(r).includes('dmesg-ramoops-0'), c.label);
  }
});

matrixTest('chained cells: the verdicts and files of fresh guests, each cell only its own crash, its own command lines', async (t) => {
  const args = ['--kernels', CI_KERNEL_61, '--scenarios', 'panic-sysrq', 'pmsg', 'oops-then-panic', 'ftrace'];
  const chained = await matrix(t, args);
  const fresh = await matrix(t, [...args, '--no-chain']);
  t.is(chained.m.summary.pass, 4, JSON.stringify(chained.m.summary));
  t.is(fresh.m.summary.pass, 4, JSON.stringify(fresh.m.summary));
  // Two VMs, four cells: two chains of two (at most cells/jobs long).
  t.deepEqual(
    chained.m.cells.map((c) => chained.reports.get(c.label)?.chain?.position),
    [1, 2, 1, 2],
  );
  t.true(
    fresh.m.cells.every((c) => fresh.reports.get(c.label)?.chain === undefined),
    'a fresh guest per cell',
  );
  for (const c of chained.m.cells) {
    // Erased between cells: exactly the files a fresh guest shows (oops-then-panic: two dmesg, not three).
    t.deepEqual(files(chained.reports.get(c.label)), files(fresh.reports.get(c.label)), c.label);
    for (const f of ['kernel-cmdline.txt', 'qemu-cmdline.txt', 'serial.log']) t.true(existsSync(join(c.outDir, f)), `${c.label}: ${f}`);
  }
  t.deepEqual(files(chained.reports.get(chained.m.cells[2]?.label ?? '')), ['console-ramoops-0', 'dmesg-ramoops-0', 'dmesg-ramoops-1']);
});
