// Shared builders for the validator tests: configurations from a command line or a .dts, and
// lookups of problems by code.
import type { ExecutionContext } from 'ava';
import { settingsFromCmdline } from '../../../src/config/from-cmdline.js';
import { ramoopsNodeFromDt } from '../../../src/config/from-dt.js';
import { parseDts } from '../../../src/dt/dts.js';
import { readFdt } from '../../../src/dt/fdt.js';
import { parseKernelVersion } from '../../../src/kernel/version.js';
import { cmdlineFacts } from '../../../src/validate/cmdline.js';
import type { Problem, ProblemCode, ValidateInput, ValidateResult } from '../../../src/validate/types.js';
import { validateSettings } from '../../../src/validate/validate.js';

/** Optional machine facts for a run. */
export type Extra = Partial<Pick<ValidateInput, 'ramSize' | 'arch' | 'initrdSize' | 'fromSysfs'>> & { readonly kernel?: string; readonly cpus?: number };

/** Validate a kernel command line as the CLI does with --cmdline. */
export function fromCmdline(cmdline: string, extra: Extra = {}): ValidateResult {
  const { settings } = settingsFromCmdline(cmdline);
  return validateSettings({
    settings: { ...settings, ...(extra.kernel ? { kernelVersion: extra.kernel } : {}), ...(extra.cpus ? { cpus: extra.cpus } : {}) },
    source: 'cmdline',
    cmdline: cmdlineFacts(cmdline),
    ...extra,
  });
}

/** Validate a .dts as the CLI does with --dts. */
export function fromDts(dts: string, extra: Extra = {}): ValidateResult {
  const dt = ramoopsNodeFromDt(parseDts(dts), extra.kernel ? parseKernelVersion(extra.kernel) : undefined);
  return validateSettings({
    settings: { ...dt.settings, ...(extra.kernel ? { kernelVersion: extra.kernel } : {}), ...(extra.cpus ? { cpus: extra.cpus } : {}) },
    source: 'dt',
    dt,
    ...extra,
  });
}

/** Validate a DTB as the CLI does with --dtb. */
export function fromDtb(dtb: Uint8Array, extra: Extra = {}): ValidateResult {
  const dt = ramoopsNodeFromDt(readFdt(dtb), extra.kernel ? parseKernelVersion(extra.kernel) : undefined);
  return validateSettings({
    settings: { ...dt.settings, ...(extra.kernel ? { kernelVersion: extra.kernel } : {}), ...(extra.cpus ? { cpus: extra.cpus } : {}) },
    source: 'dt',
    dt,
    ...extra,
  });
}

/** A 2/2-cell virt-like tree with one ramoops node; `node` replaces its body, `rm` the /reserved-memory properties. */
export function virtDts(node: string, opts: { readonly rm?: string; readonly at?: string; readonly before?: string } = {}): string {
  const at = opts.at ?? '50000000';
  return `/dts-v1/;
${opts.before ?? ''}
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	reserved-memory {
		${opts.rm ?? '#address-cells = <2>; #size-cells = <2>; ranges;'}
		ramoops@${at} {
			compatible = "ramoops";
			reg = <0x0 0x${at} 0x0 0x100000>;
			${node}
		};
	};
};`;
}

/** The problem with `code`, failing the test when absent; every problem must carry a message and a fix. */
export function expectProblem(t: ExecutionContext, r: ValidateResult, code: ProblemCode, severity?: Problem['severity']): Problem {
  const p = r.problems.find((q) => q.code === code);
  if (!p) {
    t.fail(`expected ${code}; got ${r.problems.map((q) => q.code).join(', ') || 'nothing'}`);
    throw new Error('unreachable');
  }
  if (severity) t.is(p.severity, severity, `${code} severity`);
  t.true(p.message.length > 20, `${code} has a message`);
  t.true(p.fix.length > 5, `${code} has a fix`);
  return p;
}

/** Fails when a problem with `code` is present. */
export function expectNo(t: ExecutionContext, r: ValidateResult, code: ProblemCode): void {
  const p = r.problems.find((q) => q.code === code);
  t.is(p, undefined, p ? `${code}: ${p.message}` : '');
}

/** The cmdline every capture used (module path, 1 MiB at 128 MiB, reserved). */
export const GOOD =
  'console=ttyS0 quiet loglevel=4 memmap=0x100000$0x8000000 ramoops.mem_address=0x8000000 ramoops.mem_size=0x100000 ramoops.record_size=0x4000';
