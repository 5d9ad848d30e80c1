// `ramoops validate`: check a ramoops configuration (flags, a kernel command line, a JSON file,
// a device tree source or blob, or a running machine over SSH) against what the kernel will do
// with it. Exit codes for CI: 0 clean, 1 warnings with --strict, 2 errors.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { ConfigError, parseKernelVersion, parseSize, type ConfigSettings } from '../../../src/index.js';
import { ramoopsNodeFromDt, type DtRamoops } from '../../../src/config/from-dt.js';
import { parseDts } from '../../../src/dt/dts.js';
import { readFdt } from '../../../src/dt/fdt.js';
import type { DeviceTree } from '../../../src/dt/tree.js';
import { zoneMapSvg, zoneMapText } from '../../../src/report/zone-map.js';
import { cmdlineFacts, type CmdlineFacts } from '../../../src/validate/cmdline.js';
import { exitCode, type Arch, type Problem, type ValidateResult, type ValidateSource } from '../../../src/validate/types.js';
import { validateSettings } from '../../../src/validate/validate.js';
import { readRemoteRamoops, settingsFromParams } from '../../ssh/modparams.js';
import { resolveSettings, withConfigOptions, type ConfigArgs } from '../config-options.js';
import { RESERVE_FAILED_TEXT } from '../../../src/validate/placement.js';
import { arm64BootConfig, arm64BootGuest, proveByBoot, type Arm64BootGuest, type BootPrediction, type BootProof } from '../../validate/boot.js';

/** x86: `ramoops run` flags for exactly the validated settings (kernel defaults filled in, so run's own defaults never apply). */
function x86BootArgs(s: ConfigSettings): string[] {
  const hx = (n: number): string => `0x${n.toString(16)}`;
  const out = ['--mem-address', hx(s.memAddress ?? 0), '--mem-size', hx(s.memSize ?? 0)];
  out.push(
    '--record-size',
    hx(s.recordSize ?? 4096),
    '--console-size',
    hx(s.consoleSize ?? 4096),
    '--ftrace-size',
    hx(s.ftraceSize ?? 4096),
    '--pmsg-size',
    hx(s.pmsgSize ?? 4096),
  );
  if (s.ecc !== undefined) out.push('--ecc', String(s.ecc));
  if (s.compress !== undefined) out.push('--compress', s.compress);
  return out;
}

/** The --arch values: run's names, plus `x86` as validate always took it. */
export const ARCH_CHOICES = ['x86_64', 'x86', 'arm64'] as const;

/**
 * The architecture the rules are checked for, from --arch and the input; undefined when --arch
 * is not given (a device tree then implies arm64, anything else x86; the QEMU loader rules apply
 * only when the machine is said to be a QEMU guest). A device tree with --arch x86_64 is an
 * error: x86 kernels never read /reserved-memory (only DT architectures call
 * early_init_fdt_scan_reserved_mem) and QEMU's q35 boots without a device tree.
 */
export function validateArch(a: { arch?: string; dts?: string; dtb?: string; ssh?: string; boot?: boolean }): Arch | undefined {
  const arch: Arch | undefined = a.arch === undefined ? undefined : a.arch === 'arm64' ? 'arm64' : 'x86';
  if ((a.dts !== undefined || a.dtb !== undefined) && arch === 'x86') {
    throw new ConfigError(
      '--arch',
      `${a.arch ?? ''} with ${a.dts !== undefined ? '--dts' : '--dtb'}: a device tree configures ramoops on arm64 here (x86 kernels never read /reserved-memory, and QEMU's q35 boots without a device tree); drop --arch or give --arch arm64`,
    );
  }
  if (a.boot === true && a.ssh !== undefined) {
    throw new ConfigError(
      '--boot',
      'proves configurations given by flags, --cmdline, --config (x86_64 module parameters, or --arch arm64 as a DT node) or --dts/--dtb (arm64); not --ssh: validate the machine itself without --boot',
    );
  }
  return arch;
}

/** The architecture --boot boots: --arch, else arm64 for a device tree and x86_64 otherwise. */
export function bootArch(a: { arch?: string; dts?: string; dtb?: string }): Arch {
  return validateArch(a) ?? (a.dts !== undefined || a.dtb !== undefined ? 'arm64' : 'x86');
}

/**
 * Why a device-tree node cannot be proved as it is: the proof boots the node's settings as
 * /reserved-memory/ramoops@ADDR with no-map in QEMU's own tree, so a node the kernel parses or
 * reserves differently would prove something else. undefined when it can be booted.
 */
export function dtBootRefusal(dt: DtRamoops): string | undefined {
  if (dt.refusals.length > 0) {
    return `the kernel refuses ${dt.path} while reading it (${dt.refusals.map((r) => r.message).join('; ')}); the proof writes its own node and cannot reproduce that: fix the node (validate without --boot says how)`;
  }
  const differs: string[] = [];
  if (!dt.underReservedMemory) differs.push(`it is ${dt.path}, not a direct child of /reserved-memory`);
  else if (!dt.reservedMemoryAccepted) differs.push('its /reserved-memory is ignored by the kernel (cells or ranges)');
  else if (!dt.regReservable) differs.push("its reg is not in the root's cell counts");
  if (!dt.noMap) differs.push('it has no no-map');
  if (dt.otherNodes.length > 0) differs.push(`other ramoops nodes exist (${dt.otherNodes.join(', ')})`);
  if (differs.length === 0) return undefined;
  return `the proof boots the node as /reserved-memory/ramoops@ADDR with no-map, and ${differs.join('; ')}: the kernel would reserve it differently, so the boot would not prove this tree. Fix what validate warns about first (run it without --boot)`;
}

interface ValidateArgs extends ConfigArgs {
  dts?: string;
  dtb?: string;
  ssh?: string;
  key?: string;
  'host-key'?: string;
  'ram-size'?: string;
  'initrd-size'?: string;
  arch?: string;
  svg?: string;
  json: boolean;
  strict: boolean;
  boot: boolean;
}

/** Everything gathered before validation: settings plus the context the rules use. */
interface Gathered {
  readonly settings: ConfigSettings;
  readonly source: ValidateSource;
  readonly describe: string;
  readonly cmdline: CmdlineFacts | undefined;
  readonly dt: DtRamoops | undefined;
  readonly fromSysfs: boolean;
  readonly notes: readonly string[];
}

const REGION_FLAGS = ['mem-address', 'mem-size', 'record-size', 'console-size', 'ftrace-size', 'pmsg-size', 'ecc', 'config'] as const;

/** The yargs module for `ramoops validate`. */
export const validateCommand: CommandModule<object, ValidateArgs> = {
  command: 'validate',
  describe: 'check a ramoops configuration: the zones the kernel will make, what it refuses, and what quietly goes wrong',
  builder: (y: Argv) =>
    withConfigOptions(y)
      .option('dts', {
        type: 'string',
        group: 'Device tree:',
        describe: 'a device-tree source with a compatible = "ramoops" node (no #include: run cpp first)',
      })
      .option('dtb', { type: 'string', group: 'Device tree:', describe: 'a device-tree blob with a ramoops node' })
      .option('ssh', {
        type: 'string',
        group: 'Running machine:',
        describe: 'USER@HOST[:PORT]: read /sys/module/ramoops/parameters, /proc/cmdline and uname -r over SSH',
      })
      .option('key', { type: 'string', group: 'Running machine:', describe: 'private key file for --ssh' })
      .option('host-key', {
        type: 'string',
        group: 'Running machine:',
        describe: 'expected host key fingerprint (SHA256:..., as ssh-keygen -lf prints it); without it any key is accepted and its fingerprint shown',
      })
      .option('ram-size', {
        type: 'string',
        group: 'Machine:',
        describe: 'guest RAM (e.g. 1G): checks the region lies in RAM and clear of what QEMU loads there',
      })
      .option('initrd-size', { type: 'string', group: 'Machine:', describe: 'size of the initrd QEMU loads (default: assume up to 64 MiB)' })
      .option('arch', {
        type: 'string',
        choices: ARCH_CHOICES,
        group: 'Machine:',
        describe: 'x86_64 (q35, memmap=; `x86` also accepted) or arm64 (virt, device tree); default arm64 for --dts/--dtb (which refuse x86_64), else x86_64',
      })
      .option('svg', { type: 'string', describe: 'write a zone map picture (SVG) with the problems to FILE' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print JSON: zones (kind, index, address, size) and problems (severity, code, message, fix)',
      })
      .option('strict', { type: 'boolean', default: false, describe: 'exit 1 when there are warnings' })
      .option('boot', {
        type: 'boolean',
        default: false,
        describe:
          "prove it: boot a QEMU guest (Debian's stock kernel) with exactly this configuration, crash it once, show what survived, and check the kernel refuses exactly when validate says it will (exit 2 when it does not)",
      })
      .epilog(
        'Exit codes: 0 clean (warnings allowed), 1 warnings with --strict, 2 errors (the kernel refuses or disables ramoops) or bad options.\n' +
          '--arch: x86_64 (default for flags, --cmdline, --config) or arm64; --dts/--dtb imply arm64 and refuse --arch x86_64 (x86 kernels never read /reserved-memory). The QEMU loader rules (initrd, kernel, DTB windows) apply when --arch or --ram-size says the machine is a QEMU guest.\n' +
          "--boot proves it with one verified crash cycle of `ramoops run` on Debian's stock kernel: x86_64 q35 with these module parameters, or arm64 virt with the node's settings (from the options, or the --dts/--dtb node's reg, record/console/ftrace/pmsg sizes, ecc-size (literal), mem-type, max-reason and flags; absent sizes are 0) as /reserved-memory/ramoops@ADDR with no-map in QEMU's own device tree. " +
          "A node that would be reserved differently (not under /reserved-memory, no no-map, several ramoops nodes) or that the kernel cannot parse is refused before booting (exit 2). On arm64 the rules are checked for the guest that boots: its kernel (unless --kernel-version), --ram-size (default 512M, the guest's RAM) and the real initrd size.\n" +
          'Verdicts: proved (the crash survived; exit as without --boot), refused-as-predicted (an error predicted a probe refusal, or on arm64 the boot-image-collision warning predicted "Reserved memory: failed to reserve memory for node", and the kernel logged the quoted message; exit as without --boot: 2 for an error, 0 for the collision warning, 1 with --strict), contradicted or fault (exit 2).',
      )
      .check((a) => {
        if (a.dts && a.dtb) throw new Error('give either --dts or --dtb');
        if ((a.dts || a.dtb) && a.ssh) throw new Error("--ssh reads the machine's own configuration; do not combine it with --dts/--dtb");
        if (a.ssh && !a.key) throw new Error('--ssh needs --key FILE');
        return true;
      }),
  handler: async (a) => {
    const arch = validateArch(a);
    if (!a.boot) {
      const g = await gather(a);
      const result = check(a, g, arch, undefined);
      const code = exitCode(result.problems, a.strict);
      if (a.svg) writeFileSync(a.svg, zoneMapSvg(result.layout, result.problems));
      if (a.json) process.stdout.write(JSON.stringify(toJson(g, result, code), null, 2) + '\n');
      else process.stdout.write(render(g, result, code, a.svg));
      process.exitCode = code;
      return;
    }
    await proveHandler(a, bootArch(a));
  },
};

/** Machine facts for the rules: as given, or (with --boot on arm64) the guest the proof boots. */
interface Machine {
  readonly ramSize: number | undefined;
  readonly initrdSize: number | undefined;
}

function check(a: ValidateArgs, g: Gathered, arch: Arch | undefined, machine: Machine | undefined): ValidateResult {
  return validateSettings({
    settings: g.settings,
    source: g.source,
    cmdline: g.cmdline,
    dt: g.dt,
    ramSize: machine ? machine.ramSize : a['ram-size'] === undefined ? undefined : parseSize('--ram-size', a['ram-size']),
    initrdSize: machine ? machine.initrdSize : a['initrd-size'] === undefined ? undefined : parseSize('--initrd-size', a['initrd-size']),
    arch,
    fromSysfs: g.fromSysfs,
  });
}

/**
 * validate --boot: the checks, then one verified crash cycle in a QEMU guest with exactly the
 * validated settings, judged against the prediction. On arm64 the rules are checked for the
 * guest that boots (Debian's arm64 kernel's release unless --kernel-version, --ram-size or
 * 512M, the harness's real initrd size) and the settings go to `run --arch arm64` as a JSON
 * --config with DT semantics.
 */
async function proveHandler(a: ValidateArgs, arch: Arch): Promise<void> {
  const notes: string[] = [];
  let g = await gather(a);
  if (g.dt !== undefined) {
    const why = dtBootRefusal(g.dt);
    if (why !== undefined) throw new ConfigError('--boot', why);
  }
  let machine: Machine | undefined;
  let guest: Arm64BootGuest | undefined;
  const memory = a['ram-size'] ?? '512M';
  if (arch === 'arm64') {
    guest = await arm64BootGuest((line) => process.stderr.write(`ramoops validate: ${line}\n`));
    if (a['kernel-version'] === undefined) {
      // Re-read with the booted kernel's rules (the DT properties a version reads, zone arithmetic).
      g = await gather({ ...a, 'kernel-version': guest.release });
      notes.push(`checked for the kernel the proof boots: ${guest.release}`);
    } else if (a['kernel-version'] !== guest.release) {
      notes.push(`checked for --kernel-version ${a['kernel-version']}, but the proof boots ${guest.release}`);
    }
    const given = a['initrd-size'] === undefined ? undefined : parseSize('--initrd-size', a['initrd-size']);
    if (given !== undefined && given !== guest.initrdBytes)
      notes.push(`--initrd-size ignored: the proof boots the harness's initrd of ${guest.initrdBytes} bytes`);
    machine = { ramSize: parseSize('--ram-size', memory), initrdSize: guest.initrdBytes };
  }
  const result = check(a, g, arch, machine);
  const code = exitCode(result.problems, a.strict);
  if (a.svg) writeFileSync(a.svg, zoneMapSvg(result.layout, result.problems));
  const gn: Gathered = { ...g, notes: [...g.notes, ...notes] };
  if (!a.json) process.stdout.write(render(gn, result, code, a.svg));

  const predicted: BootPrediction = {
    refusal: result.problems.some((p) => p.severity === 'error'),
    reservationFailure: result.problems.some((p) => p.code === 'boot-image-collision' && p.kernelMessage?.startsWith(RESERVE_FAILED_TEXT) === true),
  };
  if (!a.json) {
    const expect = predicted.refusal
      ? 'the kernel should refuse this configuration'
      : predicted.reservationFailure
        ? 'the kernel should refuse to reserve the node'
        : 'the crash should survive';
    process.stdout.write(`\nproving by boot (one crash cycle, ${arch === 'arm64' ? 'arm64 virt' : 'x86_64 q35'}): ${expect}\n`);
  }
  const proof =
    arch === 'arm64'
      ? await proveByBoot(['--arch', 'arm64', '--memory', memory], predicted, { config: arm64BootConfig(g.settings, g.source === 'dt' ? 'dt' : 'modparams') })
      : await proveByBoot([...x86BootArgs(g.settings), ...(a['ram-size'] === undefined ? [] : ['--memory', a['ram-size']])], predicted);
  const messageSeen = kernelMessageSeen(result.problems, proof);
  const bootCode = proof.verdict === 'contradicted' || proof.verdict === 'fault' || (proof.verdict === 'refused-as-predicted' && !messageSeen) ? 2 : code;
  if (a.json) {
    process.stdout.write(JSON.stringify({ ...(toJson(gn, result, bootCode) as object), boot: { ...proof, kernelMessageSeen: messageSeen } }, null, 2) + '\n');
  } else {
    if (proof.verdict === 'refused-as-predicted') {
      const quoted = quotedFor(result.problems, proof);
      process.stdout.write(
        messageSeen
          ? 'boot: the kernel logged the message validate quoted\n'
          : `boot: the kernel refused, but did not log the quoted message (${quoted.join(' / ')})\n`,
      );
    }
    process.stdout.write(`boot: ${proof.verdict}: ${proof.message}\n`);
    if (proof.kernelLine !== undefined) process.stdout.write(`  the kernel said: ${proof.kernelLine}\n`);
    for (const l of proof.kernelLines.slice(-12)) process.stdout.write(`  kernel: ${l}\n`);
    if (proof.survived.length) process.stdout.write(`  survived: ${proof.survived.join(', ')}\n`);
    process.stdout.write(`  artifacts: ${proof.outDir}\n`);
    process.stdout.write(`exit ${bootCode}\n`);
  }
  process.exitCode = bootCode;
}

/** The kernel messages validate quoted for what the boot showed: the reservation warning's, or the errors'. */
function quotedFor(problems: readonly Problem[], proof: Pick<BootProof, 'observed'>): string[] {
  const relevant =
    proof.observed === 'not-reserved' ? problems.filter((p) => p.code === 'boot-image-collision') : problems.filter((p) => p.severity === 'error');
  return relevant.map((p) => p.kernelMessage).filter((m): m is string => !!m);
}

/**
 * A refusal proved only counts when the kernel logged the message validate quoted. The
 * reservation line names the node, and the proof's node is ramoops@ADDR whatever the user's
 * tree calls it: that one is matched up to the name.
 */
export function kernelMessageSeen(problems: readonly Problem[], proof: Pick<BootProof, 'observed' | 'kernelLines'>): boolean {
  const quoted = quotedFor(problems, proof);
  return quoted.length === 0 || quoted.some((m) => proof.kernelLines.some((l) => l.includes(m.startsWith(RESERVE_FAILED_TEXT) ? RESERVE_FAILED_TEXT : m)));
}

async function gather(a: ValidateArgs): Promise<Gathered> {
  const kernel = a['kernel-version'] ? parseKernelVersion(a['kernel-version']) : undefined;
  const extras: ConfigSettings = { kernelVersion: a['kernel-version'], cpus: a.cpus, compress: a.compress };
  const given = (o: ConfigSettings): ConfigSettings => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  if (a.dts || a.dtb) {
    const clash = REGION_FLAGS.filter((f) => a[f] !== undefined);
    if (clash.length > 0)
      throw new ConfigError(
        `--${clash[0] ?? ''}`,
        'the device tree gives the configuration; drop the region/size flags (use --kernel-version, --cpus, --cmdline for the rest)',
      );
    const file = a.dts ?? a.dtb ?? '';
    const tree: DeviceTree = a.dts ? parseDts(readFileSync(file, 'utf8'), file) : readFdt(new Uint8Array(readFileSync(file)));
    const dt = ramoopsNodeFromDt(tree, kernel);
    return {
      settings: { ...dt.settings, ...given(extras) },
      source: 'dt',
      describe: `device tree ${file}: ${dt.path}`,
      cmdline: a.cmdline === undefined ? undefined : cmdlineFacts(a.cmdline),
      dt,
      fromSysfs: false,
      notes: dt.notes,
    };
  }
  if (a.ssh) {
    const m = /^([^@]+)@([^:]+)(?::(\d+))?$/.exec(a.ssh);
    if (!m || !m[1] || !m[2]) throw new ConfigError('--ssh', `"${a.ssh}" is not USER@HOST[:PORT]`);
    const notes: string[] = [];
    const remote = await readRemoteRamoops({
      username: m[1],
      host: m[2],
      port: m[3] ? Number(m[3]) : 22,
      privateKey: readFileSync(a.key ?? '', 'utf8'),
      hostKey: a['host-key'],
      onHostKey: (fp) => {
        if (!a['host-key']) notes.push(`host key ${fp} accepted without verification (pin it with --host-key)`);
      },
    });
    const cmdline = cmdlineFacts(remote.cmdline);
    const release = a['kernel-version'] ?? remote.release;
    if (remote.fdt) {
      const dt = ramoopsNodeFromDt(readFdt(remote.fdt), release ? parseKernelVersion(release) : undefined);
      return {
        settings: { ...dt.settings, ...given({ ...extras, kernelVersion: release, cpus: a.cpus ?? remote.possibleCpus }) },
        source: 'dt',
        describe: `${a.ssh}: device tree node ${dt.path} (from /sys/firmware/fdt), kernel ${remote.release}`,
        cmdline,
        dt,
        fromSysfs: false,
        notes: [...notes, ...dt.notes],
      };
    }
    if (Object.keys(remote.params).length === 0)
      throw new ConfigError('--ssh', `${a.ssh} has no /sys/module/ramoops/parameters: ramoops is not loaded (or not built)`);
    if (remote.dtNodes.length > 0)
      notes.push(
        `ramoops comes from the device tree (${remote.dtNodes.join(', ')}) but /sys/firmware/fdt was not readable (needs root): ECC and flags are not visible in sysfs`,
      );
    return {
      settings: { ...settingsFromParams(remote), ...given(extras), ...(release ? { kernelVersion: release } : {}) },
      source: 'modparams',
      describe: `${a.ssh}: /sys/module/ramoops/parameters, kernel ${remote.release}`,
      cmdline,
      dt: undefined,
      fromSysfs: true,
      notes,
    };
  }
  const { settings, warnings } = resolveSettings(a);
  const source: ValidateSource = a.cmdline !== undefined ? 'cmdline' : a.config !== undefined && a['mem-size'] === undefined ? 'json' : 'modparams';
  return {
    settings,
    source,
    describe: source === 'cmdline' ? 'kernel command line' : source === 'json' ? `JSON ${a.config ?? ''}` : 'module parameters (flags)',
    cmdline: a.cmdline === undefined ? undefined : cmdlineFacts(a.cmdline),
    dt: undefined,
    fromSysfs: false,
    notes: warnings.map((w) => w.message),
  };
}

function toJson(g: Gathered, r: ValidateResult, code: number): unknown {
  return {
    source: g.source,
    from: g.describe,
    kernel: g.settings.kernelVersion ?? null,
    layout: r.layout
      ? {
          zones: r.layout.zones.map((z) => ({
            kind: z.kind,
            index: z.index,
            address: '0x' + z.address.toString(16),
            size: z.geometry.size,
            payload: z.geometry.capacity,
            ecc: z.geometry.size - 12 - z.geometry.capacity,
          })),
          unused: r.layout.unused,
        }
      : null,
    // A fixed key order, so the JSON reads the same for every problem.
    problems: r.problems.map((p) => ({
      severity: p.severity,
      code: p.code,
      message: p.message,
      fix: p.fix,
      ...(p.zone ? { zone: p.zone } : {}),
      ...(p.kernelMessage ? { kernelMessage: p.kernelMessage } : {}),
    })),
    notes: g.notes,
    exitCode: code,
  };
}

function render(g: Gathered, r: ValidateResult, code: number, svg: string | undefined): string {
  const out: string[] = [`validating ${g.describe}${g.settings.kernelVersion ? ` (kernel ${g.settings.kernelVersion})` : ''}`, ''];
  if (r.layout) out.push(zoneMapText(r.layout), '');
  else out.push('no layout: the kernel refuses this configuration', '');
  for (const n of g.notes) out.push(`note: ${n}`);
  if (g.notes.length) out.push('');
  for (const p of r.problems) out.push(problemText(p), '');
  const count = (s: Problem['severity']): number => r.problems.filter((p) => p.severity === s).length;
  out.push(`${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} note(s); exit ${code}${svg ? `; picture in ${svg}` : ''}`);
  return out.join('\n') + '\n';
}

function problemText(p: Problem): string {
  const head = `${p.severity.padEnd(7)} ${p.code}${p.zone ? ` [${p.zone.kind} ${p.zone.index}]` : ''}: ${p.message}`;
  const kernel = p.kernelMessage ? `\n        kernel: "${p.kernelMessage}"` : '';
  return `${head}${kernel}\n        fix: ${p.fix}`;
}
