// Where the harness keeps what is expensive to make again (unpacked kernels, guest images).
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The cache root: $RAMOOPS_CACHE_DIR, else $XDG_CACHE_HOME/ramoops-harness, else ~/.cache/ramoops-harness. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['RAMOOPS_CACHE_DIR'];
  if (explicit !== undefined && explicit !== '') return resolve(explicit);
  const xdg = env['XDG_CACHE_HOME'];
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdg !== undefined && xdg.startsWith('/')) return join(xdg, 'ramoops-harness');
  return join(homedir(), '.cache', 'ramoops-harness');
}
