// A progress bar on stderr for work that takes more than a second; silent when not a TTY
// except for a final line, so logs stay readable.

export interface Progress {
  update(done: number, total: number): void;
  done(): void;
}

/** A bar that appears only after one second and redraws at most ten times a second. */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - started < 1000 || now - last < 100 || !stream.isTTY) return;
      last = now;
      shown = true;
      const frac = total ? done / total : 0;
      const width = 30;
      const fill = Math.round(frac * width);
      const rate = done / 1e6 / ((now - started) / 1000);
      stream.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0)}% ${rate.toFixed(0)} MB/s`);
    },
    done() {
      if (shown) stream.write('\n');
    },
  };
}
