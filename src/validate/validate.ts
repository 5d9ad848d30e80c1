// The validator: the probe's verdict (errors), then placement, capacity and version warnings,
// each with its reason and fix; errors first.
import { buildConfig, type ConfigSettings } from '../config/build.js';
import type { DtRefusal } from '../config/from-dt.js';
import { ConfigError } from '../errors.js';
import { capacityProblems } from './capacity.js';
import { placementProblems } from './placement.js';
import { eccRangeProblem, probeProblems } from './probe.js';
import type { Problem, ValidateInput, ValidateResult } from './types.js';
import { versionProblems } from './versions.js';

const ORDER = { error: 0, warning: 1, info: 2 } as const;

/** Check a configuration against what the kernel will do with it; the layout is present when probe would succeed. */
export function validate(input: ValidateInput): ValidateResult {
  const refusals = (input.source === 'dt' ? (input.dt?.refusals ?? []) : []).map(refusalProblem);
  const { layout, problems: probe } = probeProblems(input.config);
  const problems: Problem[] = [
    ...refusals,
    ...probe,
    ...placementProblems(input),
    // A refused property reads as its default (0), so what the zones hold would be guesswork.
    ...(refusals.length === 0 ? capacityProblems(input, layout) : []),
    ...versionProblems(input, layout),
  ];
  return { layout: refusals.length === 0 ? layout : undefined, problems: sortProblems(problems) };
}

/** Validate settings as a source gave them: a configuration the builder rejects becomes an error, not an exception. */
export function validateSettings(input: Omit<ValidateInput, 'config'> & { readonly settings: ConfigSettings }): ValidateResult {
  const refusals = (input.source === 'dt' ? (input.dt?.refusals ?? []) : []).map(refusalProblem);
  try {
    const { config } = buildConfig(input.settings, input.source === 'dt' ? 'dt' : 'modparams');
    return validate({ ...input, config });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // A DT without usable reg already says why; do not repeat it as "no size".
    const regRefused = refusals.some((r) => r.code === 'dt-no-reg');
    const extra = regRefused && (e.field === 'mem_size' || e.field === 'mem_address') ? [] : [configErrorProblem(e, input.source, input.settings)];
    return { problems: sortProblems([...refusals, ...extra]) };
  }
}

/** A configuration error from buildConfig (or a source parser) as a problem. */
export function configErrorProblem(e: ConfigError, source: ValidateInput['source'], settings?: ConfigSettings): Problem {
  if (e.field === 'mem_size') {
    return source === 'dt'
      ? {
          severity: 'error',
          code: 'no-mem-size',
          message: "reg gives a region size of 0 (check the size cells: reg is read with the parent's #size-cells): probe fails",
          fix: "give reg a non-zero size in /reserved-memory's #address-cells/#size-cells",
          // Seen on Debian 6.1 arm64 with reg read as size 0.
          kernelMessage: 'The memory size and the record/console size must be non-zero',
        }
      : {
          severity: 'error',
          code: 'no-mem-size',
          message: 'mem_size is 0 or not given: without a region size the kernel sets up no ramoops at all, nothing appears in pstore',
          fix: 'add ramoops.mem_size=0x100000 (and a matching memmap= reservation)',
        };
  }
  if (e.field === 'mem_address') {
    return {
      severity: 'error',
      code: 'no-mem-address',
      message: 'mem_address is not given: the kernel would place the region at physical address 0 (its default), over the BIOS data area on x86',
      fix: 'add ramoops.mem_address=0x8000000 (and memmap=SIZE$0x8000000)',
    };
  }
  if (e.field === 'ecc') {
    const ecc = settings?.ecc;
    return ecc !== undefined
      ? eccRangeProblem(ecc)
      : { severity: 'error', code: 'ecc-out-of-range', message: e.message, fix: 'use ecc 16 (or 1..127); 0 turns ECC off' };
  }
  return { severity: 'error', code: 'config-invalid', message: e.message, fix: 'correct the setting named in the message' };
}

function refusalProblem(r: DtRefusal): Problem {
  const fixes: Readonly<Record<DtRefusal['code'], string>> = {
    'dt-no-reg': "give the node reg = <ADDRESS SIZE>; in its parent's #address-cells/#size-cells, under a /reserved-memory with `ranges;`",
    'dt-bad-property': `write ${r.property ?? 'the property'} as one 32-bit cell, e.g. ${r.property ?? 'record-size'} = <0x4000>;`,
    'dt-value-overflow': `use a value of at most 0x7fffffff for ${r.property ?? 'the property'}`,
    'dt-disabled': 'remove the status property or set status = "okay";',
  };
  return {
    severity: 'error',
    code: r.code,
    message: r.code === 'dt-disabled' ? r.message : `probe fails: ${r.message}`,
    fix: fixes[r.code],
    kernelMessage: r.code === 'dt-disabled' ? undefined : r.message.replace(/ \(.*\)$/, ''),
  };
}

function sortProblems(p: readonly Problem[]): readonly Problem[] {
  return [...p].sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
}
