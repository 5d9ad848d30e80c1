// What obtaining a kernel yields, whichever way it was obtained (Debian package, a file, a build).

/** A bootable kernel and, when it has loadable modules, the tree they live in. */
export interface KernelArtifacts {
  readonly kernelPath: string;
  /** A directory containing lib/modules/<release>; undefined when the kernel has no modules tree. */
  readonly modulesRoot: string | undefined;
  /** What `uname -r` prints in the guest, e.g. 6.1.0-56-amd64. */
  readonly release: string;
  /** 'debian', 'debian-6.12' or the absolute path of the user's bzImage. */
  readonly source: string;
  /** The kernel's System.map when known (Debian packages ship one), for symbolising ftrace records. */
  readonly systemMapPath?: string | undefined;
  /** The kernel's .config when known. */
  readonly configPath?: string | undefined;
}

/** Options of obtainKernel; every field may be left out. */
export interface ObtainKernelOptions {
  readonly cacheDir?: string;
  /** For a bzImage spec: a directory with lib/modules/<release>, or that modules directory itself. */
  readonly modulesDir?: string;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}
