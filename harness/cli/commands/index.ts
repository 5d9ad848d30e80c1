// The CLI's command list. Each command lives in its own file and exports a yargs CommandModule.
import type { CommandModule } from 'yargs';
import { extractCommand } from './extract.js';
import { harvestCommand } from './harvest.js';
import { kernelCommand } from './kernel.js';
import { layoutCommand } from './layout.js';
import { runCommand } from './run.js';
import { scanCommand } from './scan.js';
import { validateCommand } from './validate.js';

// Commands differ in their argument types; yargs only needs them as modules.
export const commands: readonly CommandModule<object, never>[] = [
  extractCommand as unknown as CommandModule<object, never>,
  harvestCommand as unknown as CommandModule<object, never>,
  kernelCommand as unknown as CommandModule<object, never>,
  layoutCommand as unknown as CommandModule<object, never>,
  runCommand as unknown as CommandModule<object, never>,
  scanCommand as unknown as CommandModule<object, never>,
  validateCommand as unknown as CommandModule<object, never>,
];
