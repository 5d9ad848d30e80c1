#!/usr/bin/env node
// Thin CLI: parse flags, call src/ or harness/, print. Exit codes: see --help of each command.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commandsFor } from './commands/index.js';

async function main(): Promise<void> {
  const args = hideBin(process.argv);
  let y = yargs(args)
    .scriptName('ramoops')
    .usage('$0 <command> [options]\n\nRead Linux pstore/ramoops from RAM, prove crash capture in QEMU guests.')
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .help()
    // Usage errors are errors of input: exit 2 like every other refusal, with a pointer to --help.
    .fail((msg: string | undefined, err: Error | undefined) => {
      if (err) throw err;
      process.stderr.write(`ramoops: ${msg ?? 'invalid usage'} (see ramoops --help)\n`);
      process.exit(2);
    });
  for (const c of await commandsFor(args)) y = y.command(c);
  await y.parseAsync();
}

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`ramoops: ${msg}\n`);
  process.exit(process.exitCode && process.exitCode !== 0 ? process.exitCode : 2);
});
