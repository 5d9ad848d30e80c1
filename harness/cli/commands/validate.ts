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
import { proveByBoot } from '../../validate-boot.js';

/** `ramoops run` flags for exactly the validated settings (kernel defaults filled in, so run's own defaults never apply). */
function bootArgs(s: ConfigSettings, arch: Arch | undefined): string[] {
  const hx = (n: number): string => `0x${n.toString(16)}`;
  const dflt = arch === 'arm64' ? 0 : 4096;
  const out = ['--mem-address', hx(s.memAddress ?? 0), '--mem-size', hx(s.memSize ?? 0)];
  out.push('--record-size', hx(s.recordSize ?? dflt), '--console-size', hx(s.consoleSize ?? dflt), '--ftrace-size', hx(s.ftraceSize ?? dflt), '--pmsg-size', hx(s.pmsgSize ?? dflt));
  if (s.ecc !== undefined) out.push('--ecc', String(s.ecc));
  if (s.compress !== undefined) out.push('--compress', s.compress);
  if (arch === 'arm64') out.push('--arch', 'arm64');
  return out;
}

interface ValidateArgs extends ConfigArgs {
  dts?: string;
  dtb?: string;
  ssh?: string;
  key?: string;
  'host-key'?: string;
  'ram-size'?: string;
  'initrd-size'?: string;
  arch?: Arch;
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
      .option('dts', { type: 'string', group: 'Device tree:', describe: 'a device-tree source with a compatible = "ramoops" node (no #include: run cpp first)' })
      .option('dtb', { type: 'string', group: 'Device tree:', describe: 'a device-tree blob with a ramoops node' })
      .option('ssh', { type: 'string', group: 'Running machine:', describe: 'USER@HOST[:PORT]: read /sys/module/ramoops/parameters, /proc/cmdline and uname -r over SSH' })
      .option('key', { type: 'string', group: 'Running machine:', describe: 'private key file for --ssh' })
      .option('host-key', { type: 'string', group: 'Running machine:', describe: 'expected host key fingerprint (SHA256:..., as ssh-keygen -lf prints it); without it any key is accepted and its fingerprint shown' })
      .option('ram-size', { type: 'string', group: 'Machine:', describe: 'guest RAM (e.g. 1G): checks the region lies in RAM and clear of what QEMU loads there' })
      .option('initrd-size', { type: 'string', group: 'Machine:', describe: 'size of the initrd QEMU loads (default: assume up to 64 MiB)' })
      .option('arch', { choices: ['x86', 'arm64'] as const, group: 'Machine:', describe: 'x86 (q35, memmap=) or arm64 (virt, device tree); default arm64 for --dts/--dtb, else x86' })
      .option('svg', { type: 'string', describe: 'write a zone map picture (SVG) with the problems to FILE' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON: zones (kind, index, address, size) and problems (severity, code, message, fix)' })
      .option('strict', { type: 'boolean', default: false, describe: 'exit 1 when there are warnings' })
      .option('boot', { type: 'boolean', default: false, describe: 'prove it: boot a QEMU guest (Debian\'s stock kernel) with exactly this configuration, crash it once, show what survived, and check the kernel refuses exactly when validate says it will (exit 2 when it does not)' })
      .check((a) => {
        if (a.dts && a.dtb) throw new Error('give either --dts or --dtb');
        if ((a.dts || a.dtb) && a.ssh) throw new Error('--ssh reads the machine\'s own configuration; do not combine it with --dts/--dtb');
        if (a.ssh && !a.key) throw new Error('--ssh needs --key FILE');
        return true;
      }) as unknown as Argv<ValidateArgs>,
  handler: async (a) => {
    if (a.boot && (a.dts || a.dtb || a.ssh)) {
      throw new ConfigError('--boot', 'proves configurations given by flags, --cmdline or --config (x86 module parameters, or --arch arm64 as a DT node); not --dts/--dtb/--ssh');
    }
    const g = await gather(a);
    const ramSize = a['ram-size'] === undefined ? undefined : parseSize('--ram-size', a['ram-size']);
    const initrdSize = a['initrd-size'] === undefined ? undefined : parseSize('--initrd-size', a['initrd-size']);
    const result = validateSettings({
      settings: g.settings,
      source: g.source,
      cmdline: g.cmdline,
      dt: g.dt,
      ramSize,
      initrdSize,
      arch: a.arch,
      fromSysfs: g.fromSysfs,
    });
    const code = exitCode(result.problems, a.strict);
    if (a.svg) writeFileSync(a.svg, zoneMapSvg(result.layout, result.problems));
    if (!a.boot) {
      if (a.json) process.stdout.write(JSON.stringify(toJson(g, result, code), null, 2) + '\n');
      else process.stdout.write(render(g, result, code, a.svg));
      process.exitCode = code;
      return;
    }
    if (!a.json) process.stdout.write(render(g, result, code, a.svg));
    const predictedRefusal = result.problems.some((p) => p.severity === 'error');
    if (!a.json) process.stdout.write(`\nproving by boot (one crash cycle, ${a.arch === 'arm64' ? 'arm64 virt' : 'x86_64 q35'}): ${predictedRefusal ? 'the kernel should refuse this configuration' : 'the crash should survive'}\n`);
    const proof = await proveByBoot(bootArgs(g.settings, a.arch), predictedRefusal);
    // A refusal proved only counts when the kernel logged the message validate quoted.
    const quoted = result.problems.map((p) => p.kernelMessage).filter((m): m is string => !!m);
    const messageSeen = quoted.length === 0 || quoted.some((m) => proof.kernelLines.some((l) => l.includes(m)));
    const bootCode = proof.verdict === 'contradicted' || proof.verdict === 'fault' || (proof.verdict === 'refused-as-predicted' && !messageSeen) ? 2 : code;
    if (!a.json && proof.verdict === 'refused-as-predicted') {
      process.stdout.write(messageSeen ? 'boot: the kernel logged the message validate quoted\n' : `boot: the kernel refused, but did not log the quoted message (${quoted.join(' / ')})\n`);
    }
    if (a.json) {
      process.stdout.write(JSON.stringify({ ...(toJson(g, result, bootCode) as object), boot: { ...proof, kernelMessageSeen: messageSeen } }, null, 2) + '\n');
    } else {
      process.stdout.write(`boot: ${proof.verdict}: ${proof.message}\n`);
      for (const l of proof.kernelLines.slice(-12)) process.stdout.write(`  kernel: ${l}\n`);
      if (proof.survived.length) process.stdout.write(`  survived: ${proof.survived.join(', ')}\n`);
      process.stdout.write(`  artifacts: ${proof.outDir}\n`);
    }
    process.exitCode = bootCode;
  },
};

async function gather(a: ValidateArgs): Promise<Gathered> {
  const kernel = a['kernel-version'] ? parseKernelVersion(a['kernel-version']) : undefined;
  const extras: ConfigSettings = { kernelVersion: a['kernel-version'], cpus: a.cpus, compress: a.compress };
  const given = (o: ConfigSettings): ConfigSettings => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as ConfigSettings;
  if (a.dts || a.dtb) {
    const clash = REGION_FLAGS.filter((f) => a[f] !== undefined);
    if (clash.length > 0) throw new ConfigError(`--${clash[0] ?? ''}`, 'the device tree gives the configuration; drop the region/size flags (use --kernel-version, --cpus, --cmdline for the rest)');
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
    if (Object.keys(remote.params).length === 0) throw new ConfigError('--ssh', `${a.ssh} has no /sys/module/ramoops/parameters: ramoops is not loaded (or not built)`);
    if (remote.dtNodes.length > 0) notes.push(`ramoops comes from the device tree (${remote.dtNodes.join(', ')}) but /sys/firmware/fdt was not readable (needs root): ECC and flags are not visible in sysfs`);
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
