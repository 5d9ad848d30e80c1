// Benchmark entry point (`make bench`): runs each bench in turn and prints its report.
// Add a bench by importing it and appending it to BENCHES. Names given on the command line
// (e.g. `node dist/test/bench/run.js ecc`) select a subset.
import { benchCycle } from './cycle.js';
import { benchEcc } from './ecc.js';
import { benchMatrix } from './matrix.js';
import { benchScan } from './scan.js';

/** Every bench: a name for selection and a function returning printable report lines. */
export const BENCHES: ReadonlyArray<readonly [name: string, run: () => Promise<string>]> = [
  ['ecc', benchEcc],
  ['scan', benchScan],
  ['cycle', benchCycle],
  ['matrix', benchMatrix],
];

const wanted = process.argv.slice(2);
for (const [name, run] of BENCHES) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(await run());
}
