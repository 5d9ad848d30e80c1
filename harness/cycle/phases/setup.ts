// setup: the kernel and guest image (both cached), the run's SSH keys (ours and the guest's host key), the ramoops configuration
// the host will parse with and the guest command line (x86: module parameters; arm64: a DTB).

import path from 'node:path';
import { configFromCmdline, settingsFromCmdline, type RamoopsConfig } from '../../../src/index.js';
import { HarnessError } from '../../errors.js';
import { buildGuestImage } from '../../guest/image.js';
import { prepareOutDir, writeConfined } from '../../io/artifacts.js';
import type { KernelArtifacts } from '../../kernel/artifacts.js';
import { obtainArm64Kernel } from '../../kernel/arm64.js';
import { chooseBootPath, type BootPath } from '../../kernel/boot-path.js';
import { obtainKernel } from '../../kernel/obtain.js';
import { physToFileOffset } from '../../qemu/machines.js';
import { arm64GuestCmdline, dumpVirtDtb, nodeProperties, ramoopsDtb, VIRT_CPU } from '../../qemu/virt-arm64.js';
import { generateGuestHostKey, generateRunKeys, type RunKeys } from '../../ssh/keys.js';
import { HostKeyPin } from '../../ssh/session.js';
import { KERNEL_CMDLINE_FILE, saveCommandLine } from '../command-lines.js';
import type { RunContext } from '../context.js';
import { guestCmdline } from '../guest-cmdline.js';
import { KselftestRun, selftestSourceTree } from '../selftests.js';

/** What booting needs, made once per run. */
export interface Prepared {
  readonly kernel: KernelArtifacts;
  /** The file QEMU boots (the vmlinux on the PVH path) and its firmware. */
  readonly bootPath: BootPath;
  readonly image: string;
  /** The configuration the host parses every capture with. */
  readonly config: RamoopsConfig;
  /** The guest kernel's command line. */
  readonly append: string;
  /** arm64: the DTB the guest boots with. */
  readonly dtb: string | undefined;
  readonly keys: RunKeys;
  /** Pinned before boot to the host key the command line hands the guest (rh.hostkey=). */
  readonly pin: HostKeyPin;
  /** The guest was handed its host key: READY does not wait for it on the serial console. */
  readonly hostKeyGiven: boolean;
  readonly shareDir: string | undefined;
}

export async function setup(ctx: RunContext): Promise<{ readonly value: Prepared; readonly detail: string }> {
  const { plan, life, state } = ctx;
  const o = plan.options;
  const kernelOpts = { modulesDir: o.modulesDir, signal: life.signal, log: o.log, cacheDir: o.cacheDir };
  const kernel = plan.arch === 'arm64' ? await obtainArm64Kernel(plan.kernelSpec, kernelOpts) : await obtainKernel(plan.kernelSpec, kernelOpts);
  state.kernel = kernel;
  const bootPath = await chooseBootPath(kernel.kernelPath, plan.arch, { mode: o.bootPath, cacheDir: o.cacheDir, signal: life.signal, log: o.log });
  state.bootPath = bootPath;
  const image = await buildGuestImage(kernel, { log: o.log, cacheDir: o.cacheDir, arch: plan.arch, signal: life.signal });
  const shareDir = plan.share === undefined ? undefined : prepareOutDir(plan.share);
  if (plan.scenario.kselftest !== undefined && shareDir !== undefined) {
    // The booted kernel's own selftest scripts, run from the share (their state outlives the reboot).
    const tree = await selftestSourceTree(plan.kernelSpec, kernel.release, { cacheDir: o.cacheDir, signal: life.signal, log: o.log });
    state.kselftests = await KselftestRun.prepare(plan.scenario.kselftest, tree, shareDir);
  }
  const keys = generateRunKeys();
  const hostKey = generateGuestHostKey();
  const configured =
    plan.node === undefined ? moduleParamConfig(ctx, kernel, keys, hostKey.cmdlineWord) : await deviceTreeConfig(ctx, kernel, keys, hostKey.cmdlineWord);
  // Per-CPU ftrace zones follow the writing kernel's possible CPUs: the guest's -smp.
  const config = plan.cpus > 1 ? { ...configured.config, cpus: plan.cpus } : configured.config;
  // Fail before booting when the region is not plain RAM of this guest.
  physToFileOffset(plan.machine, plan.memoryBytes, config.memAddress, config.memSize);
  state.cmdline = configured.append;
  // Saved whether or not anyone listens (`a?.(b())` would skip b when a is absent).
  const kernelLine = saveCommandLine(plan.out, KERNEL_CMDLINE_FILE, configured.append);
  o.onCommandLine?.('kernel', kernelLine);
  const value: Prepared = {
    kernel,
    bootPath,
    image,
    config,
    append: configured.append,
    dtb: configured.dtb,
    keys,
    pin: new HostKeyPin(hostKey.publicBlob.toString('base64')),
    hostKeyGiven: true,
    shareDir,
  };
  return { value, detail: `kernel ${kernel.release}, boot ${bootPath.path}` };
}

interface Configured {
  readonly config: RamoopsConfig;
  readonly append: string;
  readonly dtb: string | undefined;
}

/** x86: the host parses with exactly the words the guest gets, for the kernel that runs. */
function moduleParamConfig(ctx: RunContext, kernel: KernelArtifacts, keys: RunKeys, hostKeyWord: string): Configured {
  const { ramoopsCmdline, extraCmdline } = ctx.plan;
  const config = configFromCmdline(ramoopsCmdline, kernel.release);
  return { config, append: guestCmdline(config, ramoopsCmdline, extraCmdline, keys.cmdlineWord, hostKeyWord), dtb: undefined };
}

/** arm64: the host parses with what the kernel will read from the DTB it boots with. */
async function deviceTreeConfig(ctx: RunContext, kernel: KernelArtifacts, keys: RunKeys, hostKeyWord: string): Promise<Configured> {
  const { plan, life, state } = ctx;
  const node = plan.node;
  if (node === undefined) throw new HarnessError('boot', 'no ramoops node for a device tree run');
  if (/(^|\s)ramoops\./.test(plan.ramoopsCmdline)) {
    // With mem_size set the module would register a second, parameter-made device.
    throw new HarnessError('boot', 'arm64 runs configure ramoops by the device tree: give the node, not ramoops.* words');
  }
  // The dumped tree must have the guest's CPU nodes: -dtb replaces what QEMU would generate for -smp.
  const base = await dumpVirtDtb({
    memoryBytes: plan.memoryBytes,
    accel: plan.accel,
    cpu: VIRT_CPU,
    ...(plan.cpus > 1 ? { cpus: plan.cpus } : {}),
    signal: life.signal,
    tempParent: plan.options.tempParent,
  });
  const dt = ramoopsDtb(base, node, kernel.release);
  const compress = settingsFromCmdline(plan.ramoopsCmdline).settings.compress;
  state.nodeProps = nodeProperties(dt.node, node);
  writeConfined(plan.out, 'guest.dtb', dt.dtb);
  return {
    config: compress === undefined ? dt.config : { ...dt.config, compress },
    append: arm64GuestCmdline(plan.ramoopsCmdline, plan.extraCmdline, keys.cmdlineWord, hostKeyWord),
    dtb: path.join(plan.out, 'guest.dtb'),
  };
}
