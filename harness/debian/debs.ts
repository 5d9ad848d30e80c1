// Debian packages of a foreign architecture (the arm64 guest's kernel, busybox, dropbear and
// its libraries on an x86 host), downloaded with `apt-get download pkg:arch` and unpacked with
// `dpkg-deb -x` into the cache: nothing is installed on the host. One entry per package and
// version, unpacked beside its final place and renamed in, so an interrupted or parallel run
// never leaves a half tree that a later run would trust.
import { ExecaError } from 'execa';
import { runTool } from '../proc/tool.js';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir as defaultCacheDir } from '../io/cache-dir.js';
import { HarnessError } from '../errors.js';
import { cacheEntryNames } from '../io/lock.js';

/** One unpacked package. */
export interface DebTree {
  readonly pkg: string;
  readonly arch: string;
  readonly version: string;
  /** The folder dpkg-deb -x filled (holds usr/, lib/, boot/ ...). */
  readonly root: string;
}

/** Options of fetchDebs; every field may be left out. */
export interface FetchDebsOptions {
  readonly cacheDir?: string;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
  /** Runs on a fresh unpack before it enters the cache (e.g. depmod), with the package's root. */
  readonly afterUnpack?: (tree: DebTree) => Promise<void>;
  /** Versions known already (e.g. from a metapackage's `Depends: pkg (= V)`): apt is not asked about these. */
  readonly versions?: ReadonlyMap<string, string>;
}

interface DebMeta {
  readonly pkg: string;
  readonly arch: string;
  readonly version: string;
}

/** Runs an apt/dpkg tool; failures become HarnessError('kernel') with the tool's stderr. */
export function aptTool(cmd: string, args: readonly string[], opts: { readonly signal?: AbortSignal | undefined; readonly cwd?: string }): Promise<string> {
  return runTool(cmd, args, { ...opts, missing: 'fetching Debian packages needs apt and dpkg' });
}

/** Package name -> version (and Depends) as `apt-cache show` prints them for one architecture. */
export function parseAptShow(text: string, arch: string): ReadonlyMap<string, { readonly version: string; readonly depends: string }> {
  const out = new Map<string, { version: string; depends: string }>();
  for (const para of text.split(/\n\s*\n/)) {
    const field = (name: string): string | undefined => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(para)?.[1]?.trim();
    const pkg = field('Package');
    const version = field('Version');
    const a = field('Architecture');
    if (pkg === undefined || version === undefined || (a !== arch && a !== 'all')) continue;
    // --no-all-versions prints the candidate first; keep it.
    if (!out.has(pkg)) out.set(pkg, { version, depends: field('Depends') ?? '' });
  }
  return out;
}

/** What apt said about a package of an architecture (null: it knows none), for this process's life. */
const aptMemo = new Map<string, { readonly version: string; readonly depends: string } | null>();

/**
 * Asks apt about packages of `arch` in one call: each apt-cache start rebuilds its cache in
 * memory (1 to 5 s on this machine with two architectures' lists), so answers are also kept
 * for the rest of the process. Packages apt does not know are absent from the answer.
 */
export async function aptShow(
  pkgs: readonly string[],
  arch: string,
  opts: { readonly signal?: AbortSignal | undefined },
): Promise<ReadonlyMap<string, { readonly version: string; readonly depends: string }>> {
  const ask = pkgs.filter((p) => !aptMemo.has(`${arch}:${p}`));
  if (ask.length > 0) {
    let text: string;
    try {
      text = await aptTool('apt-cache', ['show', '--no-all-versions', ...ask.map((p) => `${p}:${arch}`)], opts);
    } catch (e: unknown) {
      // apt-cache prints what it knows and fails for the rest; what it printed is still good.
      const cause = e instanceof HarnessError ? e.cause : undefined;
      if (cause instanceof ExecaError && typeof cause.stdout === 'string') text = cause.stdout;
      else throw e;
    }
    const found = parseAptShow(text, arch);
    for (const p of ask) aptMemo.set(`${arch}:${p}`, found.get(p) ?? null);
  }
  const out = new Map<string, { readonly version: string; readonly depends: string }>();
  for (const p of pkgs) {
    const v = aptMemo.get(`${arch}:${p}`);
    if (v !== undefined && v !== null) out.set(p, v);
  }
  return out;
}

/** Makes apt know `arch` (dpkg --add-architecture + apt-get update) when it does not yet; root only. */
export async function ensureForeignArch(
  arch: string,
  opts: { readonly signal?: AbortSignal | undefined; readonly log?: (line: string) => void },
): Promise<void> {
  const native = (await aptTool('dpkg', ['--print-architecture'], opts)).trim();
  const foreign = (await aptTool('dpkg', ['--print-foreign-architectures'], opts)).split('\n').map((l) => l.trim());
  if (arch !== native && !foreign.includes(arch)) {
    if (process.getuid?.() !== 0) {
      throw new HarnessError(
        'kernel',
        `apt does not know architecture ${arch}: run \`dpkg --add-architecture ${arch} && apt-get update\` as root (scripts/install-system-deps.sh does)`,
      );
    }
    opts.log?.(`debs: dpkg --add-architecture ${arch}`);
    await aptTool('dpkg', ['--add-architecture', arch], opts);
  }
  opts.log?.('debs: apt-get update');
  await aptTool('apt-get', ['update', '-qq'], opts);
  aptMemo.clear();
}

function entryKey(pkg: string, version: string): string {
  return `${pkg}_${version}`.replace(/[^A-Za-z0-9.+~_-]/g, '_');
}

async function readMeta(dir: string): Promise<DebMeta | undefined> {
  try {
    const m = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as DebMeta;
    return (await stat(join(dir, 'root'))).isDirectory() ? m : undefined;
  } catch {
    return undefined;
  }
}

/** The newest cached version of a package: the offline answer when apt knows nothing. */
async function newestCached(archDir: string, pkg: string): Promise<DebTree | undefined> {
  let best: { tree: DebTree; mtime: number } | undefined;
  for (const name of await cacheEntryNames(archDir)) {
    const dir = join(archDir, name);
    const m = await readMeta(dir);
    if (m?.pkg !== pkg) continue;
    const mtime = (await stat(join(dir, 'meta.json'))).mtimeMs;
    if (best === undefined || mtime > best.mtime) best = { tree: { ...m, root: join(dir, 'root') }, mtime };
  }
  return best?.tree;
}

/**
 * Unpacked trees of the named packages of `arch`, in the order asked, fetching the ones the
 * cache lacks. apt decides the version (the candidate); when apt cannot answer, the newest
 * cached version serves, so a machine without network still runs from its cache.
 */
export async function fetchDebs(pkgs: readonly string[], arch: string, opts: FetchDebsOptions = {}): Promise<readonly DebTree[]> {
  const log = opts.log ?? (() => undefined);
  const archDir = join(opts.cacheDir ?? defaultCacheDir(), 'debs', arch);
  await mkdir(archDir, { recursive: true });
  const given = opts.versions ?? new Map<string, string>();
  const withGiven = (m: ReadonlyMap<string, { readonly version: string }>): ReadonlyMap<string, { readonly version: string }> =>
    new Map([...m, ...[...given].map(([p, version]) => [p, { version }] as const)]);
  const toAsk = pkgs.filter((p) => !given.has(p));
  let known = withGiven(
    toAsk.length === 0
      ? new Map()
      : await aptShow(toAsk, arch, opts).catch((e: unknown) => {
          if (opts.signal?.aborted === true) throw e;
          return new Map<string, { readonly version: string }>();
        }),
  );
  const missing = (): string[] => pkgs.filter((p) => !known.has(p));
  if (missing().length > 0) {
    const cached = await Promise.all(missing().map((p) => newestCached(archDir, p)));
    if (cached.some((c) => c === undefined)) {
      // A fresh machine: apt lacks the architecture or its lists; one update is what a person would do.
      log(`debs: apt knows no ${arch} package ${missing().join(', ')}; updating apt's lists`);
      await ensureForeignArch(arch, opts);
      known = withGiven(await aptShow(toAsk, arch, opts));
    }
  }
  const out: DebTree[] = [];
  for (const pkg of pkgs) {
    const k = known.get(pkg);
    if (k === undefined) {
      const c = await newestCached(archDir, pkg);
      if (c === undefined) throw new HarnessError('kernel', `apt knows no package ${pkg}:${arch} (is a Debian 12 source configured?)`);
      log(`debs: apt cannot resolve ${pkg}:${arch}; using cached ${c.version}`);
      out.push(c);
      continue;
    }
    out.push(await fetchOne(archDir, pkg, arch, k.version, opts));
  }
  return out;
}

async function fetchOne(archDir: string, pkg: string, arch: string, version: string, opts: FetchDebsOptions): Promise<DebTree> {
  const dir = join(archDir, entryKey(pkg, version));
  if ((await readMeta(dir)) !== undefined) return { pkg, arch, version, root: join(dir, 'root') };
  const log = opts.log ?? (() => undefined);
  const staging = await mkdtemp(join(archDir, `.tmp-${entryKey(pkg, version)}-`));
  try {
    const dl = join(staging, 'dl');
    await mkdir(dl);
    log(`debs: apt-get download ${pkg}:${arch}=${version}`);
    // apt drops to the _apt user for downloads, which cannot write into our 0700 temp dir.
    const sandbox = process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : [];
    await aptTool('apt-get', [...sandbox, 'download', '-q', `${pkg}:${arch}=${version}`], { signal: opts.signal, cwd: dl });
    const deb = (await readdir(dl)).find((n) => n.endsWith('.deb'));
    if (deb === undefined) throw new HarnessError('kernel', `apt-get download ${pkg}:${arch}=${version} left no .deb`);
    const root = join(staging, 'root');
    await aptTool('dpkg-deb', ['-x', join(dl, deb), root], opts);
    await rm(dl, { recursive: true, force: true });
    await opts.afterUnpack?.({ pkg, arch, version, root });
    const meta: DebMeta = { pkg, arch, version };
    await writeFile(join(staging, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
    try {
      await rename(staging, dir);
    } catch (e: unknown) {
      // A parallel run finished first: its tree is as good as ours.
      if ((await readMeta(dir)) === undefined) throw new HarnessError('kernel', `cannot move unpacked ${pkg} to ${dir}`, { cause: e });
    }
    return { pkg, arch, version, root: join(dir, 'root') };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
