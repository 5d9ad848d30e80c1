// Builds the guest's initramfs: guest/init as /init, Debian's static busybox with its applet
// links, dropbear with the libraries it links against, and the kernel modules ramoops,
// pvpanic and virtio-net need. The image is cached under a hash of everything that goes into
// it, so the second run of a kernel costs one hash over a few megabytes.
//
// x86_64 guests get the host's own busybox and dropbear (ldd lists the libraries). arm64
// guests get Debian's arm64 packages, downloaded into the cache (harness/debs.ts); nothing
// arm64 can run here, so the libraries come from the executables' DT_NEEDED entries
// (elf-deps.ts) and the applet list from busybox's own table of names.
import { projectDir } from '../io/project-dir.js';
import { execa, ExecaError } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, type Stats } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { access, lstat, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir as defaultCacheDir } from '../io/cache-dir.js';
import { fetchDebs, type DebTree } from '../debian/debs.js';
import { HarnessError, stderrExcerpt } from '../errors.js';
import type { KernelArtifacts } from '../kernel/artifacts.js';
import type { GuestArch } from '../qemu/args.js';
import { gzipCpio, writeCpio, type CpioEntry } from './cpio.js';
import { EM_AARCH64, EM_ARM, elfDynamicInfo } from './elf-deps.js';

/** Options of buildGuestImage; every field may be left out. */
export interface GuestImageOptions {
  readonly cacheDir?: string;
  readonly log?: (line: string) => void;
  /** x86_64 (default): the host's busybox and dropbear; arm64 and arm: Debian's arm64 / armhf packages, fetched into the cache. */
  readonly arch?: GuestArch;
  readonly signal?: AbortSignal;
}

/**
 * Debian packages the arm64 and arm images' userland comes from (their arm64 or armhf builds): busybox, dropbear, and every
 * package that provides a library dropbear loads (its DT_NEEDED closure, loader included).
 */
export const ARM64_USERLAND_PACKAGES: readonly string[] = [
  'busybox-static',
  'dropbear-bin',
  'libc6',
  'libcrypt1',
  'libtomcrypt1',
  'libtommath1',
  'libgmp10',
  'zlib1g',
];

/** Host files the image copies; the Debian packages that provide them are named in errors. */
export const GUEST_BINARIES = {
  busybox: { path: '/bin/busybox', pkg: 'busybox-static' },
  dropbear: { path: '/usr/sbin/dropbear', pkg: 'dropbear-bin' },
  dropbearkey: { path: '/usr/bin/dropbearkey', pkg: 'dropbear-bin' },
} as const;

/**
 * Drivers the guest loads when the kernel has them as modules (names with '_', as modules.dep
 * normalises them). virtio_pci is built in on Debian's 6.12 and a module on 6.1. 9p and
 * 9pnet_virtio (with 9pnet, netfs, fscache) mount the host folder a run shares (rh.share=).
 */
export const GUEST_MODULES: readonly string[] = ['ramoops', 'virtio_pci', 'virtio_net', 'virtio_rng', 'pvpanic_mmio', 'pvpanic_pci', '9pnet_virtio', '9p'];

/** Applets init and the harness's SSH commands use; a busybox without one of them is refused. */
const REQUIRED_APPLETS: readonly string[] = [
  'sh',
  'mount',
  'modprobe',
  'insmod',
  'ip',
  'ifconfig',
  'cat',
  'ls',
  'stat',
  'sync',
  'sleep',
  'mkdir',
  'echo',
  'dmesg',
  'find',
  'rm',
  'sha256sum',
  'poweroff',
  'reboot',
  'base64',
  'grep',
  'tail',
  'tr',
  'hostname',
  'uname',
  'chmod',
  // The kernel's pstore selftests (the selftests scenario): /bin/echo, tee, date, cut, head, ...
  'tee',
  'date',
  'cut',
  'head',
  'basename',
  'dirname',
  'mv',
  'touch',
];

// Bumped when the image layout changes in a way the input hash cannot see.
const IMAGE_FORMAT = 'ramoops-harness-initramfs-1';

/** A regular file of the image: its absolute path in the guest, mode and bytes. */
export interface GuestFile {
  readonly dest: string;
  readonly mode: number;
  readonly data: Uint8Array;
}

function guestError(message: string, cause?: unknown): HarnessError {
  return new HarnessError('guest', message, cause === undefined ? undefined : { cause });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** sbin tools (depmod) are not on a non-root user's PATH on Debian; look there too. */
function resolveTool(cmd: string): string {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/sbin'];
  for (const d of dirs) if (d !== '' && existsSync(join(d, cmd))) return join(d, cmd);
  return cmd;
}

async function tool(cmd: string, args: readonly string[], pkg: string): Promise<{ stdout: string; stderr: string; ok: boolean }> {
  const r = await execa(resolveTool(cmd), args, { encoding: 'utf8', reject: false, env: { LC_ALL: 'C' }, stdin: 'ignore' });
  // No exit code means it never ran (missing, not executable), as opposed to ran and failed.
  if (r.failed && r.exitCode === undefined) {
    throw guestError(r.code === 'ENOENT' ? `${cmd} not found (apt-get install ${pkg})` : `${cmd} could not run: ${r.shortMessage}`, r);
  }
  return { stdout: r.stdout, stderr: r.stderr, ok: !r.failed };
}

/** Finds guest/ whether we run from dist/ (compiled) or from the sources. */
function guestDir(): Promise<string> {
  return Promise.resolve(projectDir('guest'));
}

/**
 * The shared libraries a dynamic executable loads, with the paths ldd resolved them to
 * (the loader included); empty for a static one.
 */
export function parseLdd(output: string): readonly string[] {
  const libs: string[] = [];
  for (const line of output.split('\n')) {
    const arrow = /=>\s*(\/\S+)\s*\(0x/.exec(line);
    const bare = /^\s*(\/\S+)\s*\(0x/.exec(line);
    const path = arrow?.[1] ?? bare?.[1];
    if (path !== undefined) libs.push(path);
  }
  return libs;
}

async function binaryWithLibs(path: string, pkg: string, mode: number): Promise<readonly GuestFile[]> {
  if (!(await exists(path))) throw guestError(`${path} not found (apt-get install ${pkg})`);
  const inputs: GuestFile[] = [{ dest: path, mode, data: await readFile(path) }];
  const ldd = await tool('ldd', [path], 'libc-bin');
  if (!ldd.ok) {
    if (/not a dynamic executable/.test(ldd.stdout + ldd.stderr)) return inputs;
    throw guestError(`ldd ${path} failed: ${stderrExcerpt(ldd.stderr)}`);
  }
  // Each library goes to the path the loader will look for; its content comes from wherever
  // that path's symlinks lead (Debian's /lib is a link to /usr/lib).
  const unresolved = ldd.stdout.split('\n').filter((l) => /=>\s*not found/.test(l));
  if (unresolved.length > 0) throw guestError(`${path} needs libraries the host lacks: ${unresolved.map((l) => l.trim()).join(', ')}`);
  for (const lib of parseLdd(ldd.stdout)) inputs.push({ dest: lib, mode: 0o755, data: await readFile(await realpath(lib)) });
  return inputs;
}

/** modules.dep as a map from normalised module name to its path and dependencies (paths relative to the release dir). */
export function parseModulesDep(text: string): ReadonlyMap<string, { readonly path: string; readonly deps: readonly string[] }> {
  const map = new Map<string, { readonly path: string; readonly deps: readonly string[] }>();
  for (const line of text.split('\n')) {
    const m = /^(\S+\.ko(?:\.[a-z]+)?):\s*(.*)$/.exec(line);
    if (m?.[1] === undefined) continue;
    const deps = (m[2] ?? '').split(/\s+/).filter((d) => d !== '');
    map.set(moduleName(m[1]), { path: m[1], deps });
  }
  return map;
}

function moduleName(path: string): string {
  return (path.split('/').at(-1) ?? path).replace(/\.ko(\.[a-z]+)?$/, '').replace(/-/g, '_');
}

/** The wanted modules that exist as files plus everything they depend on, each path once. */
export function moduleClosure(
  dep: ReadonlyMap<string, { readonly path: string; readonly deps: readonly string[] }>,
  wanted: readonly string[],
): readonly string[] {
  const byPath = new Map<string, readonly string[]>();
  for (const v of dep.values()) byPath.set(v.path, v.deps);
  const out = new Set<string>();
  const visit = (path: string): void => {
    if (out.has(path)) return;
    out.add(path);
    for (const d of byPath.get(path) ?? []) visit(d);
  };
  for (const w of wanted) {
    const e = dep.get(w.replace(/-/g, '_'));
    if (e !== undefined) visit(e.path);
  }
  return [...out].sort();
}

async function readModulesDep(modulesRoot: string, release: string): Promise<string> {
  const file = join(modulesRoot, 'lib/modules', release, 'modules.dep');
  if (await exists(file)) return readFile(file, 'utf8');
  // A user's tree may lack it; depmod -n prints what it would write without touching the tree.
  const r = await tool('depmod', ['-n', '-b', modulesRoot, release], 'kmod');
  if (!r.ok) throw guestError(`depmod -n -b ${modulesRoot} ${release} failed: ${stderrExcerpt(r.stderr)}`);
  return r.stdout;
}

async function decompressModule(path: string): Promise<{ readonly name: string; readonly data: Uint8Array }> {
  if (path.endsWith('.ko')) return { name: path, data: await readFile(path) };
  const name = path.replace(/\.ko\.[a-z]+$/, '.ko');
  if (path.endsWith('.gz')) return { name, data: gunzipSync(await readFile(path)) };
  const [cmd, pkg] = path.endsWith('.xz') ? ['xz', 'xz-utils'] : path.endsWith('.zst') ? ['zstd', 'zstd'] : [undefined, undefined];
  if (cmd === undefined) throw guestError(`module ${path}: unknown compression`);
  // busybox modprobe may not read compressed modules, and node has no xz: use the tool.
  try {
    const r = await execa(cmd, ['-dc', path], { encoding: 'buffer', stdin: 'ignore' });
    return { name, data: r.stdout };
  } catch (e: unknown) {
    if (e instanceof ExecaError && e.code === 'ENOENT') throw guestError(`${cmd} not found (apt-get install ${pkg})`, e);
    const stderr = e instanceof ExecaError ? String(e.stderr) : String(e);
    throw guestError(`${cmd} -dc ${path} failed: ${stderrExcerpt(stderr)}`, e);
  }
}

async function moduleGuestFiles(kernel: KernelArtifacts): Promise<{ readonly inputs: readonly GuestFile[]; readonly notModules: readonly string[] }> {
  if (kernel.modulesRoot === undefined) return { inputs: [], notModules: GUEST_MODULES };
  const relDir = join('lib/modules', kernel.release);
  const srcDir = join(kernel.modulesRoot, relDir);
  const dep = parseModulesDep(await readModulesDep(kernel.modulesRoot, kernel.release));
  const paths = moduleClosure(dep, GUEST_MODULES);
  const notModules = GUEST_MODULES.filter((m) => !dep.has(m));
  const inputs: GuestFile[] = [];
  for (const p of paths) {
    inputs.push({ dest: '/' + join(relDir, p), mode: 0o644, data: await readFile(join(srcDir, p)) });
  }
  // modules.builtin lets modprobe answer "built in" instead of "not found".
  for (const f of ['modules.builtin', 'modules.builtin.modinfo']) {
    if (await exists(join(srcDir, f))) inputs.push({ dest: '/' + join(relDir, f), mode: 0o644, data: await readFile(join(srcDir, f)) });
  }
  return { inputs, notModules };
}

/** Decompresses staged modules and runs depmod on them, returning the files of the final modules dir. */
async function stageModules(inputs: readonly GuestFile[], release: string): Promise<readonly GuestFile[]> {
  if (inputs.length === 0) return [];
  const stage = await mkdtemp(join(tmpdir(), 'ramoops-guest-modules-'));
  try {
    const relDir = join('lib/modules', release);
    for (const i of inputs) {
      const p = join(stage, i.dest);
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, i.data);
      if (/\.ko\.[a-z]+$/.test(p)) {
        const d = await decompressModule(p);
        await writeFile(d.name, d.data);
        await rm(p);
      }
    }
    const r = await tool('depmod', ['-b', stage, release], 'kmod');
    if (!r.ok) throw guestError(`depmod -b ${stage} ${release} failed: ${stderrExcerpt(r.stderr)}`);
    const out: GuestFile[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const ent of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, ent.name);
        if (ent.isDirectory()) await walk(p);
        else out.push({ dest: '/' + relative(stage, p), mode: 0o644, data: await readFile(p) });
      }
    };
    await walk(join(stage, relDir));
    return out;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

async function guestScripts(): Promise<readonly GuestFile[]> {
  const dir = await guestDir();
  const inputs: GuestFile[] = [];
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    if (!ent.isFile()) continue;
    const p = join(dir, ent.name);
    const executable = ((await stat(p)).mode & 0o111) !== 0 || ent.name === 'init';
    // /init is what the kernel runs from an initramfs; other helpers sit where SSH commands find them.
    inputs.push({ dest: ent.name === 'init' ? '/init' : `/usr/lib/ramoops-harness/${ent.name}`, mode: executable ? 0o755 : 0o644, data: await readFile(p) });
  }
  return inputs;
}

async function busyboxApplets(): Promise<readonly string[]> {
  const r = await tool(GUEST_BINARIES.busybox.path, ['--list-full'], GUEST_BINARIES.busybox.pkg);
  if (!r.ok) throw guestError(`${GUEST_BINARIES.busybox.path} --list-full failed: ${stderrExcerpt(r.stderr)}`);
  const applets = r.stdout.split('\n').filter((l) => l !== '' && l !== 'linuxrc');
  const names = new Set(applets.map((a) => a.split('/').at(-1)));
  const lacking = REQUIRED_APPLETS.filter((a) => !names.has(a));
  if (lacking.length > 0) throw guestError(`${GUEST_BINARIES.busybox.path} lacks applets: ${lacking.join(', ')}`);
  return applets;
}

const enc = new TextEncoder();

/** Small files made here rather than copied: the root user dropbear logs in as. */
function etcGuestFiles(): readonly GuestFile[] {
  return [
    { dest: '/etc/passwd', mode: 0o644, data: enc.encode('root:x:0:0:root:/root:/bin/sh\n') },
    { dest: '/etc/group', mode: 0o644, data: enc.encode('root:x:0:\ntty:x:5:\n') },
    // dropbear refuses users whose shell is not listed here.
    { dest: '/etc/shells', mode: 0o644, data: enc.encode('/bin/sh\n') },
  ];
}

/** Directories with modes that matter: sshd checks /root and /root/.ssh are private. */
const FIXED_DIRS: readonly (readonly [string, number])[] = [
  ['/dev', 0o755],
  ['/proc', 0o555],
  ['/sys', 0o555],
  ['/tmp', 0o1777],
  ['/root', 0o700],
  ['/root/.ssh', 0o700],
  ['/etc/dropbear', 0o700],
  ['/var/log', 0o755],
  ['/var/run', 0o755],
  ['/mnt', 0o755],
];

/** Every directory an archive needs, parents first: the kernel's unpacker creates none by itself. */
function directoryEntries(paths: readonly string[]): readonly CpioEntry[] {
  const fixed = new Map(FIXED_DIRS);
  const dirs = new Set<string>();
  for (const p of [...paths, ...fixed.keys()]) {
    const parts = p.split('/').filter((s) => s !== '');
    for (let i = 1; i <= parts.length; i++) {
      const d = '/' + parts.slice(0, i).join('/');
      if (i < parts.length || fixed.has(d)) dirs.add(d);
    }
  }
  return [...dirs].sort().map((d) => ({ type: 'dir' as const, path: d, mode: fixed.get(d) ?? 0o755 }));
}

/** The archive's entries in a fixed order, so equal inputs give equal bytes. */
export function imageEntries(files: readonly GuestFile[], applets: readonly string[]): readonly CpioEntry[] {
  const busybox = GUEST_BINARIES.busybox.path;
  const fileMap = new Map<string, GuestFile>();
  for (const f of files) fileMap.set(f.dest, f);
  const links = applets.map((a) => '/' + a).filter((a) => a !== busybox && !fileMap.has(a));
  const dirs = directoryEntries([...fileMap.keys(), ...links, '/dev/console']);
  const rest: CpioEntry[] = [
    // The kernel opens /dev/console for init's stdio before init can mount devtmpfs.
    { type: 'chardev', path: '/dev/console', mode: 0o600, major: 5, minor: 1 },
    ...[...fileMap.values()].map((f) => ({ type: 'file' as const, path: f.dest, mode: f.mode, data: f.data })),
    ...links.map((l) => ({ type: 'symlink' as const, path: l, target: busybox })),
  ];
  rest.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return [...dirs, ...rest];
}

/** The userland of an image: busybox, dropbear(key) and their libraries, and busybox's applet links. */
interface Userland {
  readonly files: readonly GuestFile[];
  /** Applet paths without the leading slash, as `busybox --list-full` prints them. */
  readonly applets: readonly string[];
}

async function hostUserland(): Promise<Userland> {
  const [busybox, dropbear, dropbearkey, applets] = await Promise.all([
    binaryWithLibs(GUEST_BINARIES.busybox.path, GUEST_BINARIES.busybox.pkg, 0o755),
    binaryWithLibs(GUEST_BINARIES.dropbear.path, GUEST_BINARIES.dropbear.pkg, 0o755),
    binaryWithLibs(GUEST_BINARIES.dropbearkey.path, GUEST_BINARIES.dropbearkey.pkg, 0o755),
    busyboxApplets(),
  ]);
  return { files: [...busybox, ...dropbear, ...dropbearkey], applets };
}

/**
 * The applet names compiled into a busybox binary, from its `applet_names` table: the sorted,
 * NUL-separated names starting "[", "[[" (busybox's applet_tables.h), ending with an empty name.
 * What `busybox --list` prints, without running the binary.
 */
export function busyboxAppletNames(binary: Uint8Array): readonly string[] {
  const buf = Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength);
  const start = buf.indexOf(Buffer.from('\0[\0[[\0', 'latin1'));
  if (start < 0) throw guestError('busybox has no applet name table (no "[", "[[" entries): not a busybox binary?');
  const names: string[] = [];
  let at = start + 1;
  for (;;) {
    const end = buf.indexOf(0, at);
    if (end < 0 || end === at) break;
    const name = buf.toString('latin1', at, end);
    if (!/^[\w.\-[\]]+$/.test(name) || names.length > 2000)
      throw guestError(`busybox applet table holds ${JSON.stringify(name.slice(0, 40))}: not an applet name`);
    names.push(name);
    at = end + 1;
  }
  return names;
}

/**
 * `rel` inside a package tree with its symlinks followed inside that tree: an absolute link
 * target means the tree's root, not the host's (the host's /lib is x86). undefined when absent.
 */
async function resolveInTree(root: string, rel: string): Promise<string | undefined> {
  let parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  for (let hops = 0; parts.length > 0;) {
    const part = parts.shift() ?? '';
    if (part === '..') {
      done.pop();
      continue;
    }
    const p = join(root, ...done, part);
    let st: Stats;
    try {
      st = await lstat(p);
    } catch {
      return undefined;
    }
    if (!st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++hops > 40) throw guestError(`too many symlinks resolving ${rel} in ${root}`);
    const target = await readlink(p);
    const tparts = target.split('/').filter((x) => x !== '' && x !== '.');
    if (target.startsWith('/')) done.length = 0;
    parts = [...tparts, ...parts];
  }
  return join(root, ...done);
}

/** A foreign guest architecture's Debian userland: which packages, where its loader looks, its ELF machine. */
interface ForeignUserland {
  /** Debian's name of the architecture (apt-get download pkg:ARCH). */
  readonly debArch: string;
  /** Where the glibc loader looks for libraries by default (Debian multiarch). */
  readonly libDirs: readonly string[];
  /** Where the image puts them: a default search directory of the guest's loader (no ld.so.cache needed). */
  readonly guestLibDir: string;
  readonly elfMachine: number;
  readonly elfName: string;
}

const FOREIGN_USERLANDS: Readonly<Record<'arm64' | 'arm', ForeignUserland>> = {
  arm64: {
    debArch: 'arm64',
    libDirs: ['lib/aarch64-linux-gnu', 'usr/lib/aarch64-linux-gnu', 'lib', 'usr/lib'],
    guestLibDir: '/lib/aarch64-linux-gnu',
    elfMachine: EM_AARCH64,
    elfName: 'AArch64',
  },
  // armhf: 32-bit ARM, hard-float EABI (the loader is /lib/ld-linux-armhf.so.3).
  arm: {
    debArch: 'armhf',
    libDirs: ['lib/arm-linux-gnueabihf', 'usr/lib/arm-linux-gnueabihf', 'lib', 'usr/lib'],
    guestLibDir: '/lib/arm-linux-gnueabihf',
    elfMachine: EM_ARM,
    elfName: '32-bit ARM',
  },
};

async function foreignUserland(opts: GuestImageOptions, arch: 'arm64' | 'arm'): Promise<Userland> {
  const { debArch, libDirs, guestLibDir, elfMachine, elfName } = FOREIGN_USERLANDS[arch];
  const trees = await fetchDebs(ARM64_USERLAND_PACKAGES, debArch, { cacheDir: opts.cacheDir, signal: opts.signal, log: opts.log });
  const tree = (pkg: string): DebTree => {
    const t = trees.find((x) => x.pkg === pkg);
    if (t === undefined) throw guestError(`${debArch} package ${pkg} was not fetched`);
    return t;
  };
  const fromTree = async (t: DebTree, rel: string): Promise<Uint8Array> => {
    const p = await resolveInTree(t.root, rel);
    if (p === undefined) throw guestError(`${debArch} package ${t.pkg} ${t.version} has no ${rel}`);
    return readFile(p);
  };
  const wanted: readonly (readonly [string, string, string])[] = [
    ['busybox-static', 'bin/busybox', GUEST_BINARIES.busybox.path],
    ['dropbear-bin', 'usr/sbin/dropbear', GUEST_BINARIES.dropbear.path],
    ['dropbear-bin', 'usr/bin/dropbearkey', GUEST_BINARIES.dropbearkey.path],
  ];
  const files = new Map<string, GuestFile>();
  const queue: { readonly dest: string; readonly data: Uint8Array; readonly what: string }[] = [];
  for (const [pkg, rel, dest] of wanted) {
    const data = await fromTree(tree(pkg), rel);
    queue.push({ dest, data, what: `${pkg}:${debArch} ${rel}` });
  }
  const findLib = async (name: string): Promise<Uint8Array | undefined> => {
    for (const t of trees) {
      for (const d of libDirs) {
        const p = await resolveInTree(t.root, `${d}/${name}`);
        if (p !== undefined) return readFile(p);
      }
    }
    return undefined;
  };
  let loader: string | undefined;
  // The NEEDED closure: libtomcrypt needs libgmp, and so on.
  while (queue.length > 0) {
    const item = queue.shift();
    if (item === undefined || files.has(item.dest)) continue;
    const info = elfDynamicInfo(item.data, item.what);
    if (info.machine !== elfMachine) throw guestError(`${item.what} is not a ${elfName} ELF file (e_machine ${info.machine})`);
    files.set(item.dest, { dest: item.dest, mode: 0o755, data: item.data });
    if (info.interpreter !== undefined && loader === undefined) {
      loader = info.interpreter;
      const rel = info.interpreter.replace(/^\/+/, '');
      let data: Uint8Array | undefined;
      for (const t of trees) {
        const p = await resolveInTree(t.root, rel);
        if (p !== undefined) {
          data = await readFile(p);
          break;
        }
      }
      if (data === undefined)
        throw guestError(`${item.what} needs the loader ${info.interpreter}, which no fetched ${debArch} package has (${ARM64_USERLAND_PACKAGES.join(', ')})`);
      queue.push({ dest: info.interpreter, data, what: info.interpreter });
    }
    for (const soname of info.needed) {
      // The loader is already in the process; the copy at its own path serves that NEEDED.
      if (loader !== undefined && soname === loader.split('/').at(-1)) continue;
      const dest = `${guestLibDir}/${soname}`;
      if (files.has(dest) || queue.some((q) => q.dest === dest)) continue;
      const data = await findLib(soname);
      if (data === undefined) {
        throw guestError(
          `${item.what} needs ${soname}, which none of the fetched ${debArch} packages has (${ARM64_USERLAND_PACKAGES.join(', ')}): add its package to ARM64_USERLAND_PACKAGES`,
        );
      }
      queue.push({ dest, data, what: `${soname} (${debArch})` });
    }
  }
  const busybox = files.get(GUEST_BINARIES.busybox.path);
  if (busybox === undefined) throw guestError(`${debArch} busybox missing from the image`);
  const names = busyboxAppletNames(busybox.data);
  const lacking = REQUIRED_APPLETS.filter((a) => !names.includes(a));
  if (lacking.length > 0) throw guestError(`${debArch} busybox lacks applets: ${lacking.join(', ')}`);
  // busybox's install locations are not in its name table; /bin is on init's PATH for all.
  return { files: [...files.values()], applets: names.map((n) => `bin/${n}`) };
}

/** Builds (or finds in the cache) the initramfs for a kernel and returns the path of its .cpio.gz. */
export async function buildGuestImage(kernel: KernelArtifacts, opts: GuestImageOptions = {}): Promise<string> {
  const log = opts.log ?? (() => undefined);
  const imagesDir = join(opts.cacheDir ?? defaultCacheDir(), 'images');

  const [scripts, userland, mods] = await Promise.all([
    guestScripts(),
    opts.arch === 'arm64' || opts.arch === 'arm' ? foreignUserland(opts, opts.arch) : hostUserland(),
    moduleGuestFiles(kernel),
  ]);
  const applets = userland.applets;
  const modules = mods.inputs;
  const copied = [...scripts, ...userland.files, ...etcGuestFiles()];

  // The key covers every input byte and this builder's own code, so editing guest/init, an
  // apt upgrade of busybox or a new kernel each give a new image, and nothing else does.
  const h = createHash('sha256');
  h.update(IMAGE_FORMAT + '\0' + kernel.release + '\0');
  for (const self of [import.meta.url, new URL('./cpio.js', import.meta.url).href]) h.update(await readFile(fileURLToPath(self)));
  for (const i of [...copied, ...modules].sort((a, b) => (a.dest < b.dest ? -1 : 1))) {
    h.update(`${i.dest}\0${i.mode}\0${i.data.length}\0`);
    h.update(i.data);
  }
  h.update(applets.join('\n'));
  const key = h.digest('hex').slice(0, 24);
  const imagePath = join(imagesDir, `initramfs-${kernel.release}-${key}.cpio.gz`);
  if (await exists(imagePath)) {
    log(`guest: image ${imagePath} (cached)`);
    return imagePath;
  }

  if (mods.notModules.length > 0) {
    log(`guest: not modules in ${kernel.release} (built in or absent): ${mods.notModules.join(', ')}`);
  }
  log(`guest: building initramfs for ${kernel.release} (${modules.filter((m) => /\.ko/.test(m.dest)).length} modules)`);
  const staged = await stageModules(modules, kernel.release);
  const archive = writeCpio(imageEntries([...copied, ...staged], applets));
  const gz = gzipCpio(archive, 9);
  await mkdir(imagesDir, { recursive: true });
  // Write then rename: a reader never sees half an image, and parallel builders agree on bytes.
  const tmp = `${imagePath}.tmp-${process.pid}-${Date.now()}`;
  try {
    await writeFile(tmp, gz);
    await rename(tmp, imagePath);
  } finally {
    await rm(tmp, { force: true });
  }
  log(`guest: image ${imagePath} (${(gz.length / 1048576).toFixed(1)} MiB, ${(archive.length / 1048576).toFixed(1)} MiB unpacked)`);
  return imagePath;
}
