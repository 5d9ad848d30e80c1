// Real dumps of a crashed guest through every reader: a Debian 6.1 guest with ramoops panics
// (sysrq c); QEMU parks at the guest's reboot; we take QMP dump-guest-memory in ELF and
// kdump-zlib (QEMU 7.2 writes that flattened), keep the RAM file, and (when Debian's
// makedumpfile is installed) convert the ELF vmcore to kdump with its compressors. For each,
// extract(openDump(...)) must give exactly the files that extracting the region itself gives,
// and the region itself is what QEMU's pmemsave returns (ground truth independent of our code).
// A second guest with 4.5 GiB of RAM puts the region above 4 GiB.
//
// RAMOOPS_SKIP_INTEGRATION=1 skips; RAMOOPS_KEEP_DUMPS=DIR keeps the dumps in DIR for a look.
// makedumpfile: Debian 12's (zlib, lzo) when installed; snappy and zstd need a build that has
// them, named by RAMOOPS_MAKEDUMPFILE (otherwise those variants are skipped, saying why).
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  AddressNotCapturedError,
  configFromCmdline,
  extract,
  extractRegion,
  openDump,
  openKdump,
  openElf,
  elfVmcoreinfo,
  unflatten,
  type Extraction,
  type KdumpMemory,
  type PhysicalMemory,
  type RamoopsConfig,
} from '../../src/index.js';
import { buildGuestImage } from '../../harness/guest/image.js';
import { openFileSource } from '../../harness/io/file-source.js';
import { obtainKernel } from '../../harness/kernel/obtain.js';
import type { KernelArtifacts } from '../../harness/kernel/artifacts.js';
import { Lifetime } from '../../harness/proc/lifetime.js';
import { QemuProcess, defaultTempParent } from '../../harness/qemu/process.js';
import type { MachineType } from '../../harness/qemu/args.js';
import { generateRunKeys } from '../../harness/ssh/keys.js';
import { HOSTKEY_LINE, HostKeyPin, SshSession } from '../../harness/ssh/session.js';

const MiB = 1024 * 1024;

function qemuAvailable(): boolean {
  if (process.env['RAMOOPS_SKIP_INTEGRATION'] === '1') return false;
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const itest = qemuAvailable() ? test.serial : test.skip;

/** The makedumpfile to run: RAMOOPS_MAKEDUMPFILE (e.g. a build with snappy and zstd), else PATH's. */
const MAKEDUMPFILE = process.env['RAMOOPS_MAKEDUMPFILE'] ?? 'makedumpfile';

/** Which compressors this makedumpfile has (Debian 12's: zlib and lzo; snappy and zstd are off). */
function makedumpfileFeatures(): { readonly present: boolean; readonly lzo: boolean; readonly snappy: boolean; readonly zstd: boolean } {
  const r = spawnSync(MAKEDUMPFILE, ['-v'], { encoding: 'utf8' });
  if (r.error !== undefined) return { present: false, lzo: false, snappy: false, zstd: false };
  const out = r.stdout + r.stderr;
  return { present: true, lzo: /lzo\s+enabled/.test(out), snappy: /snappy\s+enabled/.test(out), zstd: /zstd\s+enabled/.test(out) };
}

interface GuestSpec {
  readonly name: string;
  readonly machine: MachineType;
  readonly memoryBytes: number;
  readonly region: { readonly address: number; readonly size: number };
  /** QMP dump-guest-memory calls to make at the crash, by output file name. */
  readonly dumps: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Load qemu_fw_cfg so QEMU's -device vmcoreinfo carries the guest's VMCOREINFO into the dumps. */
  readonly vmcoreinfo: boolean;
}

interface Crashed {
  readonly spec: GuestSpec;
  readonly dir: string;
  readonly qemu: QemuProcess;
  readonly kernel: KernelArtifacts;
  readonly config: RamoopsConfig;
  /** The region as QEMU's pmemsave returned it. */
  readonly region: Buffer;
  /** What extracting the region itself gives: the reference for every reader. */
  readonly reference: Extraction;
  readonly timings: Readonly<Record<string, number>>;
  /** /sys/kernel/vmcoreinfo in the guest: physical address and size of the VMCOREINFO note. */
  readonly vmcoreinfoNote: { readonly address: number; readonly size: number } | undefined;
}

const life = new Lifetime();
const dirs: string[] = [];
const keep = process.env['RAMOOPS_KEEP_DUMPS'];

test.after.always(async () => {
  await life.close();
  if (keep === undefined) for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function crashGuest(spec: GuestSpec, log: (s: string) => void): Promise<Crashed> {
  const timings: Record<string, number> = {};
  let t0 = Date.now();
  const lap = (what: string): void => {
    timings[what] = Date.now() - t0;
    log(`${spec.name}: ${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    t0 = Date.now();
  };
  const dir = keep !== undefined ? path.join(keep, spec.name) : await mkdtemp(path.join(defaultTempParent() ?? os.tmpdir(), 'rh-dumps-'));
  mkdirSync(dir, { recursive: true });
  dirs.push(dir);
  const kernel = await obtainKernel('debian', { log });
  const image = await buildGuestImage(kernel, { log });
  const keys = generateRunKeys();
  const pin = new HostKeyPin();
  const { address, size } = spec.region;
  const append = [
    'console=ttyS0 quiet loglevel=4 panic=-1',
    `memmap=0x${size.toString(16)}$0x${address.toString(16)}`,
    `ramoops.mem_address=0x${address.toString(16)} ramoops.mem_size=0x${size.toString(16)}`,
    'ramoops.record_size=0x4000',
    keys.cmdlineWord,
  ].join(' ');
  const qemu = await QemuProcess.start({
    machine: spec.machine,
    memoryBytes: spec.memoryBytes,
    kernel: kernel.kernelPath,
    initrd: image,
    append,
    lifetime: life,
    artifactsDir: dir,
    extraArgs: spec.vmcoreinfo ? ['-device', 'vmcoreinfo'] : [],
  });
  // since: 0 — READY often arrives in the same read as the host key line; waiting "from now"
  // after the first match would miss it.
  const hostKey = await qemu.waitForSerial(HOSTKEY_LINE, { since: 0, timeout: 300_000 });
  pin.expectFromLine(hostKey.line);
  await qemu.waitForSerial(/RAMOOPS-HARNESS-READY/, { since: 0, timeout: 300_000 });
  const ssh = await SshSession.connect({ port: qemu.sshPort ?? 0, privateKey: keys.privateKey, hostKey: pin, lifetime: life });
  lap('boot + SSH');

  if (spec.vmcoreinfo) await loadFwCfg(ssh, kernel, log);
  const info = (await ssh.exec('cat /sys/kernel/vmcoreinfo', { timeout: 10_000 })).stdout.toString().trim().split(/\s+/);
  const vmcoreinfoNote = info.length === 2 ? { address: parseInt(info[0] ?? '', 16), size: parseInt(info[1] ?? '', 16) } : undefined;

  const mark = qemu.qmp.mark();
  await ssh.start('echo c > /proc/sysrq-trigger');
  await qemu.waitForEvent('SHUTDOWN', { since: mark, timeout: 120_000 });
  await qemu.waitForEvent('STOP', { since: mark, timeout: 10_000 });
  ssh.destroy();
  lap('crash');

  const regionFile = path.join(dir, 'region.bin');
  await qemu.qmp.execute('pmemsave', { val: address, size, filename: regionFile }, { timeout: 30_000 });
  const region = await readFile(regionFile);
  for (const [file, args] of Object.entries(spec.dumps)) {
    await qemu.qmp.execute('dump-guest-memory', { paging: false, protocol: `file:${path.join(dir, file)}`, ...args }, { timeout: 600_000 });
    lap(`dump-guest-memory ${file} (${((await stat(path.join(dir, file))).size / MiB).toFixed(1)} MiB)`);
  }
  const config = configFromCmdline(append, kernel.release);
  return { spec, dir, qemu, kernel, config, region, reference: extractRegion(region, config), timings, vmcoreinfoNote };
}

/** Copies qemu_fw_cfg.ko into the guest (the image does not carry it) and loads it. */
async function loadFwCfg(ssh: SshSession, kernel: KernelArtifacts, log: (s: string) => void): Promise<void> {
  const ko =
    kernel.modulesRoot === undefined ? undefined : path.join(kernel.modulesRoot, 'lib/modules', kernel.release, 'kernel/drivers/firmware/qemu_fw_cfg.ko');
  if (ko === undefined || !existsSync(ko)) {
    log(`qemu_fw_cfg.ko not found for ${kernel.release}: dumps will lack VMCOREINFO`);
    return;
  }
  const b64 = readFileSync(ko).toString('base64');
  await ssh.exec('rm -f /tmp/fwcfg.b64', { timeout: 10_000 });
  // dropbear limits a command's length: send the module in pieces.
  for (let i = 0; i < b64.length; i += 6000) {
    await ssh.exec(`echo -n '${b64.slice(i, i + 6000)}' >> /tmp/fwcfg.b64`, { timeout: 10_000 });
  }
  const r = await ssh.exec('base64 -d /tmp/fwcfg.b64 > /tmp/qemu_fw_cfg.ko && insmod /tmp/qemu_fw_cfg.ko', { timeout: 20_000 });
  if (r.code !== 0) log(`insmod qemu_fw_cfg failed (${r.stderr.toString().trim()}): dumps will lack VMCOREINFO`);
}

/** The files of an extraction as name -> bytes, for exact comparison. */
function files(x: Extraction): Record<string, string> {
  return Object.fromEntries(x.files.map((f) => [f.name, Buffer.from(f.bytes).toString('hex')]));
}

function sameAsReference(t: ExecutionContext, g: Crashed, mem: PhysicalMemory, what: string): void {
  const x = extract(mem, g.config);
  t.deepEqual(Object.keys(files(x)).sort(), Object.keys(files(g.reference)).sort(), `${what}: file names`);
  t.deepEqual(files(x), files(g.reference), `${what}: file bytes`);
  t.deepEqual(
    x.files.map((f) => [f.name, f.size, f.mtime?.seconds]),
    g.reference.files.map((f) => [f.name, f.size, f.mtime?.seconds]),
    `${what}: sizes and mtimes`,
  );
  t.true(
    x.zones.every((z) => z.status !== 'not-captured'),
    `${what}: every zone captured`,
  );
}

/** Opens a dump file through openDump, runs `fn`, closes it. */
function withDump<T>(file: string, opts: Parameters<typeof openDump>[1], fn: (mem: PhysicalMemory) => T): T {
  const src = openFileSource(file);
  try {
    return fn(openDump(src, { name: path.basename(file), ...opts }));
  } finally {
    src.close();
  }
}

const guestLow: GuestSpec = {
  name: 'q35-512M',
  machine: 'q35',
  memoryBytes: 512 * MiB,
  region: { address: 0x8000000, size: 0x100000 },
  dumps: { 'vmcore.elf': { format: 'elf' }, 'vmcore.kdump': { format: 'kdump-zlib' } },
  vmcoreinfo: true,
};

let low: Promise<Crashed> | undefined;
const crashedLow = (t: ExecutionContext): Promise<Crashed> => (low ??= crashGuest(guestLow, (s) => t.log(s)));

itest('the crashed guest left a dmesg record (reference extraction from pmemsave)', async (t) => {
  const g = await crashedLow(t);
  t.true(
    g.reference.files.some((f) => f.name === 'dmesg-ramoops-0'),
    `files: ${g.reference.files.map((f) => f.name).join(', ')}`,
  );
  t.regex(Buffer.from(g.reference.files.find((f) => f.name === 'dmesg-ramoops-0')?.bytes ?? []).toString('latin1'), /sysrq/i);
});

itest('RAM file: raw and qemu-ram readers give the same files', async (t) => {
  const g = await crashedLow(t);
  withDump(g.qemu.ramFile, {}, (mem) => sameAsReference(t, g, mem, 'raw at 0 (auto)'));
  withDump(g.qemu.ramFile, { format: 'qemu-ram', machine: 'q35', ramSize: g.spec.memoryBytes }, (mem) => {
    sameAsReference(t, g, mem, 'qemu-ram q35');
    t.deepEqual(mem.ranges(), [
      { start: 0, end: 0xa0000 },
      { start: 0x100000, end: 512 * MiB },
    ]);
  });
});

itest('QEMU ELF dump: detected, same files, VMCOREINFO note, segments by physical address', async (t) => {
  const g = await crashedLow(t);
  const file = path.join(g.dir, 'vmcore.elf');
  const started = Date.now();
  withDump(file, {}, (mem) => {
    t.regex(mem.description, /ELF64 LE/);
    sameAsReference(t, g, mem, 'ELF');
    // QEMU's guest_phys_blocks: low RAM in one segment and the BIOS ROM just below 4 GiB.
    const ranges = mem.ranges();
    t.deepEqual(ranges[0], { start: 0, end: 512 * MiB }, JSON.stringify(ranges));
    t.is(ranges[ranges.length - 1]?.end, 0x100000000);
    const e = t.throws(() => mem.read(512 * MiB - 8, 16), { instanceOf: AddressNotCapturedError });
    t.regex(e?.message ?? '', /0x20000000/);
    // A read across the whole region equals pmemsave's bytes.
    t.true(Buffer.from(mem.read(g.spec.region.address, g.spec.region.size)).equals(g.region));
  });
  const src = openFileSource(file);
  try {
    const elf = openElf(src);
    const vmcoreinfo = elfVmcoreinfo(src, elf.elf);
    if (vmcoreinfo === undefined) t.log('no VMCOREINFO note (qemu_fw_cfg not loaded?)');
    else t.regex(vmcoreinfo, /OSRELEASE=6\.1/);
    // The kernel's own VMCOREINFO note, found through /sys/kernel/vmcoreinfo, is in the dump too.
    if (g.vmcoreinfoNote !== undefined) {
      const note = Buffer.from(elf.read(g.vmcoreinfoNote.address, g.vmcoreinfoNote.size)).toString('latin1');
      t.regex(note, /VMCOREINFO\0+[\s\S]*OSRELEASE=/);
    }
  } finally {
    src.close();
  }
  t.log(`ELF: ${((await stat(file)).size / MiB).toFixed(0)} MiB, opened and extracted in ${Date.now() - started} ms`);
});

itest('QEMU kdump-zlib dump (flattened): detected, same files, excluded pages are typed errors', async (t) => {
  const g = await crashedLow(t);
  const file = path.join(g.dir, 'vmcore.kdump');
  const head = readFileSync(file).subarray(0, 16).toString('latin1');
  t.log(`kdump-zlib starts with ${JSON.stringify(head)}`);
  withDump(file, {}, (mem) => {
    sameAsReference(t, g, mem, 'kdump-zlib');
    t.true(Buffer.from(mem.read(g.spec.region.address, g.spec.region.size)).equals(g.region));
    // Between the end of RAM and the BIOS ROM below 4 GiB: pfns that were never RAM.
    const e = t.throws(() => mem.read(0x30000000, 16), { instanceOf: AddressNotCapturedError });
    t.regex(e?.message ?? '', /0x30000000.*not RAM/);
    const beyond = t.throws(() => mem.read(0x100000000, 16), { instanceOf: AddressNotCapturedError });
    t.regex(beyond?.message ?? '', /0x100000000.*beyond the dump's last pfn/);
  });
  // Same bytes for the whole of RAM as the ELF dump, sampled.
  const a = openFileSource(file);
  const b = openFileSource(path.join(g.dir, 'vmcore.elf'));
  try {
    const k = openDump(a) as KdumpMemory;
    const elf = openDump(b);
    t.truthy(k.kdump);
    t.deepEqual(k.ranges(), elf.ranges());
    const started = Date.now();
    let bytes = 0;
    for (const r of k.ranges()) {
      for (let at = r.start; at < r.end; at += 4 * MiB) {
        const n = Math.min(4 * MiB, r.end - at);
        t.true(Buffer.from(k.read(at, n)).equals(Buffer.from(elf.read(at, n))), `bytes at 0x${at.toString(16)}`);
        bytes += n;
      }
    }
    const ms = Date.now() - started;
    t.log(`kdump vs ELF: ${bytes / MiB} MiB compared in ${ms} ms; ${k.pagesDecoded} pages decoded`);
  } finally {
    a.close();
    b.close();
  }
});

const mdf = makedumpfileFeatures();
const mdfTest = mdf.present ? itest : test.skip;
if (!mdf.present) test.skip('makedumpfile outputs (makedumpfile is not installed: apt-get install makedumpfile)', () => {});

/**
 * A copy of QEMU's ELF vmcore that makedumpfile 1.7.2 can read: it looks for the program
 * headers right after the ELF header (elf_info.c get_elf64_phdr) while QEMU 7.2 puts its section
 * headers there and the program headers after them. We move the program headers up and drop
 * the section headers (they only carry PN_XNUM overflow, unused with 3 segments).
 */
function makedumpfileReadableCopy(elfFile: string, out: string): void {
  copyFileSync(elfFile, out);
  const fd = openSync(out, 'r+');
  try {
    const eh = Buffer.alloc(64);
    readSync(fd, eh, 0, 64, 0);
    const phoff = Number(eh.readBigUInt64LE(32));
    const phnum = eh.readUInt16LE(56);
    const table = Buffer.alloc(phnum * 56);
    readSync(fd, table, 0, table.length, phoff);
    eh.writeBigUInt64LE(64n, 32);
    eh.writeBigUInt64LE(0n, 40);
    eh.writeUInt16LE(64, 52);
    eh.writeUInt16LE(0, 60);
    eh.writeUInt16LE(0, 62);
    writeSync(fd, eh, 0, 64, 0);
    writeSync(fd, table, 0, table.length, 64);
  } finally {
    closeSync(fd);
  }
}

mdfTest('makedumpfile from the QEMU ELF vmcore: zlib, lzo, flattened, dump level 31 (excluded pages)', async (t) => {
  const g = await crashedLow(t);
  const elfFile = path.join(g.dir, 'vmcore-mdf.elf');
  makedumpfileReadableCopy(path.join(g.dir, 'vmcore.elf'), elfFile);
  // Our reader sees the same memory in the patched copy (and so does not depend on the layout).
  withDump(elfFile, {}, (mem) => sameAsReference(t, g, mem, 'ELF with program headers moved'));
  const src = openFileSource(elfFile);
  let vmcoreinfo: string | undefined;
  try {
    vmcoreinfo = elfVmcoreinfo(src);
  } finally {
    src.close();
  }
  const args: string[] = [];
  if (vmcoreinfo === undefined) {
    // No note from QEMU: hand makedumpfile the kernel's own VMCOREINFO, read out of the dump.
    if (g.vmcoreinfoNote === undefined) return t.log('SKIPPED: neither a VMCOREINFO note in the ELF nor /sys/kernel/vmcoreinfo');
    const text = withDump(elfFile, {}, (mem) => Buffer.from(mem.read(g.vmcoreinfoNote?.address ?? 0, g.vmcoreinfoNote?.size ?? 0)).toString('latin1'));
    const body = text.slice(text.indexOf('OSRELEASE=')).replace(/\0[\s\S]*$/, '');
    const f = path.join(g.dir, 'VMCOREINFO');
    writeFileSync(f, body);
    args.push('-i', f);
  }
  await mdfCompressed(t, g, elfFile, args);
  mdfFlattened(t, g, elfFile, args);
  mdfSplit(t, g, elfFile, args);
});

/** makedumpfile's compressed kdump formats, dump levels 0 and 31 (excluded pages refused by name). */
async function mdfCompressed(t: ExecutionContext, g: Crashed, elfFile: string, args: readonly string[]): Promise<void> {
  const variants: { name: string; flags: string[]; flag: string; enabled: boolean }[] = [
    { name: 'zlib', flags: ['-c'], flag: 'zlib', enabled: true },
    { name: 'lzo', flags: ['-l'], flag: 'lzo', enabled: mdf.lzo },
    { name: 'snappy', flags: ['-p'], flag: 'snappy', enabled: mdf.snappy },
    { name: 'zstd', flags: ['-z'], flag: 'zstd', enabled: mdf.zstd },
  ];
  for (const v of variants) {
    if (!v.enabled) {
      t.log(`SKIPPED ${v.name}: ${MAKEDUMPFILE} was built without ${v.name} (see makedumpfile -v; RAMOOPS_MAKEDUMPFILE may name another build)`);
      continue;
    }
    for (const level of [0, 31]) {
      const out = path.join(g.dir, `mdf-${v.name}-d${level}.kdump`);
      const started = Date.now();
      const r = spawnSync(MAKEDUMPFILE, [...v.flags, '-d', String(level), ...args, elfFile, out], { encoding: 'utf8' });
      t.is(r.status, 0, `makedumpfile ${v.name} -d ${level}: ${r.stdout}${r.stderr}`);
      if (r.status !== 0) continue;
      t.log(`makedumpfile ${v.flags.join(' ')} -d ${level}: ${((await stat(out)).size / MiB).toFixed(1)} MiB in ${Date.now() - started} ms`);
      const fsrc = openFileSource(out);
      try {
        const k = openKdump(fsrc, out);
        t.is(k.kdump.dumpLevel, level);
        sameAsReference(t, g, k, `makedumpfile ${v.name} -d ${level}`);
        if (level === 31) {
          // Free pages are left out at level 31: find one through the bitmaps and read it.
          const ranges = k.ranges();
          const gap = ranges.find((r, i) => i > 0 && (ranges[i - 1]?.end ?? 0) < r.start && r.start > 0x100000);
          const hole = gap === undefined ? undefined : (ranges[ranges.indexOf(gap) - 1]?.end ?? 0);
          t.truthy(hole, 'a level-31 dump leaves pages out');
          if (hole !== undefined) {
            const e = t.throws(() => k.read(hole, 8), { instanceOf: AddressNotCapturedError });
            t.regex(e?.message ?? '', new RegExp(`0x${hole.toString(16)}`));
            t.regex(e?.message ?? '', /excluded from the dump \(dump level 31\)/);
          }
        }
      } finally {
        fsrc.close();
      }
    }
  }
}

/** The flattened forms (-F writes to stdout), read without rearranging them. */
function mdfFlattened(t: ExecutionContext, g: Crashed, elfFile: string, args: readonly string[]): void {
  const flat = path.join(g.dir, 'mdf-flat.kdump');
  const r = spawnSync('sh', ['-c', `'${MAKEDUMPFILE}' -F -c -d 31 ${args.join(' ')} '${elfFile}' > '${flat}'`], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const fsrc = openFileSource(flat);
  try {
    const u = unflatten(fsrc);
    t.true(u.complete);
    t.log(`makedumpfile -F: ${u.records} records`);
    withDump(flat, {}, (mem) => sameAsReference(t, g, mem, 'makedumpfile -F -c -d 31'));
  } finally {
    fsrc.close();
  }
  // A flattened ELF (-F -E): openDump un-flattens, then finds ELF inside.
  const flatElf = path.join(g.dir, 'mdf-flat.elf');
  const e = spawnSync('sh', ['-c', `'${MAKEDUMPFILE}' -F -E -d 31 ${args.join(' ')} '${elfFile}' > '${flatElf}'`], { encoding: 'utf8' });
  t.is(e.status, 0, e.stderr);
  withDump(flatElf, {}, (mem) => {
    t.regex(mem.description, /flattened.*ELF64/);
    sameAsReference(t, g, mem, 'makedumpfile -F -E -d 31');
  });
}

/** --split: each file holds a pfn range; every page of the region is in exactly one of them. */
function mdfSplit(t: ExecutionContext, g: Crashed, elfFile: string, args: readonly string[]): void {
  const parts = [path.join(g.dir, 'mdf-split-1.kdump'), path.join(g.dir, 'mdf-split-2.kdump'), path.join(g.dir, 'mdf-split-3.kdump')];
  const sp = spawnSync(MAKEDUMPFILE, ['--split', '-c', '-d', '31', ...args, elfFile, ...parts], { encoding: 'utf8' });
  t.is(sp.status, 0, sp.stdout + sp.stderr);
  if (sp.status !== 0) return;
  const srcs = parts.map((p) => openFileSource(p));
  try {
    const mems = srcs.map((s) => openKdump(s));
    t.true(mems.every((m) => m.kdump.split));
    t.log(`split pfn ranges: ${mems.map((m) => `0x${m.kdump.startPfn.toString(16)}..0x${m.kdump.endPfn.toString(16)}`).join(', ')}`);
    const { address, size } = g.spec.region;
    for (let at = address; at < address + size; at += 4096) {
      const hits = mems.flatMap((m) => {
        try {
          return [Buffer.from(m.read(at, 4096))];
        } catch (err) {
          if (!(err instanceof AddressNotCapturedError) || !/outside this split file/.test(err.message)) throw err;
          return [];
        }
      });
      t.is(hits.length, 1, `page 0x${at.toString(16)} in exactly one split file`);
      t.true(hits[0]?.equals(g.region.subarray(at - address, at - address + 4096)), `page 0x${at.toString(16)} bytes`);
    }
    // All of RAM through the three files equals the ELF, page by page, sampled every 64 pages.
    withDump(elfFile, {}, (elf) => {
      for (const r of elf.ranges()) {
        for (let at = r.start; at < r.end; at += 64 * 4096) {
          const owner = mems.find((m) => at / 4096 >= m.kdump.startPfn && at / 4096 < m.kdump.endPfn);
          if (owner === undefined) continue;
          let got: Buffer | undefined;
          try {
            got = Buffer.from(owner.read(at, 4096));
          } catch (err) {
            if (!(err instanceof AddressNotCapturedError)) throw err;
          }
          if (got !== undefined && !got.equals(Buffer.from(elf.read(at, 4096)))) {
            t.fail(`split page 0x${at.toString(16)} differs from the ELF`);
            return;
          }
        }
      }
    });
  } finally {
    for (const s of srcs) s.close();
  }
}

const guestHigh: GuestSpec = {
  name: 'q35-4608M',
  machine: 'q35',
  memoryBytes: 4608 * MiB,
  region: { address: 0x120000000, size: 0x100000 },
  // A full ELF would be 4.6 GB: QEMU's begin/length filter keeps the region's segment only.
  dumps: { 'vmcore.kdump': { format: 'kdump-zlib' }, 'region.elf': { format: 'elf', begin: 0x120000000, length: 0x100000 } },
  vmcoreinfo: false,
};

itest('guest with 4.5 GiB of RAM, region above 4 GiB: RAM file (q35 map), kdump-zlib, filtered ELF', async (t) => {
  const g = await crashGuest(guestHigh, (s) => t.log(s));
  try {
    t.true(
      g.reference.files.some((f) => f.name === 'dmesg-ramoops-0'),
      `files: ${g.reference.files.map((f) => f.name).join(', ')}`,
    );
    withDump(g.qemu.ramFile, { format: 'qemu-ram', machine: 'q35', ramSize: g.spec.memoryBytes }, (mem) => {
      sameAsReference(t, g, mem, 'qemu-ram q35 4608M');
      t.deepEqual(mem.ranges()[2], { start: 0x100000000, end: 0x100000000 + 2560 * MiB });
    });
    // As raw bytes the file puts the region elsewhere (at 2 GiB + 0.5 GiB): the map matters.
    withDump(g.qemu.ramFile, {}, (mem) => t.false(extract(mem, g.config).files.some((f) => f.name === 'dmesg-ramoops-0')));
    withDump(path.join(g.dir, 'vmcore.kdump'), {}, (mem) => {
      sameAsReference(t, g, mem, 'kdump-zlib 4608M');
      t.true(
        mem.ranges().some((r) => r.start <= 0x100000000 && r.end === 0x100000000 + 2560 * MiB),
        JSON.stringify(mem.ranges()),
      );
      t.throws(() => mem.read(0xc0000000, 8), { instanceOf: AddressNotCapturedError }, 'the PCI hole is not RAM');
    });
    withDump(path.join(g.dir, 'region.elf'), {}, (mem) => {
      sameAsReference(t, g, mem, 'filtered ELF 4608M');
      t.deepEqual(mem.ranges(), [{ start: 0x120000000, end: 0x120100000 }]);
    });
  } finally {
    await g.qemu.dispose();
  }
});
