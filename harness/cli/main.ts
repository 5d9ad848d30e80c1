#!/usr/bin/env node
// Thin CLI: parse flags, call src/ or harness/, print. Exit codes: see --help of each command.
import { commandsFor, fastCommand } from './commands/index.js';
import { InputError, reportError } from './input.js';

async function main(): Promise<void> {
  // What hideBin (yargs/helpers) gives under Node: the arguments after the script.
  const args = process.argv.slice(2);
  // A plain `scan <dump> [flags]` runs without yargs: loading and setting it up (and the help
  // text yargs prepares for every command run) costs about as much as scanning a GiB.
  const fast = await fastCommand(args);
  if (fast) return fast();
  const { default: yargs } = await import('yargs');
  let y = yargs(args)
    .scriptName('ramoops')
    .usage('$0 <command> [options]\n\nRead Linux pstore/ramoops from RAM, prove crash capture in QEMU guests.')
    .strict()
    .demandCommand(1, 'name a command')
    // `ramoops completion >> ~/.bashrc` (or ~/.zshrc): yargs prints the script.
    .completion('completion', 'print a bash/zsh completion script for ramoops')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .help()
    // Usage errors are errors of input: exit 2 like every other refusal, with a pointer to --help.
    .fail((msg: string | undefined, err: Error | undefined) => {
      if (err) throw err;
      process.exit(reportError(new InputError('', `${msg ?? 'invalid usage'} (see ramoops --help)`), args));
    });
  for (const c of await commandsFor(args)) y = y.command(c);
  await y.parseAsync();
}

main().catch((e: unknown) => {
  const code = reportError(e, process.argv.slice(2));
  process.exit(process.exitCode && process.exitCode !== 0 ? process.exitCode : code);
});
