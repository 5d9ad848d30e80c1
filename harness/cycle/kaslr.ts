// The KASLR offset of the kernel that READS the ramoops region. The guest's own
// /sys/fs/pstore/ftrace-ramoops-0 is text made at read time by that kernel
// (fs/pstore/inode.c pstore_ftrace_seq_show: "%ps <- %pS" of the raw ips), so it names the
// crashed boot's addresses with the reading boot's symbols. To compare the host's parse with
// it byte for byte the host must name them the same way: System.map shifted by the reading
// boot's offset, which is its /proc/kallsyms `_stext` minus System.map's `_stext`. `_stext`,
// not `_text`: kallsyms keeps only symbols in [_stext, _etext] (and init text) without
// KALLSYMS_ALL, and on arm64 `_text` lies below `_stext` (the image header), so it is not
// listed; on x86 the two are the same address.
import { symbolAddress, type KaslrOffset, type SymbolTable } from '../../src/index.js';
import { HarnessError } from '../errors.js';
import type { ExecOptions, ExecResult } from '../ssh/session.js';

/** What readingKernelOffset needs of an SSH session (an SshSession, or a fake in tests). */
export interface ExecSession {
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
}

/** The symbol whose running address gives the offset (see above). */
export const ANCHOR = '_stext';

// Prints the `_stext` line of /proc/kallsyms. Root sees real addresses unless kptr_restrict is
// 2; then it is set to 0 for the one read and put back.
const READ_ANCHOR = [
  'k=/proc/sys/kernel/kptr_restrict',
  `t=$(grep ' ${ANCHOR}$' /proc/kallsyms)`,
  `case "$t" in 0000000000000000*|"00000000 "*) old=$(cat $k) && echo 0 > $k && t=$(grep ' ${ANCHOR}$' /proc/kallsyms); echo "$old" > $k ;; esac`,
  'echo "$t"',
].join('; ');

/** The address of `name` (default `_stext`) on a kallsyms line; undefined when there is none or it is hidden (0). */
export function kallsymsAddress(output: string, name = ANCHOR): bigint | undefined {
  for (const line of output.split('\n')) {
    const m = /^([0-9a-fA-F]+)\s+[tT]\s+(\S+)\s*$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] === name) {
      const a = BigInt('0x' + m[1]);
      return a === 0n ? undefined : a;
    }
  }
  return undefined;
}

/** The reading boot's offset from a symbol's running address and its System.map address. */
export function offsetFromRunning(running: bigint, systemMap: SymbolTable, name = ANCHOR): KaslrOffset {
  const linked = symbolAddress(systemMap, name);
  if (linked === undefined) throw new HarnessError('guest', `System.map has no ${name} symbol: cannot compute the running kernel's KASLR offset`);
  const value = running - linked;
  if (value < 0n)
    throw new HarnessError(
      'guest',
      `running ${name} 0x${running.toString(16)} is below System.map's 0x${linked.toString(16)}: this System.map is not the running kernel's`,
    );
  return { value, source: `the reading boot's /proc/kallsyms ${name} 0x${running.toString(16)} - System.map ${name} 0x${linked.toString(16)}` };
}

/** The running kernel's `_stext` address from its /proc/kallsyms, over SSH as root. */
export async function runningAnchor(ssh: ExecSession, options: ExecOptions = {}): Promise<bigint> {
  const r = await ssh.exec(READ_ANCHOR, { timeout: 30_000, ...options });
  const out = r.stdout.toString('utf8');
  const addr = kallsymsAddress(out);
  if (addr === undefined) {
    const why =
      out.trim() === ''
        ? `no ${ANCHOR} line in /proc/kallsyms (exit ${r.code ?? r.signal ?? '?'}: ${r.stderr.toString('utf8').trim() || 'no output'}; is CONFIG_KALLSYMS set?)`
        : `the ${ANCHOR} address is hidden: ${JSON.stringify(out.trim())} (kptr_restrict could not be lowered)`;
    throw new HarnessError('guest', `cannot read the running kernel's KASLR offset: ${why}`);
  }
  return addr;
}

/**
 * The KASLR offset of the kernel running behind `ssh` (root), for extractRegion's
 * `kaslrOffset`: its /proc/kallsyms `_stext` minus `systemMap`'s (the parsed System.map of the
 * same kernel image). 0 when the kernel is not randomized.
 */
export async function readingKernelOffset(ssh: ExecSession, systemMap: SymbolTable, options: ExecOptions = {}): Promise<KaslrOffset> {
  return offsetFromRunning(await runningAnchor(ssh, options), systemMap);
}
