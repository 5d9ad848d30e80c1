// Open the dump the flags name, in whatever format it is (the flags: dump-flags.ts).
import { openDump } from '../../src/dump/detect.js';
import { openFileSource } from '../io/file-source.js';
import { dumpKind, dumpOptions, type DumpArgs, type OpenedDump } from './dump-flags.js';

export { dumpKind, dumpOptions, openRawFromArgs, withDumpOptions, type DumpArgs, type OpenedDump } from './dump-flags.js';

/** Open the dump named by the flags; call close() when done. */
export function openDumpFromArgs(a: DumpArgs): OpenedDump {
  const source = openFileSource(a.dump);
  try {
    const options = dumpOptions(a);
    const kind = dumpKind(a, () => source.read(0, Math.min(16, source.size)));
    return { memory: openDump(source, options), kind, close: () => source.close() };
  } catch (e) {
    source.close();
    throw e;
  }
}
