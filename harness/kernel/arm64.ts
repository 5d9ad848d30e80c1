// Obtains an arm64 kernel for the `virt` guest: Debian's stock arm64 image (what the
// linux-image-arm64 metapackage depends on, downloaded as a foreign-architecture package and
// unpacked into the cache, never installed) or a user's arm64 Image with an optional modules
// tree. Debian's 6.1 arm64 kernel builds ramoops, reed_solomon, virtio_pci and virtio_net as
// modules and has no pvpanic driver at all (CONFIG_PVPANIC unset): the harness sees its panics
// on the console only.
import { execa, ExecaError } from 'execa';
import { open, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cacheDir as defaultCacheDir } from '../io/cache-dir.js';
import { aptShow, ensureForeignArch, fetchDebs, type DebTree } from '../debian/debs.js';
import { HarnessError, stderrExcerpt } from '../errors.js';
import { ARM64_USERLAND_PACKAGES } from '../guest/image.js';
import type { KernelArtifacts, ObtainKernelOptions } from './artifacts.js';
import { isDir, isFile } from '../io/paths.js';
import { buildKernel, parseBuildSpec } from './build.js';

/** The Debian metapackage whose dependency is the current arm64 kernel image. */
export const ARM64_KERNEL_METAPACKAGE = 'linux-image-arm64';

/** The arm64 boot Image header's magic ("ARM\x64", little-endian u32 at offset 0x38; Documentation/arch/arm64/booting.rst). */
const ARM64_IMAGE_MAGIC = 0x644d5241;

/**
 * The release (`uname -r`) of an arm64 kernel Image, plain or gzip-compressed (QEMU boots
 * both), read from its linux_banner ("Linux version 6.1.0-56-arm64 (...)").
 */
export function arm64ImageRelease(image: Uint8Array): string {
  let bytes = image;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e: unknown) {
      throw new HarnessError('kernel', `gzip-compressed kernel image does not decompress: ${String(e)}`);
    }
  }
  const magic = bytes.length >= 0x40 ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0x38, true) : 0;
  if (magic !== ARM64_IMAGE_MAGIC) {
    const x86 = bytes.length > 0x206 && new TextDecoder('latin1').decode(bytes.subarray(0x202, 0x206)) === 'HdrS';
    throw new HarnessError('kernel', `not an arm64 kernel Image (no "ARM\\x64" magic at 0x38)${x86 ? ': this is an x86 bzImage' : ''}`);
  }
  const banner = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf('Linux version ');
  if (banner < 0) throw new HarnessError('kernel', 'arm64 Image has no "Linux version" banner to take the release from');
  const text = new TextDecoder('latin1').decode(bytes.subarray(banner + 14, banner + 14 + 128));
  const release = /^([0-9][\w.+~-]*)/.exec(text)?.[1];
  if (release === undefined) throw new HarnessError('kernel', `arm64 Image banner ${JSON.stringify(text.slice(0, 60))} does not start with a release`);
  return release;
}

/** Resolves an arm64 kernel spec ('debian', 'build:<source>:<config,...>' or an Image path) to files on disk, fetching, building and caching as needed. */
export async function obtainArm64Kernel(spec: string, opts: ObtainKernelOptions = {}): Promise<KernelArtifacts> {
  if (spec === 'debian') return obtainDebianArm64(opts);
  // build:<source>:<config,...> cross-compiles (or finds cached) a custom arm64 kernel; see build.ts.
  const build = parseBuildSpec(spec);
  if (build !== undefined) return buildKernel({ ...build, arch: 'arm64', cacheDir: opts.cacheDir, signal: opts.signal, log: opts.log });
  if (spec.startsWith('debian')) {
    throw new HarnessError(
      'kernel',
      `kernel '${spec}' has no arm64 counterpart here: --arch arm64 takes 'debian' (Debian 12's stock arm64 kernel) or an arm64 Image path`,
    );
  }
  return fromImage(spec, opts);
}

async function fromImage(spec: string, opts: ObtainKernelOptions): Promise<KernelArtifacts> {
  const kernelPath = resolve(spec);
  if (!(await isFile(kernelPath))) {
    throw new HarnessError('kernel', `kernel ${JSON.stringify(spec)} is neither 'debian' nor an existing arm64 Image file`);
  }
  const fh = await open(kernelPath, 'r');
  let head: Uint8Array;
  try {
    // The banner sits in .rodata, well inside the image: read it whole (tens of MB at most).
    head = new Uint8Array((await fh.stat()).size);
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  const release = arm64ImageRelease(head);
  let modulesRoot: string | undefined;
  if (opts.modulesDir !== undefined) {
    const dir = resolve(opts.modulesDir);
    if (await isDir(join(dir, 'lib/modules', release))) modulesRoot = dir;
    else throw new HarnessError('kernel', `modules dir ${dir} has no lib/modules/${release} (the Image's release)`);
  }
  // A built kernel's folder (ramoops kernel build --arch arm64) keeps its System.map beside the Image.
  const systemMap = join(dirname(kernelPath), 'System.map');
  const systemMapPath = (await isFile(systemMap)) ? systemMap : undefined;
  opts.log?.(
    `kernel: ${kernelPath} (arm64, release ${release}${modulesRoot === undefined ? ', no modules tree' : `, modules in ${modulesRoot}`}${systemMapPath === undefined ? '' : ', System.map beside it'})`,
  );
  return { kernelPath, modulesRoot, release, source: kernelPath, systemMapPath };
}

/** The kernel package the metapackage depends on, e.g. linux-image-6.1.0-56-arm64, and its pinned version when given. */
export function kernelPackageFromDepends(depends: string): { readonly pkg: string; readonly version: string | undefined } | undefined {
  const m = /\b(linux-image-[^\s,<>()|]+)(?:\s*\(=\s*([^)\s]+)\))?/.exec(depends);
  return m?.[1] === undefined ? undefined : { pkg: m[1], version: m[2] };
}

/** What apt is asked in the kernel's one apt-cache call: the guest image's packages ride along (each call costs seconds). */
const APT_QUESTION: readonly string[] = [ARM64_KERNEL_METAPACKAGE, ...ARM64_USERLAND_PACKAGES];

async function obtainDebianArm64(opts: ObtainKernelOptions): Promise<KernelArtifacts> {
  const log = opts.log ?? (() => undefined);
  // A failing apt (no lists, no network) is answered from the cache below.
  let meta = (await aptShow(APT_QUESTION, 'arm64', opts).catch(() => undefined))?.get(ARM64_KERNEL_METAPACKAGE);
  let pkg = meta === undefined ? undefined : kernelPackageFromDepends(meta.depends);
  if (pkg === undefined) {
    const cached = await newestCachedKernel(opts);
    if (cached !== undefined) {
      log(`kernel: apt cannot resolve ${ARM64_KERNEL_METAPACKAGE}:arm64 here; using cached ${cached.pkg} ${cached.version}`);
      return artifactsOf(cached, opts);
    }
    await ensureForeignArch('arm64', opts);
    meta = (await aptShow(APT_QUESTION, 'arm64', opts)).get(ARM64_KERNEL_METAPACKAGE);
    pkg = meta === undefined ? undefined : kernelPackageFromDepends(meta.depends);
    if (pkg === undefined)
      throw new HarnessError('kernel', `apt knows no ${ARM64_KERNEL_METAPACKAGE}:arm64 even after apt-get update (is a Debian 12 source configured?)`);
  }
  const [tree] = await fetchDebs([pkg.pkg], 'arm64', {
    ...(pkg.version === undefined ? {} : { versions: new Map([[pkg.pkg, pkg.version]]) }),
    cacheDir: opts.cacheDir,
    signal: opts.signal,
    log,
    // Debian's packages leave modules.dep to the postinst; modprobe needs it. depmod reads
    // modules of any architecture.
    afterUnpack: async (t) => {
      const release = await releaseOf(t);
      log(`kernel: depmod ${release}`);
      await depmod(t.root, release, opts.signal);
    },
  });
  if (tree === undefined) throw new HarnessError('kernel', `fetching ${pkg.pkg}:arm64 gave nothing`);
  return artifactsOf(tree, opts);
}

async function newestCachedKernel(opts: ObtainKernelOptions): Promise<DebTree | undefined> {
  const archDir = join(opts.cacheDir ?? defaultCacheDir(), 'debs', 'arm64');
  let best: { tree: DebTree; mtime: number } | undefined;
  for (const name of await readdir(archDir).catch(() => [] as string[])) {
    const m = /^(linux-image-\d[^_]*-arm64)_(.+)$/.exec(name);
    if (m?.[1] === undefined || m[2] === undefined || !(await isFile(join(archDir, name, 'meta.json')))) continue;
    const mtime = (await stat(join(archDir, name, 'meta.json'))).mtimeMs;
    if (best === undefined || mtime > best.mtime) best = { tree: { pkg: m[1], arch: 'arm64', version: m[2], root: join(archDir, name, 'root') }, mtime };
  }
  return best?.tree;
}

async function releaseOf(tree: DebTree): Promise<string> {
  const releases = await readdir(join(tree.root, 'lib/modules')).catch(() => [] as string[]);
  const release = releases.length === 1 ? releases[0] : undefined;
  if (release === undefined) {
    throw new HarnessError('kernel', `${tree.pkg} has ${releases.length} entries in lib/modules (${releases.join(', ')}); expected exactly one`);
  }
  return release;
}

async function depmod(root: string, release: string, signal: AbortSignal | undefined): Promise<void> {
  try {
    await execa('depmod', ['-b', root, release], { cancelSignal: signal, stdin: 'ignore', env: { PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` } });
  } catch (e: unknown) {
    if (e instanceof ExecaError && e.code === 'ENOENT') throw new HarnessError('kernel', 'depmod not found (apt-get install kmod)', { cause: e });
    const stderr = e instanceof ExecaError && typeof e.stderr === 'string' ? e.stderr : String(e);
    throw new HarnessError('kernel', `depmod -b ${root} ${release} failed: ${stderrExcerpt(stderr)}`, { cause: e });
  }
}

async function artifactsOf(tree: DebTree, opts: ObtainKernelOptions): Promise<KernelArtifacts> {
  const release = await releaseOf(tree);
  const kernelPath = join(tree.root, 'boot', `vmlinuz-${release}`);
  if (!(await isFile(kernelPath))) throw new HarnessError('kernel', `${tree.pkg} has no boot/vmlinuz-${release}`);
  const systemMap = join(tree.root, 'boot', `System.map-${release}`);
  const config = join(tree.root, 'boot', `config-${release}`);
  opts.log?.(`kernel: ${tree.pkg} ${tree.version} (arm64, release ${release})`);
  return {
    kernelPath,
    modulesRoot: tree.root,
    release,
    source: 'debian',
    systemMapPath: (await isFile(systemMap)) ? systemMap : undefined,
    configPath: (await isFile(config)) ? config : undefined,
  };
}
