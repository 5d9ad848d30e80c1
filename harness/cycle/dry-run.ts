// `ramoops run --dry-run`: the run's plan and the command lines it would boot with, from the
// checks and preparations that take no time (LAVA's describe()). Nothing is started, fetched,
// built or written: a kernel that is not on disk yet, the guest image, QEMU's temp folder and
// (arm64) the DTB made from QEMU's own are named in angle brackets, and a note says so.

import path from 'node:path';
import { configFromCmdline } from '../../src/index.js';
import { HarnessError } from '../errors.js';
import { cacheDir as defaultCacheDir } from '../io/cache-dir.js';
import { chooseBootPath, type BootPath } from '../kernel/boot-path.js';
import { parseBuildSpec } from '../kernel/build.js';
import { DEBIAN_SPECS, newestCached, type DebianSpec } from '../kernel/obtain.js';
import { chooseAccel, realProbes, type AccelDecision } from '../qemu/accel.js';
import { machineFor } from '../qemu/args.js';
import { physToFileOffset } from '../qemu/machines.js';
import { defaultTempParent, qemuInvocation } from '../qemu/process.js';
import { arm64GuestCmdline } from '../qemu/virt-arm64.js';
import { shellLine } from './command-lines.js';
import { guestCmdline } from './guest-cmdline.js';
import type { RunOptions } from './options.js';
import { qemuStartOptions } from './phases/boot.js';
import { planRun, type RunPlan } from './plan.js';

/** What a run would do. */
export interface RunDescription {
  /** The guest kernel's command line, key words masked. */
  readonly kernelCmdline: string;
  /** QEMU's argv, binary first, key words masked. */
  readonly qemuArgv: readonly string[];
  /** The same as one shell line. */
  readonly qemuCmdline: string;
  readonly accel: AccelDecision;
  readonly kernel: string;
  readonly bootPath: { readonly path: string; readonly reason: string };
  readonly outDir: string;
  /** What is only known once the run has started. */
  readonly notes: readonly string[];
}

const KEY_WORDS = ['rh.key=<run key>', 'rh.hostkey=<run host key>'] as const;

/** The plan, the kernel as far as it is on disk, and the command lines; throws what the run would throw before booting. */
export async function describeRun(options: RunOptions): Promise<RunDescription> {
  const notes: string[] = [];
  const accel = await dryAccel(options);
  if (accel.chosen === 'kvm' && options.accel !== 'kvm') notes.push('KVM: /dev/kvm opens; the run confirms it with a probe QEMU first');
  const plan = planRun(options, accel, (dir) => path.resolve(dir));
  const kernel = await kernelOnDisk(plan, options.cacheDir, notes);
  const bootPath = await dryBootPath(plan, kernel, options, notes);
  const append = kernelCmdline(plan);
  notes.push('<guest image>: the initramfs, built (or taken from the cache) at run time');
  if (plan.arch === 'arm64') notes.push(`${path.join(plan.out, 'guest.dtb')}: made at run time from the DTB QEMU generates, with the ramoops node added`);
  const temp = path.join(options.tempParent ?? defaultTempParent() ?? '/tmp', 'ramoops-qemu-<random>');
  const qemu = qemuStartOptions(plan, {
    bootPath,
    image: '<guest image>',
    append,
    dtb: plan.arch === 'arm64' ? path.join(plan.out, 'guest.dtb') : undefined,
    shareDir: plan.share,
  });
  const { binary, args } = qemuInvocation(
    qemu,
    { ramFile: path.join(temp, 'ram'), qmpSocket: path.join(temp, 'qmp.sock'), serial: path.join(temp, 'serial.log') },
    0,
  );
  const qemuArgv = [binary, ...args];
  return {
    kernelCmdline: append,
    qemuArgv,
    qemuCmdline: shellLine(qemuArgv),
    accel,
    kernel: kernel ?? `<${plan.kernelSpec}>`,
    bootPath: { path: bootPath.path, reason: bootPath.reason },
    outDir: plan.out,
    notes,
  };
}

/** auto without the probe QEMU: /dev/kvm alone decides here. */
function dryAccel(options: RunOptions): Promise<AccelDecision> {
  const probes = { openKvm: () => realProbes.openKvm(), qemuWithKvm: () => Promise.resolve(undefined) };
  return chooseAccel(options.accel ?? 'auto', machineFor(options.arch ?? 'x86_64'), probes);
}

/** The kernel file when it is on disk already (a path, or a cached Debian kernel); else undefined, with a note. */
async function kernelOnDisk(plan: RunPlan, cacheDir: string | undefined, notes: string[]): Promise<string | undefined> {
  const spec = plan.kernelSpec;
  if (parseBuildSpec(spec) !== undefined) {
    notes.push(`<${spec}>: the kernel is built (or taken from the build cache) at run time`);
    return undefined;
  }
  if ((DEBIAN_SPECS as readonly string[]).includes(spec)) {
    if (plan.arch === 'x86_64') {
      const cached = await newestCached(path.join(cacheDir ?? defaultCacheDir(), 'kernels'), spec as DebianSpec);
      if (cached !== undefined) {
        notes.push(`kernel: the newest cached ${spec} kernel (${cached.meta.release}); the run asks apt for a newer one first`);
        return path.join(cached.dir, cached.meta.kernel);
      }
    }
    notes.push(`<${spec}>: Debian's kernel package, fetched (or taken from the cache) at run time`);
    return undefined;
  }
  return path.resolve(spec);
}

/** The boot path as the run would choose it; without the kernel on disk, what `auto` depends on. */
async function dryBootPath(plan: RunPlan, kernel: string | undefined, options: RunOptions, notes: string[]): Promise<BootPath> {
  if (kernel !== undefined) return chooseBootPath(kernel, plan.arch, { mode: options.bootPath, cacheDir: options.cacheDir });
  const placeholder = `<${plan.kernelSpec}>`;
  if (plan.arch === 'arm64') return { path: 'as-given', kernel: placeholder, reason: 'arm64 boots its Image directly' };
  if (options.bootPath === 'bzimage') return { path: 'bzimage', kernel: placeholder, reason: '--boot-path bzimage' };
  notes.push("boot path: shown as bzImage; the run boots the kernel's vmlinux by its PVH entry with qboot (-bios) when it has one");
  return { path: 'bzimage', kernel: placeholder, reason: 'decided at run time (PVH when the kernel has the entry)' };
}

/** The guest command line the run's setup phase makes, with the key words masked; the region checked against the guest's RAM. */
function kernelCmdline(plan: RunPlan): string {
  if (plan.node !== undefined) {
    if (/(^|\s)ramoops\./.test(plan.ramoopsCmdline)) {
      throw new HarnessError('boot', 'arm64 runs configure ramoops by the device tree: give the node, not ramoops.* words');
    }
    physToFileOffset(plan.machine, plan.memoryBytes, plan.node.address, plan.node.size);
    return arm64GuestCmdline(plan.ramoopsCmdline, plan.extraCmdline, ...KEY_WORDS);
  }
  const config = configFromCmdline(plan.ramoopsCmdline);
  physToFileOffset(plan.machine, plan.memoryBytes, config.memAddress, config.memSize);
  return guestCmdline(config, plan.ramoopsCmdline, plan.extraCmdline, ...KEY_WORDS);
}
