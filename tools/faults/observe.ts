// What a faulted run leaves behind, seen from outside: every process that carries the run's
// marker in its environment (the harness, QEMU, flock holders, tools; children inherit it, so
// "ours" needs no pid bookkeeping and never blames another user's QEMU on this shared machine),
// the temp folders, listening sockets and flock locks those processes held while the run went.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The environment variable whose value tags every process of one faulted run. */
export const MARKER_VARIABLE = 'RAMOOPS_FAULT_RUN';

/** One process of the run, as last seen. */
export interface Seen {
  readonly pid: number;
  readonly comm: string;
  readonly argv: readonly string[];
}

/** Pids of live processes whose environment holds MARKER_VARIABLE=id (zombies are not alive). */
export function markedProcesses(id: string): Seen[] {
  const needle = `${MARKER_VARIABLE}=${id}\0`;
  const found: Seen[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'latin1');
      if (!env.includes(needle)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      // The state follows the parenthesised command name, which may hold spaces.
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      const argv = readFileSync(`/proc/${name}/cmdline`, 'latin1')
        .split('\0')
        .filter((a) => a !== '');
      found.push({ pid: Number(name), comm: readFileSync(`/proc/${name}/comm`, 'latin1').trim(), argv });
    } catch {
      // Gone while we looked, or not ours to read.
    }
  }
  return found;
}

/** The scheduler state letter of a process (T: stopped), or undefined when it is gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** Socket inodes a process holds. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1] !== undefined) inodes.add(m[1]);
      } catch {
        // fd closed meanwhile
      }
    }
  } catch {
    // process gone
  }
  return inodes;
}

/** A listening TCP socket: its port and its inode (the inode names this very socket, not a reuse of the port). */
export interface Listener {
  readonly port: number;
  readonly inode: string;
}

/** Every listening TCP socket on the machine. */
export function listeningSockets(): Listener[] {
  const out: Listener[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // st 0A is LISTEN; local_address is HEXIP:HEXPORT.
      if (f.length < 10 || f[3] !== '0A') continue;
      out.push({ port: parseInt((f[1] ?? '').split(':')[1] ?? '0', 16), inode: f[9] ?? '' });
    }
  }
  return out;
}

/** The listening sockets these processes hold now. */
export function listenersOf(pids: readonly number[]): Listener[] {
  const mine = new Set<string>();
  for (const pid of pids) for (const i of socketInodes(pid)) mine.add(i);
  return listeningSockets().filter((l) => mine.has(l.inode));
}

/** flock/POSIX locks these processes hold, as /proc/locks lines. */
export function locksOf(pids: readonly number[]): string[] {
  const set = new Set(pids);
  let text: string;
  try {
    text = readFileSync('/proc/locks', 'latin1');
  } catch {
    return [];
  }
  return text.split('\n').filter((line) => {
    // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
    const pid = Number(line.trim().split(/\s+/)[4]);
    return set.has(pid);
  });
}

/** The QEMU temp folder a QEMU's argv names (the RAM file's folder), if any. */
export function qemuTempFolder(argv: readonly string[]): string | undefined {
  for (const a of argv) {
    const m = /mem-path=([^,]*\/ramoops-qemu-[^/,]+)\//.exec(a) ?? /path=([^,]*\/ramoops-qemu-[^/,]+)\//.exec(a);
    if (m?.[1] !== undefined) return m[1];
  }
  return undefined;
}

/**
 * Samples the run's processes while it goes, so that what they held (QEMU temp folders,
 * listening ports) is known even when the fault kills them before anyone looks.
 */
export class RunSampler {
  readonly pids = new Set<number>();
  readonly tempFolders = new Set<string>();
  readonly listeners = new Map<string, Listener>();
  readonly commands = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly id: string) {}

  start(everyMs = 150): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.sample();
  }

  sample(): Seen[] {
    const now = markedProcesses(this.id);
    for (const p of now) {
      this.pids.add(p.pid);
      this.commands.set(p.pid, p.comm);
      const folder = qemuTempFolder(p.argv);
      if (folder !== undefined) this.tempFolders.add(folder);
    }
    for (const l of listenersOf(now.map((p) => p.pid))) this.listeners.set(l.inode, l);
    return now;
  }

  /** The live QEMU processes of the run. */
  qemus(): Seen[] {
    return this.sample().filter((p) => p.comm.startsWith('qemu-system'));
  }
}
