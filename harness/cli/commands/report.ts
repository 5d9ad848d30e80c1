// `ramoops report merge DIR... --out DIR`: shard folders of one matrix -> one matrix folder
// (matrix.json, junit.xml, every cell's folder). The work is harness/matrix/merge.ts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { prepareOutDir, writeConfined } from '../../io/artifacts.js';
import { mergeShards } from '../../matrix/merge.js';
import { matrixText } from './matrix.js';
import { checkKcidbArgs, kcidbYargs, writeKcidbFile, type KcidbArgs } from '../kcidb-options.js';

interface MergeArgs extends KcidbArgs {
  dirs: string[];
  out: string;
  json: boolean;
  junit?: string;
}

export const mergeCommand: CommandModule<object, MergeArgs> = {
  command: 'merge <dirs..>',
  describe: "merge the --out folders of 'ramoops matrix --shard i/N' runs (any order) into one matrix folder",
  builder: (y: Argv) =>
    kcidbYargs(y)
      .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'every shard folder of one matrix' })
      .option('out', { type: 'string', demandOption: true, describe: 'the merged folder: matrix.json, junit.xml, cells/' })
      .option('json', { type: 'boolean', default: false, describe: 'print the merged matrix.json instead of the table' })
      .option('junit', { type: 'string', describe: 'also copy the merged JUnit XML here' })
      .epilog(
        'Refused (exit 2, one line naming the folder): a shard of another matrix (other options), a cell or shard given twice, a missing shard.\nExit codes otherwise as ramoops matrix: 0 every cell passed or was skipped; 1 a mismatch; 2 a fault.',
      ),
  handler: (a) => {
    checkKcidbArgs(a);
    const report = mergeShards(a.dirs, a.out);
    if (a.junit !== undefined) {
      const file = path.resolve(a.junit);
      writeConfined(prepareOutDir(path.dirname(file)), path.basename(file), readFileSync(path.join(report.outDir, 'junit.xml')));
    }
    const kcidb = writeKcidbFile(a, report.outDir);
    if (kcidb !== undefined) process.stderr.write(`ramoops report merge: KCIDB results (schema v5.3) in ${kcidb}\n`);
    process.stdout.write(a.json ? JSON.stringify(report, null, 2) + '\n' : matrixText(report));
    process.exitCode = report.exitCode;
  },
};

export const reportCommand: CommandModule = {
  command: 'report <command>',
  describe: 'work on result folders: merge shards of a matrix',
  builder: (y: Argv) => y.command(mergeCommand as unknown as CommandModule).demandCommand(1, 'name a report command: merge'),
  handler: () => undefined,
};
