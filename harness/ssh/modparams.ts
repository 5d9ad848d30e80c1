// Read a running machine's ramoops configuration over SSH (ssh2 directly, one connection, two
// commands at most): /sys/module/ramoops/parameters, /proc/cmdline, `uname -r`, the
// possible-CPU list, and, when ramoops came from the device tree, the DTB the kernel booted
// with (/sys/firmware/fdt, root only). Parsing the report is pure and tested on its own.
import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import type { ConfigSettings } from '../../src/config/build.js';
import { HarnessError } from '../errors.js';

/** What the machine reported. */
export interface RemoteRamoops {
  /** File name -> contents of /sys/module/ramoops/parameters/*; empty when ramoops is not loaded. */
  readonly params: Readonly<Record<string, string>>;
  readonly cmdline: string;
  readonly release: string;
  /** nr_cpu_ids from /sys/devices/system/cpu/possible (e.g. "0-3" -> 4). */
  readonly possibleCpus: number | undefined;
  /** Paths of ramoops nodes in the live device tree (empty without DT or without a node). */
  readonly dtNodes: readonly string[];
  /** The booted DTB, when a node exists and /sys/firmware/fdt was readable. */
  readonly fdt: Uint8Array | undefined;
}

/** Where and how to connect. */
export interface RemoteOptions {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly privateKey: string;
  /** Expected host key as `SHA256:...` (ssh-keygen -lf) or the key's base64 blob; undefined accepts any and reports it. */
  readonly hostKey?: string;
  /** Called with the fingerprint of the key the server presented. */
  readonly onHostKey?: (fingerprint: string) => void;
  readonly timeoutMs?: number;
}

/** One shell command printing every section; busybox sh is enough. */
export const REPORT_SCRIPT = [
  'echo "== params"',
  'for f in /sys/module/ramoops/parameters/*; do [ -r "$f" ] && printf "%s=%s\\n" "${f##*/}" "$(cat "$f")"; done 2>/dev/null',
  'echo "== cmdline"; cat /proc/cmdline',
  'echo "== release"; uname -r',
  'echo "== possible"; cat /sys/devices/system/cpu/possible 2>/dev/null',
  'echo "== dt"; for d in /sys/firmware/devicetree/base/reserved-memory/* /sys/firmware/devicetree/base/*; do [ -f "$d/compatible" ] && grep -qx ramoops "$d/compatible" 2>/dev/null && echo "${d#/sys/firmware/devicetree/base}"; done 2>/dev/null',
  'true',
].join('; ');

/** Parse REPORT_SCRIPT's output. */
export function parseReport(text: string): Omit<RemoteRamoops, 'fdt'> {
  const sections = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of text.split('\n')) {
    const m = /^== (\w+)$/.exec(line);
    if (m && m[1]) {
      cur = [];
      sections.set(m[1], cur);
    } else if (cur && line !== '') cur.push(line);
  }
  const params: Record<string, string> = {};
  for (const l of sections.get('params') ?? []) {
    const eq = l.indexOf('=');
    if (eq > 0) params[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return {
    params,
    cmdline: (sections.get('cmdline') ?? []).join(' ').trim(),
    release: (sections.get('release') ?? [])[0]?.trim() ?? '',
    possibleCpus: cpuCount((sections.get('possible') ?? [])[0] ?? ''),
    dtNodes: sections.get('dt') ?? [],
  };
}

/** Count CPUs in a kernel cpu list ("0-3,5" -> 5); undefined when empty or malformed. */
export function cpuCount(list: string): number | undefined {
  let n = 0;
  for (const part of list.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return undefined;
    n += m[2] === undefined ? 1 : Number(m[2]) - Number(m[1]) + 1;
  }
  return n > 0 ? n : undefined;
}

/** Settings from the module parameters as sysfs shows them (written back after probe: effective sizes). */
export function settingsFromParams(r: Omit<RemoteRamoops, 'fdt'>): ConfigSettings {
  const num = (name: string): number | undefined => {
    const v = r.params[name];
    if (v === undefined || !/^-?\d+$/.test(v.trim())) return undefined;
    return Number(v.trim());
  };
  const maxReason = num('max_reason');
  const dumpOops = num('dump_oops');
  return {
    memAddress: num('mem_address'),
    memSize: num('mem_size'),
    recordSize: num('record_size'),
    consoleSize: num('console_size'),
    ftraceSize: num('ftrace_size'),
    pmsgSize: num('pmsg_size'),
    ecc: num('ecc'),
    memType: num('mem_type'),
    maxReason: maxReason !== undefined && maxReason >= 0 ? maxReason : undefined,
    dumpOops: dumpOops !== undefined && dumpOops >= 0 ? dumpOops : undefined,
    kernelVersion: r.release || undefined,
    cpus: r.possibleCpus,
  };
}

/** OpenSSH's fingerprint of a host key blob: SHA256:<base64 without padding>. */
export function fingerprint(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/** Connect, run the report (and fetch the DTB when ramoops is DT-configured), disconnect. */
export async function readRemoteRamoops(o: RemoteOptions): Promise<RemoteRamoops> {
  const client = new ssh2.Client();
  let seen: string | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', (e: Error) =>
        reject(
          new HarnessError('ssh', `${o.username}@${o.host}:${o.port}: ${seen && o.hostKey ? `host key ${seen} is not the expected ${o.hostKey}` : e.message}`, {
            cause: e,
          }),
        ),
      );
      client.connect({
        host: o.host,
        port: o.port,
        username: o.username,
        privateKey: o.privateKey,
        readyTimeout: o.timeoutMs ?? 20000,
        hostVerifier: (key: Buffer) => {
          seen = fingerprint(key);
          o.onHostKey?.(seen);
          return o.hostKey === undefined || o.hostKey === seen || o.hostKey === key.toString('base64');
        },
      });
    });
    const report = parseReport((await exec(client, REPORT_SCRIPT, o.timeoutMs)).toString('utf8'));
    let fdt: Uint8Array | undefined;
    if (report.dtNodes.length > 0) {
      const blob = await exec(client, 'cat /sys/firmware/fdt 2>/dev/null', o.timeoutMs).catch(() => undefined);
      fdt = blob && blob.length > 0 ? new Uint8Array(blob) : undefined;
    }
    return { ...report, fdt };
  } finally {
    client.end();
  }
}

function exec(client: ssh2.Client, command: string, timeoutMs = 20000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(new HarnessError('ssh', `exec failed: ${err.message}`, { cause: err }));
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        stream.close();
        reject(new HarnessError('ssh', `"${command.slice(0, 40)}…" did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.stderr.on('data', () => {});
      stream.on('close', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      });
    });
  });
}
