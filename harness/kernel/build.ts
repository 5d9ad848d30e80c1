// Builds a small x86_64 kernel for the harness: tinyconfig plus the fragments in kernel-configs/
// (merged by the kernel's own scripts/kconfig/merge_config.sh), everything built in. Debian's
// stock kernels lack the pstore console, pmsg and ftrace front ends, every compressor but
// deflate, and LKDTM; a custom build has them all and boots in about two seconds.
//
// Sources: Debian's linux-source-6.1 / linux-source-6.12 packages (the tarball under /usr/src,
// unpacked once into the cache) or a user's kernel tree (built out of tree, never written to).
// Results are cached by (source version, the fragments' bytes): a second request is a lookup.

import { execa, ExecaError } from 'execa';
import { runTool } from '../proc/tool.js';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { cacheDir as defaultCacheDir } from '../io/cache-dir.js';
import { projectDir } from '../io/project-dir.js';
import { HarnessError, stderrExcerpt } from '../errors.js';
import { cacheEntryNames, withLock } from '../io/lock.js';
import type { KernelArtifacts } from './artifacts.js';

/** The Debian source packages `--source` can name. */
export const DEBIAN_SOURCES = {
  'debian-6.1': 'linux-source-6.1',
  'debian-6.12': 'linux-source-6.12',
} as const;

/** A `--source` value that names a Debian package rather than a directory. */
export type DebianSource = keyof typeof DEBIAN_SOURCES;

/** The fragments a build uses when none are named: what `ramoops run` needs plus every pstore feature. */
export const DEFAULT_CONFIGS: readonly string[] = ['base', 'pstore-full'];

/** The source a build uses when none is named. */
export const DEFAULT_SOURCE: DebianSource = 'debian-6.1';

/** What a running build reports; `compiled` counts the compiler and assembler steps seen so far. */
export interface BuildProgress {
  readonly phase: 'tools' | 'source' | 'config' | 'compile';
  readonly compiled: number;
  /** The file the build is working on (the last `CC foo.o` line), during 'compile'. */
  readonly current: string | undefined;
  readonly elapsedMs: number;
}

/** An option a fragment asked for that the final .config does not have. */
export interface MissingOption {
  readonly name: string;
  readonly wanted: string;
  /** The final .config's value; undefined when the option is not in it at all. */
  readonly got: string | undefined;
  /** 'unknown': no Kconfig of this tree defines it (the version lacks it); 'unmet': defined, but its dependencies or a choice left it off. */
  readonly reason: 'unknown' | 'unmet';
  /** The fragment that asked for it. */
  readonly fragment: string;
}

/** A built (or cached) kernel: what obtainKernel returns, plus what the build found. */
export interface BuiltKernel extends KernelArtifacts {
  readonly configPath: string;
  readonly systemMapPath: string;
  /** Requested options the kernel did not take: reported, not fatal. */
  readonly missing: readonly MissingOption[];
  /** True when the image came from the cache without running make. */
  readonly cached: boolean;
  /** Wall time of this call's configure + compile, 0 for a cache hit. */
  readonly buildSeconds: number;
  /** The kernel version of the source tree, e.g. 6.1.192, and its package version for Debian sources. */
  readonly sourceVersion: string;
}

/** The architectures a build can target: x86_64 natively, arm64 with Debian's cross compiler. */
export type BuildArch = 'x86_64' | 'arm64';

/** Per architecture: kbuild's ARCH, the cross-compiler prefix, the boot image target and where make puts it. */
const ARCHES: Readonly<Record<BuildArch, { readonly make: string; readonly cross: string | undefined; readonly target: string; readonly image: string }>> = {
  x86_64: { make: 'x86_64', cross: undefined, target: 'bzImage', image: 'arch/x86/boot/bzImage' },
  // QEMU's -kernel boots the uncompressed arm64 Image (the one with the "ARM\x64" header).
  arm64: { make: 'arm64', cross: 'aarch64-linux-gnu-', target: 'Image', image: 'arch/arm64/boot/Image' },
};

/** Options of buildKernel; every field may be left out. */
export interface BuildKernelOptions {
  /** Target architecture (default x86_64); arm64 cross-compiles with gcc-aarch64-linux-gnu. */
  readonly arch?: BuildArch;
  /** 'debian-6.1' (default), 'debian-6.12' or a kernel source directory. */
  readonly source?: string;
  /** Fragment names in kernel-configs/ or paths to fragment files, merged in this order (later ones win). */
  readonly configs?: readonly string[];
  readonly cacheDir?: string;
  /** make -j; default: the CPUs this process may use. */
  readonly jobs?: number;
  /**
   * Scheduling priority of the compile. Default 10: the harness boots TCG guests with serial
   * timeouts while it builds (a matrix does both at once), and a starved guest misses them.
   */
  readonly niceness?: number;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
  readonly onProgress?: (p: BuildProgress) => void;
}

// Bump when the build recipe changes in a way that changes the image, so old cache entries
// are not taken for new ones.
const RECIPE = 'tinyconfig+merge_config -m+olddefconfig+bzImage/1';

// Appended to every build, after the user's fragments: gcc 12 warns about code in older trees
// that was clean for the compilers of their day, and CONFIG_WERROR (5.15+) would make that
// fatal. (WERROR=0 on the make command line does the same for tools/objtool in 5.10.)
const ALWAYS = '# harness: warnings must not fail the build of an older tree with a newer gcc\n# CONFIG_WERROR is not set\n';

/**
 * Fragments a tree needs to build with Debian 12's binutils, found by reading the tree. objtool
 * before "objtool: Don't fail on missing symbol table" (upstream 5.11; in 4.19.y only from late
 * point releases) stops the build at the empty arch/x86/entry/thunk_64.o that binutils 2.36+
 * writes without a symbol table: such trees get the frame-pointer unwinder, which runs no objtool.
 */
export async function treeFixups(dir: string): Promise<Fragment[]> {
  const elf = await readFile(join(dir, 'tools/objtool/elf.c'), 'utf8').catch(() => '');
  if (!/WARN\("missing symbol table"\);\s*return -1;/.test(elf)) return [];
  return [
    {
      name: 'harness-old-objtool',
      text:
        "# harness: this tree's objtool fails on an empty object without a symbol table (thunk_64.o with\n" +
        '# binutils 2.36+): the frame-pointer unwinder needs no objtool\n' +
        '# CONFIG_UNWINDER_ORC is not set\n' +
        'CONFIG_UNWINDER_FRAME_POINTER=y\n' +
        '# CONFIG_STACK_VALIDATION is not set\n',
    },
  ];
}

/** The tools a kernel build runs, and the Debian package of each. */
const BUILD_TOOLS: readonly { readonly pkg: string; readonly command?: string; readonly file?: string }[] = [
  { pkg: 'gcc', command: 'gcc' },
  { pkg: 'make', command: 'make' },
  { pkg: 'libc6-dev', file: '/usr/include/stdio.h' },
  { pkg: 'flex', command: 'flex' },
  { pkg: 'bison', command: 'bison' },
  { pkg: 'bc', command: 'bc' },
  { pkg: 'cpio', command: 'cpio' },
  { pkg: 'xz-utils', command: 'xz' },
  { pkg: 'kmod', command: 'depmod' },
  { pkg: 'perl', command: 'perl' },
  // objtool (x86_64's ORC unwinder) links against libelf.
  { pkg: 'libelf-dev', file: '/usr/include/libelf.h' },
  // scripts/sign-file and certs/ include OpenSSL headers in configs that sign or trust keys.
  { pkg: 'libssl-dev', file: '/usr/include/openssl/opensslv.h' },
];

function hasCommand(cmd: string): boolean {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  return dirs.some((d) => d !== '' && existsSync(join(d, cmd)));
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function exec(cmd: string, args: readonly string[], opts: BuildKernelOptions, cwd?: string): Promise<string> {
  return runTool(cmd, args, { signal: opts.signal, cwd, longOutput: true });
}

/** Installs Debian packages with apt-get (root only), updating the package lists once if apt knows none of them. */
async function aptInstall(pkgs: readonly string[], why: string, opts: BuildKernelOptions): Promise<void> {
  if (!isRoot()) {
    throw new HarnessError(
      'kernel',
      `${why} needs the Debian packages ${pkgs.join(' ')}: run as root, or install them with: sudo apt-get install ${pkgs.join(' ')}`,
    );
  }
  opts.log?.(`kernel build: apt-get install ${pkgs.join(' ')} (${why})`);
  const args = ['install', '-y', '-qq', '--no-install-recommends', ...pkgs];
  try {
    await exec('apt-get', args, opts);
  } catch (e: unknown) {
    if (!(e instanceof HarnessError) || !/Unable to locate|has no installation candidate/.test(e.message)) throw e;
    opts.log?.('kernel build: apt knows no such package; running apt-get update');
    await exec('apt-get', ['update', '-qq'], opts);
    await exec('apt-get', args, opts);
  }
}

/** What a cross build needs beyond BUILD_TOOLS. */
const CROSS_TOOLS: Readonly<Record<BuildArch, readonly { readonly pkg: string; readonly command?: string; readonly file?: string }[]>> = {
  x86_64: [],
  arm64: [{ pkg: 'gcc-aarch64-linux-gnu', command: 'aarch64-linux-gnu-gcc' }],
};

/** Makes sure the compiler and the kernel's host tools are present, installing the missing ones when root. */
export async function ensureBuildTools(opts: BuildKernelOptions = {}): Promise<void> {
  const missing = [...BUILD_TOOLS, ...CROSS_TOOLS[opts.arch ?? 'x86_64']]
    .filter((t) => (t.command !== undefined ? !hasCommand(t.command) : !existsSync(t.file ?? '')))
    .map((t) => t.pkg);
  if (missing.length > 0) await aptInstall(missing, 'building a kernel', opts);
}

// ---------------------------------------------------------------------------------------------
// Fragments

/** A fragment's name (for messages and the cache key) and its text. */
export interface Fragment {
  readonly name: string;
  readonly text: string;
}

/** Finds kernel-configs/ whether we run from dist/ (compiled) or from the sources. */
export function kernelConfigsDir(): string {
  return projectDir('kernel-configs');
}

/** Reads fragments by name (kernel-configs/NAME) or path (anything with a slash). */
export async function readFragments(names: readonly string[]): Promise<readonly Fragment[]> {
  if (names.length === 0) throw new HarnessError('kernel', 'no config fragments named (e.g. --config base,pstore-full)');
  const out: Fragment[] = [];
  for (const n of names) {
    const isPath = n.includes('/');
    if (!isPath && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(n))
      throw new HarnessError('kernel', `config fragment name ${JSON.stringify(n)} is neither a name in kernel-configs/ nor a path`);
    const file = isPath ? resolve(n) : join(kernelConfigsDir(), n);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      const known = isPath ? [] : (await readdir(kernelConfigsDir())).filter((f) => !f.startsWith('.')).sort();
      throw new HarnessError(
        'kernel',
        `config fragment ${JSON.stringify(n)} not found (${file})${known.length > 0 ? `; kernel-configs/ has: ${known.join(', ')}` : ''}`,
      );
    }
    out.push({ name: isPath ? basename(file) : n, text });
  }
  return out;
}

/** The `CONFIG_X=value` and `# CONFIG_X is not set` lines of a fragment or .config, as name -> value ('n' for "not set"). */
export function parseConfigLines(text: string): ReadonlyMap<string, string> {
  const m = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set?.[1] !== undefined) {
      m.set(set[1], set[2] ?? '');
      continue;
    }
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset?.[1] !== undefined) m.set(unset[1], 'n');
  }
  return m;
}

/**
 * The requested options the final .config does not match. Asking for `n` is met by absence
 * too (Kconfig leaves invisible options out), so only other values can be missing.
 */
export function missingOptions(fragments: readonly Fragment[], finalConfig: string, definedSymbols: ReadonlySet<string> | undefined): readonly MissingOption[] {
  const final = parseConfigLines(finalConfig);
  const wanted = new Map<string, { value: string; fragment: string }>();
  for (const f of fragments) for (const [k, v] of parseConfigLines(f.text)) wanted.set(k, { value: v, fragment: f.name });
  const out: MissingOption[] = [];
  for (const [name, w] of wanted) {
    const got = final.get(name);
    if (w.value === 'n' ? got === undefined || got === 'n' : got === w.value) continue;
    const reason = definedSymbols === undefined || definedSymbols.has(name.slice('CONFIG_'.length)) ? 'unmet' : 'unknown';
    out.push({ name, wanted: w.value, got, reason, fragment: w.fragment });
  }
  return out;
}

/** Every symbol a tree's Kconfig files define (`config X` / `menuconfig X`). */
async function kconfigSymbols(srcDir: string, skip: string): Promise<ReadonlySet<string>> {
  const syms = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.git' && p !== skip) await walk(p);
      } else if (e.name.startsWith('Kconfig')) {
        for (const m of (await readFile(p, 'utf8')).matchAll(/^\s*(?:menu)?config\s+([A-Za-z0-9_]+)\s*$/gm)) if (m[1] !== undefined) syms.add(m[1]);
      }
    }
  };
  await walk(srcDir);
  return syms;
}

// ---------------------------------------------------------------------------------------------
// Sources

interface SourceTree {
  readonly dir: string;
  /** For the cache key: package + version for Debian, the real path + kernel version for a user's tree. */
  readonly id: string;
  readonly kernelVersion: string;
  /** Debian sources never change under a version, so their builds can be cached for good. */
  readonly immutable: boolean;
  readonly label: string;
}

function isDebianSource(s: string): s is DebianSource {
  return Object.hasOwn(DEBIAN_SOURCES, s);
}

async function installedVersion(pkg: string, opts: BuildKernelOptions): Promise<string | undefined> {
  try {
    const out = await exec('dpkg-query', ['-W', '-f', '${db:Status-Abbrev}|${Version}', pkg], opts);
    const [status, version] = out.split('|');
    return status?.startsWith('ii') === true && version !== undefined && version !== '' ? version : undefined;
  } catch {
    return undefined;
  }
}

function safeKey(s: string): string {
  return s.replace(/[^A-Za-z0-9.+~_-]/g, '_');
}

async function debianSource(src: DebianSource, cache: string, opts: BuildKernelOptions): Promise<SourceTree> {
  const log = opts.log ?? (() => undefined);
  const pkg = DEBIAN_SOURCES[src];
  let version = await installedVersion(pkg, opts);
  if (version === undefined) {
    await aptInstall([pkg], `--source ${src}`, opts);
    version = await installedVersion(pkg, opts);
    if (version === undefined) throw new HarnessError('kernel', `apt-get install ${pkg} succeeded but dpkg does not list it as installed`);
  }
  const tarball = `/usr/src/${pkg}.tar.xz`;
  if (!existsSync(tarball))
    throw new HarnessError('kernel', `${pkg} ${version} is installed but ${tarball} is missing (reinstall it: apt-get install --reinstall ${pkg})`);
  const srcRoot = join(cache, 'kernel-src');
  await mkdir(srcRoot, { recursive: true });
  const dir = join(srcRoot, safeKey(`${pkg}_${version}`));
  const ready = (): boolean => existsSync(join(dir, 'Makefile')) && existsSync(join(dir, '.unpacked'));
  if (!ready()) {
    await withLock(
      `${dir}.lock`,
      { ...opts, stage: 'kernel' },
      async () => {
        if (ready()) return;
        opts.onProgress?.({ phase: 'source', compiled: 0, current: undefined, elapsedMs: 0 });
        log(`kernel build: unpacking ${tarball} (${pkg} ${version}) into ${dir}`);
        // Unpack beside the final place and rename at the end, so an interrupted run never
        // leaves a half tree that a later one would trust.
        const staging = await mkdtemp(join(srcRoot, `.tmp-${basename(dir)}-`));
        try {
          await exec('tar', ['-xf', tarball, '-C', staging, '--strip-components=1'], opts);
          await writeFile(join(staging, '.unpacked'), `${pkg} ${version}\n`);
          await rm(dir, { recursive: true, force: true });
          await rename(staging, dir);
        } finally {
          await rm(staging, { recursive: true, force: true });
        }
      },
      { what: `unpacking ${pkg}` },
    );
  }
  const kernelVersion = (await exec('make', ['-s', 'kernelversion'], opts, dir)).trim();
  return { dir, id: `${pkg}=${version}`, kernelVersion, immutable: true, label: `${pkg} ${version} (${kernelVersion})` };
}

/**
 * The unpacked tree of Debian's linux-source-6.1 / -6.12 (the one builds use): installed with
 * apt and unpacked into the cache on first use, a lookup afterwards.
 */
export async function debianSourceDir(src: DebianSource, opts: BuildKernelOptions = {}): Promise<string> {
  return (await debianSource(src, opts.cacheDir ?? defaultCacheDir(), opts)).dir;
}

async function userSource(path: string, opts: BuildKernelOptions): Promise<SourceTree> {
  let dir: string;
  try {
    dir = await realpath(resolve(path));
  } catch {
    throw new HarnessError('kernel', `--source ${path}: neither ${Object.keys(DEBIAN_SOURCES).join(' nor ')} nor an existing directory`);
  }
  if (!existsSync(join(dir, 'Makefile')) || !existsSync(join(dir, 'scripts/kconfig/merge_config.sh'))) {
    throw new HarnessError('kernel', `--source ${dir} is not a kernel source tree (no Makefile and scripts/kconfig/merge_config.sh)`);
  }
  // We build out of tree (O=) so the user's tree is never written; kbuild refuses that when the
  // tree itself has been configured.
  if (existsSync(join(dir, '.config')) || existsSync(join(dir, 'include/config'))) {
    throw new HarnessError(
      'kernel',
      `--source ${dir} has been configured or built in place (.config or include/config exists); the harness builds out of tree and kbuild refuses that: run 'make mrproper' there or use a clean copy`,
    );
  }
  const kernelVersion = (await exec('make', ['-s', 'kernelversion'], opts, dir)).trim();
  return { dir, id: `${dir}@${kernelVersion}`, kernelVersion, immutable: false, label: `${dir} (${kernelVersion})` };
}

// ---------------------------------------------------------------------------------------------
// The build

/** What a cache entry records about itself (paths relative to the entry). */
interface BuildMeta {
  readonly spec: string;
  readonly sourceId: string;
  readonly sourceVersion: string;
  readonly fragments: readonly string[];
  readonly release: string;
  readonly kernel: string;
  readonly systemMap: string;
  readonly config: string;
  readonly missing: readonly MissingOption[];
  readonly buildSeconds: number;
  readonly compiled: number;
}

/**
 * The cache key of a build: the source's identity and every fragment byte, in merge order, and
 * the architecture when it is not x86_64 (so x86_64 keys stay what they were before arm64).
 */
export function buildKey(sourceId: string, fragments: readonly Fragment[], arch: BuildArch = 'x86_64'): string {
  const h = createHash('sha256').update(RECIPE).update('\0').update(sourceId).update('\0').update(ALWAYS);
  for (const f of fragments) h.update('\0').update(f.name).update('\0').update(f.text);
  if (arch !== 'x86_64') h.update('\0arch\0').update(arch);
  return h.digest('hex').slice(0, 20);
}

/** The spec string obtainKernel accepts for this build: `build:<source>:<config,...>`. */
export function buildSpec(source: string, configs: readonly string[]): string {
  return `build:${source}:${configs.join(',')}`;
}

/** Parses `build:<source>[:<config,...>]`; undefined for anything else. */
export function parseBuildSpec(spec: string): { readonly source: string; readonly configs: readonly string[] } | undefined {
  if (!spec.startsWith('build:')) return undefined;
  const rest = spec.slice('build:'.length);
  // A directory source may itself contain ':'; the configs are after the last one.
  const cut = rest.lastIndexOf(':');
  const source = cut < 0 ? rest : rest.slice(0, cut);
  const configs =
    cut < 0
      ? DEFAULT_CONFIGS
      : rest
          .slice(cut + 1)
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
  return { source: source === '' ? DEFAULT_SOURCE : source, configs: configs.length === 0 ? DEFAULT_CONFIGS : configs };
}

async function readMeta(entry: string): Promise<BuildMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(join(entry, 'meta.json'), 'utf8')) as BuildMeta;
    return existsSync(join(entry, meta.kernel)) ? meta : undefined;
  } catch {
    return undefined;
  }
}

function toBuilt(entry: string, meta: BuildMeta, cached: boolean): BuiltKernel {
  return {
    kernelPath: join(entry, meta.kernel),
    modulesRoot: undefined,
    release: meta.release,
    source: meta.spec,
    systemMapPath: join(entry, meta.systemMap),
    configPath: join(entry, meta.config),
    missing: meta.missing,
    cached,
    buildSeconds: cached ? 0 : meta.buildSeconds,
    sourceVersion: meta.sourceVersion,
  };
}

/**
 * The cached x86_64 build of a Debian source with these fragments, or undefined when there is
 * none yet. Only looks: never installs, unpacks or builds anything (tests use it to skip
 * rather than start a build of half an hour).
 */
export async function findCachedBuild(opts: Pick<BuildKernelOptions, 'source' | 'configs' | 'cacheDir'> = {}): Promise<BuiltKernel | undefined> {
  const source = opts.source ?? DEFAULT_SOURCE;
  if (!isDebianSource(source)) return undefined;
  const version = await installedVersion(DEBIAN_SOURCES[source], {});
  if (version === undefined) return undefined;
  const configs = opts.configs ?? DEFAULT_CONFIGS;
  const key = buildKey(`${DEBIAN_SOURCES[source]}=${version}`, await readFragments(configs));
  const buildsDir = join(opts.cacheDir ?? defaultCacheDir(), 'kernel-builds');
  // Entries are <kernel version>-<key>; the key alone names the build.
  const names = await cacheEntryNames(buildsDir);
  for (const name of names.filter((n) => n.endsWith(`-${key}`))) {
    const meta = await readMeta(join(buildsDir, name));
    if (meta !== undefined) return toBuilt(join(buildsDir, name), { ...meta, spec: buildSpec(source, configs) }, true);
  }
  return undefined;
}

/** One line per requested option the kernel did not take, for logs and the CLI. */
export function describeMissing(m: MissingOption): string {
  const what = m.reason === 'unknown' ? 'not in this kernel version' : m.got === undefined || m.got === 'n' ? 'off (dependencies unmet)' : `is ${m.got}`;
  return `${m.name}=${m.wanted} (${m.fragment}): ${what}`;
}

/**
 * Builds (or finds in the cache) a kernel from a Debian source package or a user's tree with
 * the named fragments merged onto tinyconfig; everything built in, no modules.
 */
export async function buildKernel(opts: BuildKernelOptions = {}): Promise<BuiltKernel> {
  const log = opts.log ?? (() => undefined);
  const source = opts.source ?? DEFAULT_SOURCE;
  const configs = opts.configs ?? DEFAULT_CONFIGS;
  const cache = opts.cacheDir ?? defaultCacheDir();
  const asked = await readFragments(configs);
  const spec = buildSpec(source, configs);
  const started = Date.now();

  await ensureBuildTools(opts);
  const tree = isDebianSource(source) ? await debianSource(source, cache, opts) : await userSource(source, opts);
  // Fixes for what this tree's own build tools cannot do with today's toolchain (none for the
  // Debian sources, so their cache keys stay as they were).
  const fragments = [...asked, ...(await treeFixups(tree.dir))];
  const arch = opts.arch ?? 'x86_64';
  const key = buildKey(tree.id, fragments, arch);
  const buildsDir = join(cache, 'kernel-builds');
  await mkdir(buildsDir, { recursive: true });
  const entry = join(buildsDir, `${safeKey(tree.kernelVersion)}-${arch === 'x86_64' ? '' : `${arch}-`}${key}`);

  if (tree.immutable) {
    const hit = await readMeta(entry);
    if (hit !== undefined) {
      log(`kernel build: ${tree.label} with ${configs.join(',')}: cached, ${entry}`);
      return toBuilt(entry, { ...hit, spec }, true);
    }
  }

  return withLock(
    `${entry}.lock`,
    { ...opts, stage: 'kernel' },
    async () => {
      if (tree.immutable) {
        const theirs = await readMeta(entry);
        if (theirs !== undefined) return toBuilt(entry, { ...theirs, spec }, true);
      }
      // A user's tree keeps its object directory for incremental rebuilds; a Debian source is
      // built once per key, so its objects go once the image is saved.
      const objDir = tree.immutable ? await mkdtemp(join(buildsDir, `.obj-${basename(entry)}-`)) : `${entry}.obj`;
      try {
        const meta = await configureAndCompile(tree, fragments, objDir, spec, opts, started);
        // A cached entry of a user's tree is replaced in place: it is only ever a copy.
        const staging = await mkdtemp(join(buildsDir, `.tmp-${basename(entry)}-`));
        try {
          await copyFile(join(objDir, ARCHES[arch].image), join(staging, meta.kernel));
          await copyFile(join(objDir, 'System.map'), join(staging, 'System.map'));
          await copyFile(join(objDir, '.config'), join(staging, 'config'));
          await copyFile(join(objDir, 'harness-build.log'), join(staging, 'build.log'));
          await writeFile(join(staging, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
          await rm(entry, { recursive: true, force: true });
          await rename(staging, entry);
        } finally {
          await rm(staging, { recursive: true, force: true });
        }
        log(`kernel build: ${entry}/${meta.kernel} (release ${meta.release}, ${meta.buildSeconds.toFixed(0)} s)`);
        return toBuilt(entry, meta, false);
      } finally {
        if (tree.immutable) await rm(objDir, { recursive: true, force: true });
      }
    },
    { what: 'building this kernel', maxWaitMinutes: 90 },
  );
}

async function configureAndCompile(
  tree: SourceTree,
  fragments: readonly Fragment[],
  objDir: string,
  spec: string,
  opts: BuildKernelOptions,
  started: number,
): Promise<BuildMeta> {
  const log = opts.log ?? (() => undefined);
  const arch = ARCHES[opts.arch ?? 'x86_64'];
  const archArgs = [`ARCH=${arch.make}`, ...(arch.cross === undefined ? [] : [`CROSS_COMPILE=${arch.cross}`])];
  // Callers without a progress view (obtainKernel inside `ramoops run`) still get a sign of
  // life in their log during a build of several minutes.
  let logged = 0;
  const progress = (phase: BuildProgress['phase'], compiled = 0, current: string | undefined = undefined): void => {
    const elapsedMs = Date.now() - started;
    if (opts.onProgress !== undefined) opts.onProgress({ phase, compiled, current, elapsedMs });
    else if (compiled >= logged + 250) {
      logged = compiled;
      log(`kernel build: ${compiled} files compiled, ${Math.round(elapsedMs / 1000)} s (${current ?? ''})`);
    }
  };
  await mkdir(objDir, { recursive: true });
  const logFile = join(objDir, 'harness-build.log');
  const transcript: string[] = [];
  const make = async (args: readonly string[]): Promise<string> => {
    const full = ['-C', tree.dir, `O=${objDir}`, ...archArgs, ...args];
    transcript.push(`$ make ${full.join(' ')}`);
    const out = await exec('make', full, opts);
    transcript.push(out);
    return out;
  };

  progress('config');
  log(`kernel build: ${tree.label}${opts.arch === 'arm64' ? ' for arm64' : ''}: tinyconfig + ${fragments.map((f) => f.name).join(' + ')}`);
  await make(['tinyconfig']);
  // merge_config.sh reads files: keep what was merged next to the objects, numbered in order.
  const fragDir = join(objDir, 'harness-fragments');
  await mkdir(fragDir, { recursive: true });
  const all = [...fragments, { name: 'harness-always', text: ALWAYS }];
  const files: string[] = [];
  for (const [i, f] of all.entries()) {
    const file = join(fragDir, `${String(i).padStart(2, '0')}-${safeKey(f.name)}`);
    await writeFile(file, f.text);
    files.push(file);
  }
  const mergeArgs = ['-m', '-O', objDir, join(objDir, '.config'), ...files];
  transcript.push(`$ scripts/kconfig/merge_config.sh ${mergeArgs.join(' ')}`);
  transcript.push(await exec(join(tree.dir, 'scripts/kconfig/merge_config.sh'), mergeArgs, opts, tree.dir));
  await make(['olddefconfig']);

  const finalConfig = await readFile(join(objDir, '.config'), 'utf8');
  let missing = missingOptions(all, finalConfig, undefined);
  if (missing.length > 0) missing = missingOptions(all, finalConfig, await kconfigSymbols(tree.dir, objDir));
  for (const m of missing) log(`kernel build: note: ${describeMissing(m)}`);

  const jobs = opts.jobs ?? availableParallelism();
  const niceness = opts.niceness ?? 10;
  const compileArgs = ['-C', tree.dir, `O=${objDir}`, ...archArgs, 'WERROR=0', `-j${jobs}`, arch.target];
  log(`kernel build: make -j${jobs} ${arch.target} (nice ${niceness})`);
  transcript.push(`$ nice -n ${niceness} make ${compileArgs.join(' ')}`);
  progress('compile');
  const compiled = await compile(['-n', String(niceness), 'make', ...compileArgs], arch.target, opts, transcript, (n, current) =>
    progress('compile', n, current),
  );
  await writeFile(logFile, transcript.join('\n') + '\n');

  const release = (await make(['-s', 'kernelrelease'])).trim().split('\n').at(-1) ?? '';
  if (!/^[0-9][\w.+~-]*$/.test(release)) throw new HarnessError('kernel', `make kernelrelease printed ${JSON.stringify(release)}`);
  return {
    spec,
    sourceId: tree.id,
    sourceVersion: tree.kernelVersion,
    fragments: fragments.map((f) => f.name),
    release,
    kernel: arch.target,
    systemMap: 'System.map',
    config: 'config',
    missing,
    buildSeconds: (Date.now() - started) / 1000,
    compiled,
  };
}

/** kbuild's quiet lines that stand for one translated file: "  CC      kernel/fork.o". */
const STEP = /^\s{2}([A-Z][A-Z0-9_]*)\s+(\S.*)$/;

async function compile(
  niceArgs: readonly string[],
  target: string,
  opts: BuildKernelOptions,
  transcript: string[],
  onStep: (compiled: number, current: string) => void,
): Promise<number> {
  const tail: string[] = [];
  let compiled = 0;
  const proc = execa('nice', niceArgs, {
    cancelSignal: opts.signal,
    env: { LC_ALL: 'C' },
    stdin: 'ignore',
    all: true,
    buffer: false,
    // make passes SIGTERM on to its jobs; SIGKILL after that leaves no compiler behind for long.
    forceKillAfterDelay: 5000,
  });
  try {
    for await (const line of proc.iterable({ from: 'all' })) {
      transcript.push(line);
      tail.push(line);
      if (tail.length > 40) tail.shift();
      const m = STEP.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) {
        if (m[1] === 'CC' || m[1] === 'AS' || m[1] === 'HOSTCC') compiled++;
        onStep(compiled, `${m[1]} ${m[2]}`);
      }
    }
    await proc;
  } catch (e: unknown) {
    if (e instanceof ExecaError && e.isCanceled) throw new HarnessError('kernel', 'kernel build cancelled', { cause: e });
    // The cause is often not a compiler "error:" line: objtool's complaints and the linker's too.
    const errors = tail.filter((l) => /error|Error|\*\*\*|objtool:|fatal|undefined reference/.test(l));
    const detail = stderrExcerpt((errors.length > 0 ? errors : tail).join('\n'), 12, 2000);
    throw new HarnessError('kernel', `make ${target} failed: ${detail}`, { cause: e });
  }
  return compiled;
}
