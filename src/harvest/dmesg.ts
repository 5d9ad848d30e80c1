// What a dmesg record says about the crash that wrote it: the part header pstore puts first
// (`Panic#2 Part1`, docs/format.md §6), the line that names the failure (the panic
// message, or the first line of the oops report), what set it off (SysRq, lkdtm, an earlier
// oops), and the first frames of the stack trace that follows. Works on the file text as
// /sys/fs/pstore shows it, and on console records (same lines without the `<N>` prefix).

/** A dmesg record's part header and the crash it describes. */
export interface DmesgInfo {
  /** Panic, Oops, Emergency, Shutdown, Restart, Halt, Poweroff or Unknown; undefined without a header. */
  readonly reason: string | undefined;
  /** The per-boot dump counter (`#N`). */
  readonly counter: number | undefined;
  /** Part number; always 1 with ramoops (it keeps only the newest part). */
  readonly part: number | undefined;
  /** The panic line, or the first line of the last oops report: the one line to show. */
  readonly headline: string | undefined;
  /** What led to the headline, when the log says: `sysrq: Trigger a crash`, an lkdtm entry, or the oops a panic followed. */
  readonly cause: string | undefined;
  /** Where the oops happened (`RIP: 0010:fn+0x5/0x7`, `pc : fn+...`), when printed before its trace. */
  readonly rip: string | undefined;
  /** The first frames of the trace after the headline, innermost first, without the stack-dumping helpers. */
  readonly frames: readonly string[];
  /** The last non-empty line of the record (for reasons without a panic or oops, e.g. Shutdown). */
  readonly lastLine: string | undefined;
}

const HEADER = /^([A-Za-z]+)#(\d{1,10}) Part(\d{1,10})$/;
const PANIC = /^Kernel panic - not syncing/;
// x86/arm die() header: `<what>: <err hex> [#<n>]`, with 6.10+'s `Oops: ` in front.
const DIE_HEADER = /: [0-9a-f]{1,16} \[#\d+\]/;
// First lines of kernel failure reports (lib/bug.c, mm/fault, arch fault handlers, sanitizers).
const REPORT_START =
  /^(?:BUG: |kernel BUG at |Kernel BUG |WARNING: |Unable to handle kernel |Internal error: |general protection fault|Oops: |Oops - |UBSAN: |KASAN: |KFENCE: |list_(?:add|del) corruption|watchdog: BUG: |INFO: task .* blocked|rcu: INFO: )/;
const REPORT_END = /---\[ end trace|------------\[ cut here \]------------/;
const TRIGGER = /^(?:sysrq: (?:SysRq : )?Trigger a crash|SysRq : Trigger a crash|lkdtm: Performing direct entry \S+|lkdtm: Crash point \S+)/;
const CALL_TRACE = /^Call [Tt]race:/;
const RIP = /^(?:RIP: |pc : |PC is at |NIP \[|epc : |ERA: )/;
const MARKER = /^<\/?[A-Z]+>$/;
const FRAME = /^[A-Za-z_.$][\w.$]*\+0x[0-9a-f]+\/0x[0-9a-f]+(?: \[[\w-]+\])?/;
// Present in every trace because they print it; they say nothing about the crash.
const DUMP_HELPERS = new Set([
  'dump_stack',
  'dump_stack_lvl',
  '__dump_stack',
  'show_stack',
  'dump_backtrace',
  'show_trace_log_lvl',
  'unwind_backtrace',
  'dump_stack_print_info',
]);
/** How far above an oops header its first line (BUG:, kernel BUG at ...) may be. */
const REPORT_LOOKBACK = 10;
const MAX_FRAMES = 16;

/** A log line without the `<N>`, `[ time]` and `[T123]` prefixes (console lines have no `<N>`). */
export function stripLogPrefix(line: string): string {
  const m = /^(<\d{1,4}>)?(\[\s*\d+\.\d+\])?(\[\s*[TC]\d+\])?/.exec(line);
  const n = m?.[0].length ?? 0;
  if (n === 0) return line;
  // The one space the kernel puts between the prefix and the text; more is the text's own indent.
  return line.charCodeAt(n) === 0x20 ? line.slice(n + 1) : line.slice(n);
}

/** Classifies the text of a dmesg (or console) record. */
export function classifyDmesg(text: string): DmesgInfo {
  const rawLines = text.split('\n');
  const header = HEADER.exec(rawLines[0] ?? '');
  const body = (header === null ? rawLines : rawLines.slice(1)).map(stripLogPrefix);
  const reason = header?.[1];
  const lastIndex = (re: RegExp, before = body.length): number => {
    for (let i = Math.min(before, body.length) - 1; i >= 0; i--) if (re.test(body[i] ?? '')) return i;
    return -1;
  };

  const panicAt = lastIndex(PANIC);
  const oopsAt = oopsStart(body, panicAt >= 0 ? panicAt : body.length);
  // A panic record is about its panic; an oops record (or one without a panic line) about the last report.
  const headAt = panicAt >= 0 && reason !== 'Oops' ? panicAt : oopsAt >= 0 ? oopsAt : panicAt;
  const headline = headAt >= 0 ? body[headAt]?.trim() : undefined;

  let cause: string | undefined;
  if (headAt >= 0) {
    const triggerAt = lastIndex(TRIGGER, headAt);
    const priorOops = headAt === panicAt ? oopsAt : -1;
    const at = Math.max(triggerAt, priorOops);
    if (at >= 0 && at !== headAt) cause = body[at]?.trim();
  }

  const from = headAt >= 0 ? headAt : 0;
  let traceAt = -1;
  for (let i = from; i < body.length; i++) {
    if (CALL_TRACE.test(body[i] ?? '')) {
      traceAt = i;
      break;
    }
  }
  let rip: string | undefined;
  if (headAt >= 0) {
    const end = traceAt >= 0 ? traceAt : Math.min(body.length, headAt + 40);
    for (let i = headAt + 1; i < end; i++) {
      const l = body[i] ?? '';
      if (RIP.test(l)) {
        rip = l.trim();
        break;
      }
    }
  }
  const frames = traceAt >= 0 ? traceFrames(body, traceAt + 1) : [];
  let lastLine: string | undefined;
  for (let i = body.length - 1; i >= 0; i--) {
    const l = body[i]?.trim() ?? '';
    if (l !== '') {
      lastLine = l;
      break;
    }
  }
  return {
    reason,
    counter: header?.[2] === undefined ? undefined : Number(header[2]),
    part: header?.[3] === undefined ? undefined : Number(header[3]),
    headline,
    cause,
    rip,
    frames,
    lastLine,
  };
}

/** Index of the first line of the last oops report before `before`, or -1. */
function oopsStart(body: readonly string[], before: number): number {
  let die = -1;
  for (let i = Math.min(before, body.length) - 1; i >= 0; i--) {
    if (DIE_HEADER.test(body[i] ?? '') && !/^\s/.test(body[i] ?? '')) {
      die = i;
      break;
    }
  }
  if (die < 0) {
    // No die() header (a WARNING, a soft lockup): the last report start is the best line there is.
    for (let i = Math.min(before, body.length) - 1; i >= 0; i--) if (REPORT_START.test(body[i] ?? '')) return i;
    return -1;
  }
  // `BUG: kernel NULL pointer dereference` or `kernel BUG at f.c:76!` comes a few lines above
  // `Oops: 0000 [#1]` / `invalid opcode: 0000 [#1]` and says more; stop at the previous report's end.
  let first = die;
  for (let i = die - 1; i >= 0 && i >= die - REPORT_LOOKBACK; i--) {
    const l = body[i] ?? '';
    if (REPORT_END.test(l)) break;
    if (REPORT_START.test(l)) first = i;
  }
  return first;
}

/** Frames from the indented lines after `Call Trace:`; reliable ones, or the `? ` guesses if that is all there is. */
function traceFrames(body: readonly string[], start: number): readonly string[] {
  const reliable: string[] = [];
  const guessed: string[] = [];
  for (let i = start; i < body.length && reliable.length < MAX_FRAMES; i++) {
    const raw = body[i] ?? '';
    // The trace ends where the indentation does (RIP:, Code:, ---[ end trace, the next message).
    if (!/^\s/.test(raw)) break;
    let t = raw.trim();
    if (MARKER.test(t)) continue;
    let unsure = false;
    if (t.startsWith('? ')) {
      unsure = true;
      t = t.slice(2);
    }
    // Older x86 and powerpc print addresses first; arm32 prints `(fn+0x/0x) from (...)`.
    t = t.replace(/^(?:\[<?[0-9a-f]+>?\]\s*)+/, '');
    const arm = /^\(([^)]+)\) from /.exec(t);
    if (arm?.[1] !== undefined) t = arm[1];
    if (/\(unreliable\)$/.test(t)) {
      unsure = true;
      t = t.replace(/\s*\(unreliable\)$/, '');
    }
    const m = FRAME.exec(t);
    if (m === null) continue;
    const frame = m[0];
    if (DUMP_HELPERS.has(frameFunction(frame))) continue;
    (unsure ? guessed : reliable).push(frame);
  }
  if (reliable.length > 0) return reliable;
  return guessed.slice(0, MAX_FRAMES).map((f) => `? ${f}`);
}

/** The function name of a frame (`panic+0x118/0x2f4 [mod]` -> `panic`). */
export function frameFunction(frame: string): string {
  return frame.replace(/^\? /, '').replace(/\+0x.*$/, '');
}
