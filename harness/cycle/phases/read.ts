// read (the "ssh" phase of the timings): log in to the rebooted guest and read its
// /sys/fs/pstore with stat size and mtime, through the same code as `ramoops harvest`; then the
// scenario's after commands, which may change pstore.

import path from 'node:path';
import { extractRegion, type Extraction } from '../../../src/index.js';
import { harvestSession } from '../../harvest/harvest.js';
import type { PstoreFile as GuestFile } from '../../ssh/session.js';
import type { RunContext } from '../context.js';
import { writeGuestFiles, writeHostFiles } from '../files.js';
import { guestCommandCheck } from '../guest-commands.js';
import { readingKernelOffset } from '../kaslr.js';
import type { Check } from '../scenario.js';
import type { Guest } from './boot.js';
import type { Captured } from './capture.js';
import type { Prepared } from './setup.js';

/** The guest's side, and the host's reading named the way the guest names it. */
export interface Read {
  readonly guestFiles: readonly GuestFile[];
  readonly extraction: Extraction;
  /** The scenario's after commands and the selftests' verdicts for this cycle. */
  readonly checks: readonly Check[];
}

export async function read(
  ctx: RunContext,
  guest: Guest,
  prepared: Prepared,
  captured: Captured,
  n: number,
): Promise<{ readonly value: Read; readonly detail: string }> {
  const { out, timeouts, scenario } = ctx.plan;
  const signal = ctx.life.signal;
  const ssh = await guest.login();
  let extraction = captured.extraction;
  if (captured.symbols !== undefined) {
    // The guest's ftrace file is named by the kernel reading it (this boot), with this
    // boot's KASLR offset: name the host's records the same way to compare them.
    const reading = await readingKernelOffset(ssh, captured.symbols, { signal, timeout: timeouts.ssh });
    extraction = extractRegion(captured.region, prepared.config, { symbols: captured.symbols, kaslrOffset: reading });
    writeHostFiles(path.join(out, `cycle${n}-host`), extraction.files);
  }
  const harvest = await harvestSession(ssh, { outDir: path.join(out, `cycle${n}-harvest`), host: 'guest', commandTimeoutMs: timeouts.ssh, signal });
  const checks: Check[] = [];
  // After the guest side is read: these may change /sys/fs/pstore (the selftests remove it).
  for (const [i, cmd] of scenario.after.entries()) {
    checks.push(await guestCommandCheck(ssh, `after[${i}]`, cmd, out, `cycle${n}-after-${i}.log`, timeouts.ssh, signal));
  }
  checks.push(...(ctx.state.kselftests?.cycleDone(n) ?? []));
  writeGuestFiles(path.join(out, `cycle${n}-guest`), harvest.files);
  return { value: { guestFiles: harvest.files, extraction, checks }, detail: `${harvest.files.length} file(s) read` };
}
