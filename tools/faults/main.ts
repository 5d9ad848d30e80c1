// `make faults`: the fault-injection suite's long version. Every fault in every phase where it
// applies, --repeat times (default 3: 7 faults x 8 phases, less the 4 cells that cannot apply,
// is 52 cells, so 156 faulted runs), one run at a time; prints each result as it comes, then
// the table and the totals. Exit 0 only when every run reported as expected and nothing leaked.
//   node dist/tools/faults/main.js [--faults a,b] [--phases x,y] [--repeat N] [--json FILE]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { FAULTS, PHASES, type FaultName, type PhaseName } from './faults.js';
import { runOne, type FaultResult } from './run-one.js';
import { faultTable, problems, totals } from './table.js';

function listArg(name: string): string[] | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : (process.argv[i + 1] ?? '').split(',').filter((s) => s !== '');
}

async function main(): Promise<number> {
  const faults = (listArg('--faults') ?? [...FAULTS]) as FaultName[];
  const phases = (listArg('--phases') ?? PHASES.map((p) => p.name)) as PhaseName[];
  for (const f of faults) if (!(FAULTS as readonly string[]).includes(f)) throw new Error(`--faults: unknown fault ${f} (known: ${FAULTS.join(', ')})`);
  for (const p of phases)
    if (!PHASES.some((x) => x.name === p)) throw new Error(`--phases: unknown phase ${p} (known: ${PHASES.map((x) => x.name).join(', ')})`);
  const repeat = Number(listArg('--repeat')?.[0] ?? '3');
  const json = listArg('--json')?.[0];
  const cli = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'harness', 'cli', 'main.js');
  const results: FaultResult[] = [];
  for (let round = 1; round <= repeat; round++) {
    for (const f of faults) {
      for (const p of phases) {
        const r = await runOne(f, p, { cli, log: (l) => process.stderr.write(`faults: ${l}\n`) });
        results.push(r);
        if (r.outcome !== 'not-applicable') {
          process.stdout.write(
            `${round}/${repeat} ${f} at ${p}: ${r.outcome}, exit ${r.exitCode}, ${r.seconds} s${r.leaks.length > 0 ? `, LEAKS ${r.leaks.join(', ')}` : ''}${r.why.length > 0 ? ` (${r.why.join('; ')})` : ''}\n`,
          );
        }
        if (json !== undefined) writeFileSync(json, JSON.stringify(results, null, 2));
      }
    }
  }
  process.stdout.write(`\n${faultTable(results)}\n`);
  const bad = problems(results);
  if (bad.length > 0) process.stdout.write(`\n${bad.join('\n')}\n`);
  const t = totals(results);
  return t.reported === t.tried && t.leaks === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`faults: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
