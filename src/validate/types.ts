// What the validator takes and gives: a configuration plus what is known about the machine,
// and problems that each carry the reason and the fix.
import type { ConfigSettings } from '../config/build.js';
import type { DtFacts, DtRefusal } from '../config/from-dt.js';
import type { RamoopsConfig } from '../config/types.js';
import type { Layout, ZoneKind } from '../layout/layout.js';
import type { CmdlineFacts } from './cmdline.js';

/** error: the kernel refuses or disables ramoops; warning: it works but loses data; info: worth knowing. */
export type Severity = 'error' | 'warning' | 'info';

/** Where a configuration came from: decides defaults and which reservation rules apply. */
export type ValidateSource = 'modparams' | 'cmdline' | 'dt' | 'json';

/** The architecture decides the reservation mechanism (memmap= or device tree) and the QEMU machine. */
export type Arch = 'x86' | 'arm64';

/** Every rule's code; each rule file (probe, placement, capacity, versions) says why it exists. */
export type ProblemCode =
  // errors: the kernel refuses or disables ramoops
  | 'no-mem-size'
  | 'no-mem-address'
  | 'all-sizes-zero'
  | 'no-room'
  | 'dmesg-count-zero'
  | 'zone-size-zero'
  | 'zone-too-small'
  | 'ecc-invalid'
  | 'ecc-out-of-range'
  | 'config-invalid'
  | DtRefusal['code']
  // warnings
  | 'size-not-pow2'
  | 'dmesg-disabled'
  | 'region-not-reserved'
  | 'region-pmem'
  | 'region-outside-ram'
  | 'region-low-memory'
  | 'region-unaligned'
  | 'boot-image-collision'
  | 'dt-not-under-reserved-memory'
  | 'dt-reserved-memory-ignored'
  | 'dt-reg-not-reservable'
  | 'dt-no-map'
  | 'dt-several-nodes'
  | 'ecc-overhead'
  | 'record-too-small'
  | 'console-small'
  | 'version-zone-rounding'
  | 'version-zone-order'
  | 'version-mem-type'
  | 'version-max-reason'
  | 'version-dt-flags'
  | 'version-chromebook'
  | 'version-sysfs-ecc'
  // info
  | 'kernel-version-unknown'
  | 'cpus-assumed'
  | 'reservation-unchecked'
  | 'oops-not-stored';

/** One finding: what is wrong and why (message), and what to change (fix). */
export interface Problem {
  readonly severity: Severity;
  readonly code: ProblemCode;
  readonly message: string;
  readonly fix: string;
  /** The zone concerned, when there is one. */
  readonly zone?: { readonly kind: ZoneKind; readonly index: number };
  /** The line the kernel logs for this refusal (without the "ramoops: " prefix). */
  readonly kernelMessage?: string;
}

/** A configuration and what is known about where it runs. */
export interface ValidateInput {
  readonly config: RamoopsConfig;
  readonly source: ValidateSource;
  /** The kernel command line's memmap=/mem=/loglevel facts, when the command line is known. */
  readonly cmdline?: CmdlineFacts;
  /** Facts about the DT node when the configuration came from a device tree. */
  readonly dt?: DtFacts & { readonly refusals?: readonly DtRefusal[] };
  /** Guest RAM in bytes (a QEMU machine: q35 map on x86, virt on arm64). */
  readonly ramSize?: number;
  /** Default x86. */
  readonly arch?: Arch;
  /** Size of the initrd QEMU loads (direct kernel boot); unknown means up to 64 MiB is assumed. */
  readonly initrdSize?: number;
  /** The settings as given (before defaults), to tell options that were set from defaults. */
  readonly settings?: ConfigSettings;
  /** The values were read from /sys/module/ramoops/parameters of a running kernel. */
  readonly fromSysfs?: boolean;
}

/** The layout when the kernel would compute one, and every problem found (errors first). */
export interface ValidateResult {
  readonly layout?: Layout;
  readonly problems: readonly Problem[];
}

/** Exit status for CI: 2 with errors, 1 with warnings under --strict, else 0. */
export function exitCode(problems: readonly Problem[], strict: boolean): 0 | 1 | 2 {
  if (problems.some((p) => p.severity === 'error')) return 2;
  if (strict && problems.some((p) => p.severity === 'warning')) return 1;
  return 0;
}
