// Pure: a machine spec in, QEMU's argv out. No defaults hidden in the process layer: every
// flag the harness relies on is here, with the reason it is there, so a golden test pins the
// whole command line (the model is virtme-ng's architectures.py + qemu_helpers.py).

/** Machine types whose RAM map harness/qemu/machines.ts knows: x86 q35 and pc, arm64 virt. */
export type MachineType = 'q35' | 'pc' | 'virt';

/** The guest architectures the harness boots: x86_64 on q35 (or pc), arm64 and arm (armhf, cortex-a15) on virt. */
export type GuestArch = 'x86_64' | 'arm64' | 'arm';

/** The machine type a run of an architecture uses. */
export function machineFor(arch: GuestArch): MachineType {
  return arch === 'x86_64' ? 'q35' : 'virt';
}

/** TCG works everywhere (and is the default here); KVM where /dev/kvm is usable. */
export type Accel = 'tcg' | 'kvm';

/** Where the guest's serial console goes: a file QEMU (re)creates, which serial.ts follows. */
export interface SerialFile {
  readonly kind: 'file';
  readonly path: string;
}

/** Everything that decides QEMU's command line. Paths are used verbatim (escaped, not resolved). */
export interface QemuSpec {
  readonly machine: MachineType;
  readonly accel: Accel;
  /** Guest RAM in bytes; also the size of the RAM backend file. */
  readonly memoryBytes: number;
  /** The file that holds guest RAM (memory-backend-file, share=on). */
  readonly ramFile: string;
  /** Unix socket path QEMU listens on for QMP. */
  readonly qmpSocket: string;
  readonly serial: SerialFile;
  readonly cpus?: number;
  /** `-cpu` model; QEMU's default (qemu64 under TCG) when absent. */
  readonly cpu?: string;
  readonly kernel?: string;
  /** `-bios`: firmware instead of the machine's default (qboot for PVH boots of a vmlinux). */
  readonly firmware?: string;
  readonly initrd?: string;
  /** Kernel command line, passed as one argv element (so `memmap=1M$0x8000000` needs no quoting). */
  readonly append?: string;
  /** Host port forwarded from 127.0.0.1 to the guest's port 22; no network device when absent. */
  readonly sshPort?: number;
  /** Add the pvpanic device (default true): ISA `pvpanic` on x86, `pvpanic-pci` on virt (which has no ISA bus). */
  readonly pvpanic?: boolean;
  /** Add a virtio-rng device (default true): the guest's entropy at once, from the host. */
  readonly rng?: boolean;
  /** A device tree blob the kernel gets instead of the one the machine generates (`-dtb`; virt). */
  readonly dtb?: string;
  /** Write the machine's generated DTB here and exit without running (`dumpdtb=`; virt). */
  readonly dumpDtb?: string;
  /**
   * virt only: `highmem=off` when false. A 32-bit guest kernel without LPAE (Debian's armmp)
   * cannot reach the PCIe ECAM and MMIO QEMU puts above 4 GiB for an LPAE-capable CPU
   * (cortex-a15): seen, "can't claim ECAM area ... address conflict" and no virtio-net.
   */
  readonly highmem?: boolean;
  /** Start with the CPUs stopped (`-S`), e.g. to inspect RAM before anything runs. */
  readonly paused?: boolean;
  /** A host folder the guest may mount over virtio-9p (`mount -t 9p -o trans=virtio TAG DIR`). */
  readonly share?: SharedFolder;
  /** Appended verbatim, last, for experiments; the golden test does not cover them. */
  readonly extraArgs?: readonly string[];
}

/** A host folder exported to the guest over virtio-9p. */
export interface SharedFolder {
  /** The host folder (used verbatim). */
  readonly path: string;
  /** The 9p mount tag the guest names it by (at most 31 bytes). */
  readonly tag: string;
}

/**
 * Escapes a value inside a QEMU `key=value,key=value` option string: a comma is written `,,`
 * (virtme-ng's quote_optarg). Without it a path such as `/tmp/a,b` would end the value early.
 */
export function quoteOptarg(value: string): string {
  return value.replaceAll(',', ',,');
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** A byte count as QEMU's size syntax, in the largest exact unit (`512M`, `5G`, `4097K`). */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new RangeError(`memory size must be a positive integer number of bytes, got ${bytes}`);
  }
  if (bytes % GiB === 0) return `${bytes / GiB}G`;
  if (bytes % MiB === 0) return `${bytes / MiB}M`;
  if (bytes % KiB === 0) return `${bytes / KiB}K`;
  return String(bytes);
}

function checkPort(port: number): void {
  // 0: QEMU picks a free port at bind time (read back with `info usernet`).
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`SSH forward port must be an integer in 0..65535, got ${port}`);
  }
}

/** QEMU's argv (without the binary) for one guest. */
export function buildQemuArgs(spec: QemuSpec): string[] {
  const size = formatSize(spec.memoryBytes);
  const args: string[] = [
    // Ignore /etc/qemu/*.conf and drop every default device (NIC, VGA, serial, monitor,
    // parallel, floppy, CD-ROM): the guest gets exactly the devices listed below.
    '-no-user-config',
    '-nodefaults',
    '-accel',
    spec.accel,
    // Guest RAM lives in a file we can read from the host at any moment. share=on maps it
    // MAP_SHARED, so guest writes reach the file (a private mapping would hide them).
    '-object',
    `memory-backend-file,id=mem,size=${size},mem-path=${quoteOptarg(spec.ramFile)},share=on`,
    '-machine',
    `${spec.machine},memory-backend=mem${spec.machine === 'virt' && spec.highmem === false ? ',highmem=off' : ''}${spec.dumpDtb === undefined ? '' : `,dumpdtb=${quoteOptarg(spec.dumpDtb)}`}`,
    // Must equal the backend size; stated so the RAM size is visible in `ps`.
    '-m',
    size,
  ];
  if (spec.cpus !== undefined) args.push('-smp', String(spec.cpus));
  if (spec.cpu !== undefined) args.push('-cpu', spec.cpu);
  args.push(
    // No window, no monitor on stdio (-nographic would put both serial and monitor there).
    '-display',
    'none',
    '-monitor',
    'none',
    // QMP through -chardev/-mon rather than `-qmp unix:PATH,...`: the same socket, but the path
    // is a QemuOpts value, so `,,` escaping is well defined. wait=off: QEMU starts without a
    // client and we connect (with retry) once the socket exists.
    '-chardev',
    `socket,id=qmp,path=${quoteOptarg(spec.qmpSocket)},server=on,wait=off`,
    '-mon',
    'chardev=qmp,mode=control',
    // -nodefaults removed the default serial port; add one fed to a file that serial.ts follows.
    // The file chardev truncates on open and stays open across system_reset, so one log holds
    // every boot of this QEMU process.
    '-chardev',
    `file,id=ser0,path=${quoteOptarg(spec.serial.path)}`,
    '-serial',
    'chardev:ser0',
  );
  if (spec.pvpanic !== false) {
    // A panic becomes the QMP event GUEST_PANICKED (the guest needs the pvpanic driver).
    args.push('-device', spec.machine === 'virt' ? 'pvpanic-pci' : 'pvpanic');
  }
  args.push(
    // The panic is a signal only: pausing there would stop the guest before ramoops writes
    // its dmesg record (panic notifiers, pvpanic included, run before kmsg_dump).
    '-action',
    'panic=none',
    // The guest's reboot after the panic (kernel `panic=N`) parks QEMU, paused, with RAM and
    // the record intact; the harness reads RAM, then `set-action reboot=reset` + system_reset.
    '-action',
    'reboot=shutdown,shutdown=pause',
  );
  if (spec.sshPort !== undefined) {
    checkPort(spec.sshPort);
    args.push(
      // User-mode networking (no root, no bridge); the forward listens on 127.0.0.1 only so the
      // guest's root login is never reachable from other hosts.
      '-netdev',
      `user,id=n0,hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22`,
      // romfile= (empty): skip the iPXE option ROM; we boot with -kernel, never from the NIC.
      '-device',
      'virtio-net-pci,netdev=n0,romfile=',
    );
  }
  if (spec.rng !== false) {
    // Entropy from the host (QEMU's getrandom): without it a TCG guest's crng becomes ready
    // seconds into the boot and the first SSH key exchange waits for it.
    args.push('-device', 'virtio-rng-pci');
  }
  if (spec.share !== undefined) {
    if (!/^[A-Za-z0-9_.-]{1,31}$/.test(spec.share.tag))
      throw new RangeError(`9p mount tag must be 1..31 of [A-Za-z0-9_.-], got ${JSON.stringify(spec.share.tag)}`);
    args.push(
      // security_model=none: the guest's root writes files as the user QEMU runs as, and
      // ownership/mode changes the host refuses are ignored (no xattrs on the host folder).
      '-fsdev',
      `local,id=fs-${spec.share.tag},path=${quoteOptarg(spec.share.path)},security_model=none`,
      '-device',
      `virtio-9p-pci,fsdev=fs-${spec.share.tag},mount_tag=${spec.share.tag}`,
    );
  }
  if (spec.firmware !== undefined) args.push('-bios', spec.firmware);
  if (spec.kernel !== undefined) args.push('-kernel', spec.kernel);
  if (spec.initrd !== undefined) args.push('-initrd', spec.initrd);
  if (spec.dtb !== undefined) args.push('-dtb', spec.dtb);
  if (spec.append !== undefined) args.push('-append', spec.append);
  if (spec.paused === true) args.push('-S');
  if (spec.extraArgs !== undefined) args.push(...spec.extraArgs);
  return args;
}
