// `ramoops harvest`: collect /sys/fs/pstore from a machine (over SSH or this one) into an
// archive that keeps every crash, optionally erasing what was archived.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import ssh2 from 'ssh2';
import type { Argv, CommandModule } from 'yargs';
import { harvestErrorJunit, harvestExitCode, harvestJson, harvestJunit, harvestText, type HarvestReport } from '../../../src/harvest/index.js';
import { prepareOutDir, writeConfined } from '../../io/artifacts.js';
import { HarnessError } from '../../errors.js';
import { harvestLocal, harvestSession } from '../../harvest/harvest.js';
import { RunAbortedError, withLifetime } from '../../proc/lifetime.js';
import { HostKeyPin, SshSession } from '../../ssh/session.js';
import { checkInputFolder, checkOutDir } from '../input.js';

interface HarvestArgs {
  ssh?: string;
  local?: string;
  key?: string;
  'known-host-key'?: string;
  'accept-new-host-key'?: boolean;
  out: string;
  erase: boolean;
  json: boolean;
  junit?: string;
  timeout: number;
  wait: number;
}

/** Exit codes, also in --help. */
export const HARVEST_EXIT = { ok: 0, incomplete: 1, error: 2 } as const;

/** An SSH target taken apart. */
export interface SshTarget {
  readonly user: string;
  readonly host: string;
  readonly port: number;
  /** As shown in reports: `user@host:port`. */
  readonly label: string;
}

/** Parses `USER@HOST[:PORT]` (IPv6 as `[addr]`); the user defaults to root, who owns pstore. */
export function parseSshTarget(s: string): SshTarget {
  const m = /^(?:([A-Za-z0-9._][A-Za-z0-9._-]*)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)(?::(\d{1,5}))?$/.exec(s);
  const port = m?.[3] === undefined ? 22 : Number(m[3]);
  if (m === null || m[2] === undefined || port < 1 || port > 65535) {
    throw new HarnessError('ssh', `--ssh wants USER@HOST[:PORT] (IPv6 as [addr]:PORT), got ${JSON.stringify(s)}`);
  }
  const user = m[1] ?? 'root';
  const host = m[2].replace(/^\[|\]$/g, '');
  return { user, host, port, label: `${user}@${m[2]}:${port}` };
}

/** The base64 blob of a host key given as `AAAA...` or as an OpenSSH line `ssh-ed25519 AAAA... comment`. */
export function hostKeyBlob(s: string): string {
  const words = s.trim().split(/\s+/);
  const blob = words.find((w) => /^AAAA[A-Za-z0-9+/]+=*$/.test(w));
  if (blob === undefined) throw new HarnessError('ssh', `--known-host-key wants the key's base64 (AAAA...), got ${JSON.stringify(s)}`);
  return blob;
}

function defaultKey(): string {
  for (const n of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const p = path.join(homedir(), '.ssh', n);
    if (existsSync(p)) return p;
  }
  throw new HarnessError('ssh', '--key FILE is needed (no ~/.ssh/id_ed25519, id_ecdsa or id_rsa)');
}

function loadKey(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new HarnessError('ssh', `cannot read the key ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const parsed = ssh2.utils.parseKey(text);
  if (parsed instanceof Error) throw new HarnessError('ssh', `cannot use the key ${file}: ${parsed.message} (passphrase-protected keys are not supported)`);
  return text;
}

/** Turns a failed login into one sentence saying what to do. */
function loginError(e: unknown, t: SshTarget, keyFile: string, waitS: number, pin: HostKeyPin, pinGiven: boolean): HarnessError {
  if (pin.lastRefused !== undefined) {
    return new HarnessError(
      'ssh',
      pinGiven
        ? `${t.label} presented host key ${pin.lastRefused}, not the one given with --known-host-key: refusing to log in (wrong machine, or its key changed)`
        : `${t.label} presented host key ${pin.lastRefused}, which is not known: check it, then pass --known-host-key ${pin.lastRefused} (or --accept-new-host-key)`,
      { cause: e },
    );
  }
  const msg = e instanceof Error ? e.message : String(e);
  if (/refused the run's SSH key|authentication methods failed/i.test(msg)) {
    return new HarnessError('ssh', `${t.label} refused the key ${keyFile} for user ${t.user}`, { cause: e });
  }
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : msg;
  if (waitS <= 0)
    return new HarnessError(
      'ssh',
      `no SSH login to ${t.label} (${cause}): machine down, port closed or unreachable? (--wait SECONDS keeps trying while it reboots)`,
      { cause: e },
    );
  return new HarnessError('ssh', `no SSH login to ${t.label} within --wait ${waitS} s (last error: ${cause}): machine down, port closed or unreachable?`, {
    cause: e,
  });
}

/** The `harvest` command for yargs. */
export const harvestCommand: CommandModule<object, HarvestArgs> = {
  command: 'harvest',
  describe: 'collect /sys/fs/pstore from a machine into an archive that keeps every crash',
  builder: (y: Argv) =>
    y
      .option('ssh', { type: 'string', describe: 'USER@HOST[:PORT] to harvest over SSH (user default root)' })
      .option('local', {
        type: 'string',
        describe:
          'harvest this machine (root needed to mount pstore and to erase); --local DIR reads a pstore folder instead of /sys/fs/pstore (a copy, or another mount)',
      })
      .option('key', { type: 'string', describe: 'private key file (default ~/.ssh/id_ed25519, id_ecdsa or id_rsa)' })
      .option('known-host-key', { type: 'string', describe: "the machine's SSH host key (base64, or an OpenSSH key line): anything else is refused" })
      .option('accept-new-host-key', { type: 'boolean', describe: 'accept whatever host key the machine presents (trust on first use)' })
      .option('out', { type: 'string', demandOption: true, describe: 'archive folder (created); one folder per crash, manifest.json' })
      .option('erase', { type: 'boolean', default: false, describe: 'unlink the records once their archived copies are on disk and verified' })
      .option('json', { type: 'boolean', default: false, describe: 'print a JSON report' })
      .option('junit', { type: 'string', describe: 'also write JUnit XML here (one testcase per crash)' })
      .option('timeout', { type: 'number', default: 20, describe: 'seconds for the SSH handshake, and for each command' })
      .option('wait', {
        type: 'number',
        default: 0,
        describe: 'keep trying to connect for this many seconds (a machine that is rebooting); without it a refused or unreachable port is reported at once',
      })
      .conflicts('ssh', 'local')
      .conflicts('known-host-key', 'accept-new-host-key')
      .check((a) => {
        if (a.ssh === undefined && a.local === undefined) throw new Error('name the machine: --ssh USER@HOST[:PORT] or --local');
        if (typeof a.timeout !== 'number' || !Number.isFinite(a.timeout) || a.timeout <= 0)
          throw new Error(`--timeout wants seconds > 0, got ${String(a.timeout)}`);
        if (typeof a.wait !== 'number' || !Number.isFinite(a.wait) || a.wait < 0) throw new Error(`--wait wants seconds >= 0, got ${String(a.wait)}`);
        return true;
      })
      .epilog(
        'Exit codes: 0 harvested (also when pstore is empty);\n1 harvested, but --erase left files or some names were refused;\n2 not harvested: machine down, key or host key refused, no pstore, archive not writable.',
      ),
  handler: async (a) => {
    if (a.out !== undefined) checkOutDir('--out', a.out);
    if (a.local !== undefined && a.local !== '') checkInputFolder('--local', a.local);
    const t0 = performance.now();
    const target = a.local !== undefined ? (a.local === '' ? 'local' : `local ${a.local}`) : (a.ssh ?? '');
    let report: HarvestReport;
    try {
      report = await withLifetime({ handleSignals: true, timeoutMs: (a.timeout + a.wait + 600) * 1000 }, async (life) => {
        if (a.local !== undefined)
          return (await harvestLocal({ outDir: a.out, erase: a.erase, signal: life.signal, ...(a.local === '' ? {} : { pstoreDir: a.local }) })).report;
        const t = parseSshTarget(a.ssh ?? '');
        const keyFile = a.key ?? defaultKey();
        const privateKey = loadKey(keyFile);
        const pinGiven = a['known-host-key'] !== undefined;
        // Neither flag: pin to nothing, so the first key is refused and shown to the user.
        const pin = new HostKeyPin(pinGiven ? hostKeyBlob(a['known-host-key'] ?? '') : a['accept-new-host-key'] === true ? undefined : '');
        let ssh: SshSession;
        try {
          ssh = await SshSession.connect({
            host: t.host,
            port: t.port,
            username: t.user,
            privateKey,
            hostKey: pin,
            timeout: Math.max(a.wait, a.timeout) * 1000,
            readyTimeout: a.timeout * 1000,
            retry: a.wait > 0,
            signal: life.signal,
            lifetime: life,
          });
        } catch (e) {
          if (e instanceof RunAbortedError) throw e;
          throw loginError(e, t, keyFile, a.wait, pin, pinGiven);
        }
        try {
          const h = await harvestSession(ssh, {
            outDir: a.out,
            erase: a.erase,
            host: t.label,
            commandTimeoutMs: Math.max(a.timeout * 1000, 10_000),
            signal: life.signal,
          });
          return h.report;
        } finally {
          await ssh.close();
        }
      });
    } catch (e) {
      if (e instanceof RunAbortedError && e.abortCause !== 'timeout') throw e;
      const msg = e instanceof Error ? e.message : String(e);
      if (a.junit !== undefined) writeJunit(a.junit, harvestErrorJunit(target, msg, (performance.now() - t0) / 1000));
      if (a.json) process.stdout.write(JSON.stringify({ tool: 'ramoops-harness harvest', target, error: msg }, null, 2) + '\n');
      process.stderr.write(`ramoops harvest: ${msg}\n`);
      process.exitCode = e instanceof RunAbortedError ? e.exitCode : HARVEST_EXIT.error;
      return;
    }
    if (a.junit !== undefined) writeJunit(a.junit, harvestJunit(report));
    process.stdout.write(a.json ? harvestJson(report) : harvestText(report));
    process.exitCode = harvestExitCode(report);
  },
};

function writeJunit(file: string, xml: string): void {
  const abs = path.resolve(file);
  writeConfined(prepareOutDir(path.dirname(abs)), path.basename(abs), new TextEncoder().encode(xml));
}
