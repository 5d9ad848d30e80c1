// Errors of the side-effecting harness. The stage tells a user (and CI reports) which part of
// the boot-crash-capture cycle broke, so "the guest never got ready" is not confused with
// "the record did not match".

/** Where in the cycle a harness failure happened. */
export type HarnessStage = 'qemu' | 'boot' | 'qmp' | 'ssh' | 'guest' | 'kernel' | 'capture' | 'compare';

/** A failure outside the pure core: a tool that failed, a guest that did not answer, a timeout. */
export class HarnessError extends Error {
  constructor(
    readonly stage: HarnessStage,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HarnessError';
  }
}

/** Narrows unknown catch values without instanceof chains at each call site. */
export function isHarnessError(e: unknown): e is HarnessError {
  return e instanceof HarnessError;
}

/** The last lines of a tool's stderr, short enough for an error message, long enough to act on. */
export function stderrExcerpt(text: string, maxLines = 6, maxChars = 600): string {
  const lines = text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
  const tail = lines.slice(-maxLines).join(' | ');
  return tail.length > maxChars ? '…' + tail.slice(tail.length - maxChars) : tail;
}
