// What the integration suites share: whether a tool is installed, why a suite cannot run on
// this machine, and serial tests that are declared skipped (with the reason) when it cannot.
// Synchronous: ava wants tests declared up front.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function onPath(cmd: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((d) => d !== '' && existsSync(join(d, cmd)));
}

/**
 * Why x86 guests cannot boot here, or undefined when they can: QEMU, and the busybox and
 * dropbear the guest image is made of; `debianKernel` also needs apt to fetch Debian's kernel.
 */
export function x86SkipReason(opts: { readonly debianKernel?: boolean } = {}): string | undefined {
  if (process.env['RAMOOPS_SKIP_INTEGRATION'] === '1') return 'RAMOOPS_SKIP_INTEGRATION=1';
  if (!onPath('qemu-system-x86_64')) return 'qemu-system-x86_64 is not installed (make setup installs it)';
  if (opts.debianKernel === true && (!onPath('apt-get') || !onPath('dpkg-deb'))) return "apt-get/dpkg-deb missing: Debian's kernel cannot be fetched";
  if (!existsSync('/bin/busybox') || !existsSync('/usr/sbin/dropbear')) return 'busybox-static or dropbear-bin missing (make setup installs them)';
  return undefined;
}

/** Why arm64 guests cannot boot here, or undefined when they can. */
export function arm64SkipReason(): string | undefined {
  if (process.env['RAMOOPS_SKIP_INTEGRATION'] === '1') return 'RAMOOPS_SKIP_INTEGRATION=1';
  if (!onPath('qemu-system-aarch64')) return 'qemu-system-aarch64 is not installed (make setup installs qemu-system-arm)';
  if (!onPath('apt-get') || !onPath('dpkg-deb')) return "apt-get/dpkg-deb missing: Debian's arm64 packages cannot be fetched";
  return undefined;
}

/** test.serial, or test.serial.skip naming `reason` when there is one. */
export function serialUnless(reason: string | undefined): (title: string, fn: (t: ExecutionContext) => Promise<void>) => void {
  return (title, fn) => {
    if (reason === undefined) test.serial(title, fn);
    else test.serial.skip(`${title} (skipped: ${reason})`, fn);
  };
}
