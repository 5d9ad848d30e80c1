// The faults the suite injects, the phases it injects them in, and what a correct report of
// each looks like. A phase is the stop point of the harness's hook (harness/cycle/clock.ts):
// the moment the phase begins, so the fault is there for all of that phase's work.

/** The cycle's phases in order, by the names people use; `stop` is the hook's value. */
export const PHASES = [
  { name: 'setup', stop: 'setup', reported: 'setup' },
  { name: 'boot', stop: 'boot', reported: 'boot' },
  { name: 'login', stop: 'ssh', reported: 'ssh' },
  { name: 'crash', stop: '1:crash', reported: 'crash' },
  { name: 'capture', stop: '1:capture', reported: 'capture' },
  { name: 'reboot', stop: '1:reboot', reported: 'reboot' },
  { name: 'read', stop: '1:ssh', reported: 'ssh' },
  { name: 'compare', stop: '1:compare', reported: 'compare' },
] as const;

export type PhaseName = (typeof PHASES)[number]['name'];

export const FAULTS = ['qemu-kill', 'hang', 'ssh-cut', 'sigint', 'sigterm', 'disk-full', 'ram-dir-removed'] as const;
export type FaultName = (typeof FAULTS)[number];

/** What a correct outcome is: the exit code, the phase the report names, and words naming the cause. */
export interface Expected {
  readonly exitCode: number;
  /** The phase report.json (or stderr) must name; undefined when the run must pass. */
  readonly phase: string | undefined;
  readonly cause: RegExp | undefined;
}

const at = (p: PhaseName): string => PHASES.find((x) => x.name === p)?.reported ?? p;

/**
 * Where each fault can be seen. A fault after the last step that needs the broken thing changes
 * nothing and the run must still pass (QEMU killed during compare: every file was already
 * proved); otherwise the first phase that needs it must fail, exit 2, and say why.
 */
export function expected(fault: FaultName, phase: PhaseName): Expected | 'not-applicable' {
  const guestless = phase === 'setup';
  switch (fault) {
    case 'sigint':
      return { exitCode: 130, phase: at(phase), cause: /interrupted by SIGINT/ };
    case 'sigterm':
      return { exitCode: 143, phase: at(phase), cause: /interrupted by SIGTERM/ };
    case 'qemu-kill':
      if (guestless) return 'not-applicable';
      if (phase === 'compare') return pass();
      return { exitCode: 2, phase: at(phase), cause: /QEMU was killed by SIGKILL/ };
    case 'hang':
      // The guest frozen (QEMU stopped): its console, SSH and QMP all go silent.
      if (guestless) return 'not-applicable';
      if (phase === 'compare') return pass();
      // During crash that is a guest that stops without a panic, and the harness must say so.
      if (phase === 'crash') return { exitCode: 2, phase: 'crash', cause: /no panic within/ };
      return { exitCode: 2, phase: at(phase), cause: /timed out|timeout|no answer|did not|within \d+/i };
    case 'ssh-cut':
      // The forward is closed: the next thing done over SSH fails.
      if (guestless) return 'not-applicable';
      if (phase === 'compare') return pass();
      if (phase === 'boot' || phase === 'login') return { exitCode: 2, phase: 'ssh', cause: /ECONNREFUSED|ECONNRESET|closed|SSH/ };
      if (phase === 'crash') return { exitCode: 2, phase: 'crash', cause: /ECONNRESET|closed|SSH|panic/ };
      return { exitCode: 2, phase: 'ssh', cause: /ECONNREFUSED|ECONNRESET|closed|SSH/ };
    case 'disk-full':
      // The artifacts' first write after the fill: the region image in capture, the guest's files
      // in read, report.json at the end.
      if (phase === 'read') return { exitCode: 2, phase: 'ssh', cause: /ENOSPC|no space/i };
      if (phase === 'compare') return { exitCode: 2, phase: 'compare', cause: /ENOSPC|no space/i };
      if (phase === 'reboot') return { exitCode: 2, phase: 'ssh', cause: /ENOSPC|no space/i };
      return { exitCode: 2, phase: 'capture', cause: /ENOSPC|no space/i };
    case 'ram-dir-removed':
      // Only capture reads the RAM file (one cycle): before it, capture fails; after it, nothing.
      if (guestless) return 'not-applicable';
      if (phase === 'reboot' || phase === 'read' || phase === 'compare') return pass();
      return { exitCode: 2, phase: 'capture', cause: /ENOENT|RAM file|no such file/i };
  }
}

function pass(): Expected {
  return { exitCode: 0, phase: undefined, cause: undefined };
}
