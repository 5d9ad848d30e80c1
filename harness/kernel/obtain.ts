// Obtains a kernel to boot: Debian's stock image (fetched with apt, unpacked into the cache) or
// a user's bzImage with an optional modules tree. Debian kernels are the default because they
// are what most people run and they build ramoops, pvpanic and virtio_net as modules, which
// exercises the module-parameter path a built-in driver never sees.
import { runTool } from '../proc/tool.js';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, realpath, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { cacheDir as defaultCacheDir } from '../io/cache-dir.js';
import { HarnessError } from '../errors.js';
import { buildKernel, parseBuildSpec } from './build.js';
import type { KernelArtifacts, ObtainKernelOptions } from './artifacts.js';
import { cacheEntryNames, withLock } from '../io/lock.js';
import { isDir, isFile } from '../io/paths.js';

/** The kernel specs that name a Debian package rather than a file. */
export const DEBIAN_SPECS = ['debian', 'debian-6.12'] as const;
export type DebianSpec = (typeof DEBIAN_SPECS)[number];

/** What a cache entry records about itself, so a later run needs neither apt nor a re-scan. */
export interface CacheMeta {
  readonly spec: DebianSpec;
  readonly package: string;
  readonly version: string;
  readonly release: string;
  /** Relative to the entry directory. */
  readonly kernel: string;
  readonly modulesRoot: string;
  readonly systemMap: string | undefined;
  readonly config: string | undefined;
}

function isDebianSpec(spec: string): spec is DebianSpec {
  return (DEBIAN_SPECS as readonly string[]).includes(spec);
}

/** Resolves a kernel spec ('debian', 'debian-6.12', 'build:<source>:<config,...>' or a bzImage path) to files on disk, fetching and caching as needed. */
export async function obtainKernel(spec: string, opts: ObtainKernelOptions = {}): Promise<KernelArtifacts> {
  // build:<source>:<config,...> builds (or finds cached) a custom kernel; see build.ts.
  const build = parseBuildSpec(spec);
  if (build !== undefined) return buildKernel({ ...build, cacheDir: opts.cacheDir, signal: opts.signal, log: opts.log });
  if (isDebianSpec(spec)) return obtainDebian(spec, opts);
  return fromBzImage(spec, opts);
}

// ---------------------------------------------------------------------------------------------
// A user's bzImage

/**
 * Reads the release (the first word of the kernel version string) from an x86 bzImage.
 * The boot protocol header (Documentation/arch/x86/boot.rst) has "HdrS" at 0x202 and, at 0x20E,
 * a u16 kernel_version: the string's offset minus 0x200.
 */
export function bzImageRelease(image: Uint8Array): string {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image.length < 0x210 || new TextDecoder().decode(image.subarray(0x202, 0x206)) !== 'HdrS') {
    throw new HarnessError('kernel', 'not an x86 bzImage: no "HdrS" boot header at offset 0x202');
  }
  const ptr = view.getUint16(0x20e, true);
  if (ptr === 0) throw new HarnessError('kernel', 'bzImage header has no kernel_version pointer (offset 0x20e is 0)');
  const start = ptr + 0x200;
  const end = image.indexOf(0, start);
  if (start >= image.length || end < 0) {
    throw new HarnessError('kernel', `bzImage kernel_version string at 0x${start.toString(16)} lies beyond the bytes read`);
  }
  const text = new TextDecoder('latin1').decode(image.subarray(start, end));
  const release = text.split(' ')[0] ?? '';
  if (!/^[0-9][\w.+~-]*$/.test(release)) {
    throw new HarnessError('kernel', `bzImage kernel_version string ${JSON.stringify(text.slice(0, 80))} does not start with a release`);
  }
  return release;
}

async function readHead(path: string, len: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(len);
    const { bytesRead } = await fh.read(buf, 0, len, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function fromBzImage(spec: string, opts: ObtainKernelOptions): Promise<KernelArtifacts> {
  const kernelPath = resolve(spec);
  if (!(await isFile(kernelPath))) {
    throw new HarnessError(
      'kernel',
      `kernel ${JSON.stringify(spec)} is neither ${DEBIAN_SPECS.map((s) => `'${s}'`).join(' nor ')} nor an existing bzImage file`,
    );
  }
  // The version string sits in the real-mode setup code, at most 64 setup sectors in.
  const release = bzImageRelease(await readHead(kernelPath, 64 * 1024));
  let modulesRoot: string | undefined;
  if (opts.modulesDir !== undefined) {
    modulesRoot = await modulesRootFor(resolve(opts.modulesDir), release, opts.cacheDir ?? defaultCacheDir());
  } else {
    // A tree unpacked from a package or `make install INSTALL_PATH=X/boot` keeps modules beside boot/.
    const guess = dirname(dirname(kernelPath));
    if (basename(dirname(kernelPath)) === 'boot' && (await isDir(join(guess, 'lib/modules', release)))) modulesRoot = guess;
  }
  // A build folder (ours, or a tree's arch/x86/boot/../../..) keeps System.map beside or above
  // the image; /boot has System.map-<release>. ftrace records need it for names.
  const here = dirname(kernelPath);
  const maps = [join(here, 'System.map'), join(here, `System.map-${release}`), join(here, '../../..', 'System.map')];
  let systemMapPath: string | undefined;
  for (const m of maps) {
    if (await isFile(m)) {
      systemMapPath = resolve(m);
      break;
    }
  }
  opts.log?.(
    `kernel: ${kernelPath} (release ${release}${modulesRoot === undefined ? ', no modules tree' : `, modules in ${modulesRoot}`}${systemMapPath === undefined ? '' : `, symbols from ${systemMapPath}`})`,
  );
  return { kernelPath, modulesRoot, release, source: kernelPath, ...(systemMapPath === undefined ? {} : { systemMapPath }) };
}

async function modulesRootFor(dir: string, release: string, cache: string): Promise<string> {
  if (await isDir(join(dir, 'lib/modules', release))) return dir;
  const looksLikeModulesDir = (await isFile(join(dir, 'modules.order'))) || (await isDir(join(dir, 'kernel')));
  if (looksLikeModulesDir) {
    const real = await realpath(dir);
    const parts = real.split('/');
    if (parts.at(-1) === release && parts.at(-2) === 'modules' && parts.at(-3) === 'lib') return parts.slice(0, -3).join('/') || '/';
    // The rest of the harness wants ROOT/lib/modules/<release>; build that shape with a
    // symlink in the cache instead of asking the user to move files.
    const key = createHash('sha256').update(`${real}\0${release}`).digest('hex').slice(0, 16);
    const root = join(cache, 'modroots', key);
    const link = join(root, 'lib/modules', release);
    if (!(await isDir(link))) {
      await mkdir(dirname(link), { recursive: true });
      await rm(link, { force: true });
      await symlink(real, link);
    }
    return root;
  }
  let others: string[] = [];
  try {
    others = await readdir(join(dir, 'lib/modules'));
  } catch {
    // no lib/modules at all: the message below covers it
  }
  throw new HarnessError(
    'kernel',
    others.length > 0
      ? `modules dir ${dir} has lib/modules/{${others.join(',')}} but the kernel's release is ${release}`
      : `modules dir ${dir} has neither lib/modules/${release} nor modules.order/kernel/ of its own`,
  );
}

// ---------------------------------------------------------------------------------------------
// Debian packages

/** sbin tools (depmod) are not on a non-root user's PATH on Debian; look there too. */
function run(cmd: string, args: readonly string[], opts: ObtainKernelOptions, cwd?: string): Promise<string> {
  return runTool(cmd, args, { signal: opts.signal, cwd, missing: 'the Debian kernel path needs apt, dpkg-deb and depmod (package kmod)' });
}

/** Where apt's answers live: they change only when these do (apt-get update, a new source). */
const APT_STATE = ['/var/lib/apt/lists', '/etc/apt/sources.list', '/etc/apt/sources.list.d', '/etc/apt/preferences.d'];

/** Names, sizes and mtimes of apt's lists and sources: equal fingerprints, equal apt answers. */
async function aptFingerprint(): Promise<string> {
  const h = createHash('sha256');
  for (const p of APT_STATE) {
    const s = await stat(p).catch(() => undefined);
    h.update(`${p}\0${s?.size ?? -1}\0${s?.mtimeMs ?? -1}\0`);
    if (s?.isDirectory() !== true) continue;
    for (const name of (await readdir(p)).sort()) {
      const f = await stat(join(p, name)).catch(() => undefined);
      h.update(`${name}\0${f?.size ?? -1}\0${f?.mtimeMs ?? -1}\0`);
    }
  }
  return h.digest('hex');
}

/**
 * resolvePackage, remembered per apt state: apt-cache reads every list on each call (seconds
 * on a machine whose apt keeps no pkgcache.bin, as Debian's container images do), and a run
 * asks on every start although the answer changes only with apt-get update.
 */
async function resolvePackageCached(spec: DebianSpec, kernelsDir: string, opts: ObtainKernelOptions): Promise<{ pkg: string; version: string } | undefined> {
  const file = join(kernelsDir, `apt-${spec}.json`);
  const fingerprint = await aptFingerprint();
  try {
    const known = JSON.parse(await readFile(file, 'utf8')) as { fingerprint?: unknown; pkg?: unknown; version?: unknown };
    if (known.fingerprint === fingerprint && typeof known.pkg === 'string' && typeof known.version === 'string')
      return { pkg: known.pkg, version: known.version };
  } catch {
    // no answer kept yet, or an unreadable one: ask apt
  }
  const resolved = await resolvePackage(spec, opts);
  if (resolved !== undefined) {
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ fingerprint, ...resolved }) + '\n');
    await rename(tmp, file);
  }
  return resolved;
}

/** Package name and version of what a spec means today, per the local apt lists; undefined when apt knows nothing. */
async function resolvePackage(spec: DebianSpec, opts: ObtainKernelOptions): Promise<{ pkg: string; version: string } | undefined> {
  let pkg: string | undefined;
  if (spec === 'debian') {
    let out: string;
    try {
      // One apt-cache call where possible: each costs ~0.6 s when apt keeps no pkgcache.bin.
      out = await run('apt-cache', ['show', '--no-all-versions', 'linux-image-amd64'], opts);
    } catch (e: unknown) {
      if (e instanceof HarnessError && /No packages found|Unable to locate/.test(e.message)) return undefined;
      throw e;
    }
    const m = /^Depends:.*?\b(linux-image-[^\s,<>()]+)(?:\s*\(=\s*([^)\s]+)\))?/m.exec(out);
    pkg = m?.[1];
    if (pkg !== undefined && m?.[2] !== undefined) return { pkg, version: m[2] };
  } else {
    const out = await run('apt-cache', ['search', '--names-only', '^linux-image-6\\.12\\.'], opts);
    let best = -1;
    for (const line of out.split('\n')) {
      const m = /^(linux-image-6\.12\.(\d+)\+deb12-amd64-unsigned) /.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined && Number(m[2]) > best) {
        best = Number(m[2]);
        pkg = m[1];
      }
    }
  }
  if (pkg === undefined) return undefined;
  const show = await run('apt-cache', ['show', '--no-all-versions', pkg], opts);
  const version = /^Version:\s*(\S+)/m.exec(show)?.[1];
  return version === undefined ? undefined : { pkg, version };
}

function entryKey(pkg: string, version: string): string {
  return `${pkg}_${version}`.replace(/[^A-Za-z0-9.+~_-]/g, '_');
}

async function readMeta(entryDir: string): Promise<CacheMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(join(entryDir, 'meta.json'), 'utf8')) as CacheMeta;
    return (await isFile(join(entryDir, meta.kernel))) ? meta : undefined;
  } catch {
    return undefined;
  }
}

function toArtifacts(entryDir: string, meta: CacheMeta): KernelArtifacts {
  return {
    kernelPath: join(entryDir, meta.kernel),
    modulesRoot: join(entryDir, meta.modulesRoot),
    release: meta.release,
    source: meta.spec,
    systemMapPath: meta.systemMap === undefined ? undefined : join(entryDir, meta.systemMap),
    configPath: meta.config === undefined ? undefined : join(entryDir, meta.config),
  };
}

/** The most recently unpacked cache entry for a spec: the offline answer when apt knows nothing. */
export async function newestCached(kernelsDir: string, spec: DebianSpec): Promise<{ dir: string; meta: CacheMeta } | undefined> {
  let best: { dir: string; meta: CacheMeta; mtime: number } | undefined;
  for (const name of await cacheEntryNames(kernelsDir)) {
    const dir = join(kernelsDir, name);
    const meta = await readMeta(dir);
    if (meta?.spec !== spec) continue;
    const mtime = (await stat(join(dir, 'meta.json'))).mtimeMs;
    if (best === undefined || mtime > best.mtime) best = { dir, meta, mtime };
  }
  return best;
}

async function obtainDebian(spec: DebianSpec, opts: ObtainKernelOptions): Promise<KernelArtifacts> {
  const log = opts.log ?? (() => undefined);
  const kernelsDir = join(opts.cacheDir ?? defaultCacheDir(), 'kernels');
  await mkdir(kernelsDir, { recursive: true });

  let resolved: { pkg: string; version: string } | undefined;
  let aptError: HarnessError | undefined;
  try {
    resolved = await resolvePackageCached(spec, kernelsDir, opts);
  } catch (e: unknown) {
    if (!(e instanceof HarnessError) || opts.signal?.aborted === true) throw e;
    aptError = e;
  }
  if (resolved === undefined) {
    const cached = await newestCached(kernelsDir, spec);
    if (cached !== undefined) {
      log(`kernel: apt cannot resolve '${spec}' here; using cached ${cached.meta.package} ${cached.meta.version}`);
      return toArtifacts(cached.dir, cached.meta);
    }
    if (aptError !== undefined) throw aptError;
    // Fresh machines have empty apt lists; one update is what a person would do next.
    log(`kernel: apt knows no package for '${spec}'; running apt-get update`);
    await run('apt-get', ['update', '-qq'], opts);
    resolved = await resolvePackage(spec, opts);
    if (resolved === undefined) {
      throw new HarnessError('kernel', `no Debian package found for kernel '${spec}' even after apt-get update (is a Debian 12 source configured?)`);
    }
  }

  const { pkg, version } = resolved;
  const entryDir = join(kernelsDir, entryKey(pkg, version));
  const existing = await readMeta(entryDir);
  if (existing !== undefined) {
    log(`kernel: ${pkg} ${version} (cached, release ${existing.release})`);
    return toArtifacts(entryDir, existing);
  }

  return withLock(`${entryDir}.lock`, { ...opts, stage: 'kernel' }, async () => {
    // Whoever held the lock before us may have unpacked this very version.
    const theirs = await readMeta(entryDir);
    if (theirs !== undefined) {
      log(`kernel: ${pkg} ${version} (unpacked by a parallel run, release ${theirs.release})`);
      return toArtifacts(entryDir, theirs);
    }
    return fetchAndUnpack(spec, pkg, version, entryDir, opts);
  });
}

async function fetchAndUnpack(spec: DebianSpec, pkg: string, version: string, entryDir: string, opts: ObtainKernelOptions): Promise<KernelArtifacts> {
  const log = opts.log ?? (() => undefined);
  const kernelsDir = dirname(entryDir);
  // Unpack beside the final place and rename at the end, so an interrupted run or a parallel
  // one never leaves a half-unpacked tree that a later run would trust.
  const staging = await mkdtemp(join(kernelsDir, `.tmp-${entryKey(pkg, version)}-`));
  try {
    const dl = join(staging, 'dl');
    await mkdir(dl);
    log(`kernel: apt-get download ${pkg}=${version}`);
    // apt drops to the _apt user for downloads, which cannot write into our 0700 temp dir.
    const sandbox = process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : [];
    await run('apt-get', [...sandbox, 'download', '-q', `${pkg}=${version}`], opts, dl);
    const deb = (await readdir(dl)).find((n) => n.endsWith('.deb'));
    if (deb === undefined) throw new HarnessError('kernel', `apt-get download ${pkg}=${version} left no .deb in ${dl}`);

    log(`kernel: unpacking ${deb}`);
    const root = join(staging, 'root');
    await run('dpkg-deb', ['-x', join(dl, deb), root], opts);
    await rm(dl, { recursive: true, force: true });

    const releases = await readdir(join(root, 'lib/modules')).catch(() => [] as string[]);
    const release = releases.length === 1 ? releases[0] : undefined;
    if (release === undefined) {
      throw new HarnessError('kernel', `${deb} has ${releases.length} entries in lib/modules (${releases.join(', ')}); expected exactly one`);
    }
    const kernel = `root/boot/vmlinuz-${release}`;
    if (!(await isFile(join(staging, kernel)))) throw new HarnessError('kernel', `${deb} has no boot/vmlinuz-${release}`);
    const headRelease = bzImageRelease(await readHead(join(staging, kernel), 64 * 1024));
    if (headRelease !== release) {
      throw new HarnessError('kernel', `${deb}: bzImage says release ${headRelease}, lib/modules says ${release}`);
    }

    // Debian's packages leave modules.dep to the postinst; modprobe needs it.
    log(`kernel: depmod ${release}`);
    await run('depmod', ['-b', root, release], opts);

    const systemMap = (await isFile(join(root, 'boot', `System.map-${release}`))) ? `root/boot/System.map-${release}` : undefined;
    const config = (await isFile(join(root, 'boot', `config-${release}`))) ? `root/boot/config-${release}` : undefined;
    const meta: CacheMeta = { spec, package: pkg, version, release, kernel, modulesRoot: 'root', systemMap, config };
    await writeFile(join(staging, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
    try {
      await rename(staging, entryDir);
    } catch (e: unknown) {
      // A parallel run finished first: its tree is as good as ours.
      const theirs = await readMeta(entryDir);
      if (theirs === undefined) throw new HarnessError('kernel', `cannot move unpacked kernel to ${entryDir}`, { cause: e });
      return toArtifacts(entryDir, theirs);
    }
    log(`kernel: ${pkg} ${version} ready (release ${release})`);
    return toArtifacts(entryDir, meta);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
