// Matrix throughput (verified crash cycles per minute on this machine, one VM per core, cells
// chained) beside the same cells one at a time and unchained (a fresh guest per cell, the
// matrix before chaining) in the same run; target >= 30 verified cycles per minute, and the custom kernel's build time from a cold
// cache (everything: source package, unpack, configure, compile) and a warm one (cache hit).
// RAMOOPS_BENCH_SKIP_COLD_BUILD=1 leaves the cold build out (it takes minutes).
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dir } from 'tmp-promise';
import { runMatrix, type MatrixConfig } from '../../harness/matrix/run.js';
import { buildKernel, findCachedBuild } from '../../harness/kernel/build.js';
import { matrixConfig } from '../../harness/cli/commands/matrix.js';
import { loadScenario } from '../../harness/cycle/scenario.js';
import { CI_KERNEL_61, CI_KERNEL_FRAGMENTS } from '../helpers/ci-kernels.js';

const FRAGMENTS = CI_KERNEL_FRAGMENTS.split(',');

async function matrixSeconds(
  kernel: string,
  configs: readonly MatrixConfig[],
  jobs: number,
  chain: boolean,
): Promise<{ seconds: number; passed: number; cells: number }> {
  const out = await dir({ prefix: 'rh-matrix-bench-', unsafeCleanup: true });
  try {
    const t0 = performance.now();
    const scenarios = [loadScenario('panic-sysrq'), loadScenario('oops-then-panic')];
    const m = await runMatrix({ kernels: [kernel], configs, scenarios, outDir: out.path, jobs, chain });
    return { seconds: (performance.now() - t0) / 1000, passed: m.summary.pass, cells: m.summary.cells };
  } finally {
    await out.cleanup();
  }
}

export async function benchMatrix(): Promise<string> {
  const lines: string[] = [];
  const cached = await findCachedBuild({ source: 'debian-6.1', configs: FRAGMENTS });
  const kernel = cached === undefined ? 'debian' : CI_KERNEL_61;
  const configs = ['', 'ecc16:ramoops.ecc=16', 'small:ramoops.record_size=0x1000', 'ecc32:ramoops.ecc=32'].map((c) => matrixConfig(c, 'x86_64'));
  const jobs = availableParallelism();
  // Warm the kernel and image caches so neither side pays for them.
  await matrixSeconds(kernel, configs.slice(0, 1), 1, false);
  const par = await matrixSeconds(kernel, configs, jobs, true);
  const one = await matrixSeconds(kernel, configs, 1, true);
  const seq = await matrixSeconds(kernel, configs, 1, false);
  const perMin = (r: { seconds: number; cells: number }): string => ((r.cells * 60) / r.seconds).toFixed(2);
  lines.push(
    `matrix bench: kernel ${kernel}, ${par.cells} cells ((panic-sysrq, oops-then-panic) x ${configs.length} configurations), one verified cycle each; load ${loadavg()[0]?.toFixed(1)} at start`,
  );
  lines.push(
    `  matrix, ${jobs} VMs at a time, chained:   ${par.seconds.toFixed(1)} s, ${perMin(par)} verified cycles/min (target >= 30) (${par.passed}/${par.cells} passed)`,
  );
  lines.push(`  one VM at a time, chained:           ${one.seconds.toFixed(1)} s, ${perMin(one)} verified cycles/min (${one.passed}/${one.cells} passed)`);
  lines.push(`  one at a time, unchained (peer):     ${seq.seconds.toFixed(1)} s, ${perMin(seq)} verified cycles/min (${seq.passed}/${seq.cells} passed)`);
  lines.push(`  throughput ratio matrix / peer: ${(seq.seconds / par.seconds).toFixed(2)}x`);

  // Kernel build: warm = a cache hit of the CI kernel; cold = the same build into an empty cache.
  const tw = performance.now();
  const warm = await buildKernel({ source: 'debian-6.1', configs: FRAGMENTS });
  const warmSeconds = (performance.now() - tw) / 1000;
  lines.push(`kernel build bench: debian-6.1 with ${CI_KERNEL_FRAGMENTS}`);
  lines.push(`  warm cache: ${warmSeconds.toFixed(2)} s (${warm.cached ? 'cache hit' : 'was not cached: this was a cold build'})`);
  if (process.env['RAMOOPS_BENCH_SKIP_COLD_BUILD'] === '1') {
    lines.push('  cold cache: skipped (RAMOOPS_BENCH_SKIP_COLD_BUILD=1)');
  } else {
    const cold = await dir({ prefix: 'rh-build-bench-', unsafeCleanup: true });
    try {
      const tc = performance.now();
      const b = await buildKernel({ source: 'debian-6.1', configs: FRAGMENTS, cacheDir: cold.path });
      const coldSeconds = (performance.now() - tc) / 1000;
      lines.push(`  cold cache: ${coldSeconds.toFixed(0)} s (source package, unpack, configure, compile; compile alone ${b.buildSeconds.toFixed(0)} s)`);
      lines.push(`  warm / cold: ${(warmSeconds / coldSeconds).toExponential(1)}`);
    } finally {
      await cold.cleanup();
    }
  }
  return lines.join('\n');
}
