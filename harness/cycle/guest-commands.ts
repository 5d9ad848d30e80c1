// Commands a scenario runs in the guest over SSH, judged as checks: requirements, before/after
// commands that must exit 0, and crash steps the kernel survives (an oops, a WARN).

import { performance } from 'node:perf_hooks';
import { writeConfined } from '../io/artifacts.js';
import type { SshSession } from '../ssh/session.js';
import { sleep } from './clock.js';
import type { PhaseTimeouts } from './options.js';
import type { Check, CrashStep, Scenario } from './scenario.js';

/** A command without side effects (SshSession.execRepeatable), with the cycle's timeout and signal. */
function probe(ssh: SshSession, command: string, timeoutMs: number, signal: AbortSignal): Promise<Awaited<ReturnType<SshSession['exec']>>> {
  return ssh.execRepeatable(command, { timeout: timeoutMs, signal });
}

/** Requirements of the scenario the guest does not meet (their `what`). */
export async function missingRequirements(ssh: SshSession, scenario: Scenario, timeoutMs: number, signal: AbortSignal): Promise<string[]> {
  const missing: string[] = [];
  for (const r of scenario.requires) {
    const res = await probe(ssh, r.test, timeoutMs, signal);
    if (res.code !== 0) missing.push(`${r.what} (\`${r.test}\` failed)`);
  }
  return missing;
}

/** Runs a command that must exit 0; its output goes to the artifacts. */
export async function guestCommandCheck(
  ssh: SshSession,
  label: string,
  command: string,
  out: string,
  log: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Check> {
  const t = performance.now();
  const res = await ssh.exec(command, { timeout: timeoutMs, signal, maxBytes: 16 << 20 });
  writeConfined(out, log, Buffer.concat([res.stdout, res.stderr]));
  const s = ((performance.now() - t) / 1000).toFixed(2);
  const status = res.code === null ? `killed by ${res.signal ?? 'a signal'}` : `exit ${res.code}`;
  const tail = res.stderr.toString('utf8').trim().split('\n').slice(-3).join(' | ');
  return { name: `${label} \`${command}\``, ok: res.code === 0, detail: `${status} in ${s} s (${log})${res.code === 0 || tail === '' ? '' : `: ${tail}`}` };
}

/** Lines that end an oops or a WARN report in the kernel log. */
const END_TRACE = '---\\[ end trace';

/**
 * A crash step the guest survives: an oops (panic_on_oops=0) or a WARN kills or not the
 * command's shell, and the kernel log gains one more "---[ end trace" line. The log is read
 * with dmesg (the console shows only loglevel < 4). 'none' steps must exit 0.
 */
export async function nonFatalStep(ssh: SshSession, step: CrashStep, out: string, log: string, timeouts: PhaseTimeouts, signal: AbortSignal): Promise<Check> {
  if (step.expect === 'none') return guestCommandCheck(ssh, 'step', step.run, out, log, timeouts.ssh, signal);
  const count = async (): Promise<number> => {
    const r = await probe(ssh, `dmesg | grep -c -e '${END_TRACE}' || true`, timeouts.ssh, signal);
    return Number.parseInt(r.stdout.toString('utf8').trim(), 10) || 0;
  };
  const before = await count();
  const t = performance.now();
  // The oops kills the shell running the command: its exit status says nothing.
  const res = await ssh.exec(step.run, { timeout: timeouts.panic, signal, maxBytes: 16 << 20 }).catch((e: unknown) => e);
  if (!(res instanceof Error) && 'stdout' in (res as object)) {
    const r = res as { stdout: Buffer; stderr: Buffer };
    writeConfined(out, log, Buffer.concat([r.stdout, r.stderr]));
  }
  const deadline = performance.now() + timeouts.panic;
  let after = await count();
  while (after <= before && performance.now() < deadline) {
    await sleep(250);
    after = await count();
  }
  const s = ((performance.now() - t) / 1000).toFixed(2);
  const ok = after > before;
  return {
    name: `${step.expect} \`${step.run}\``,
    ok,
    detail: ok
      ? `the kernel logged ${after - before} report(s) in ${s} s`
      : `no oops/WARN report ("---[ end trace") in the kernel log within ${timeouts.panic / 1000} s`,
  };
}
