// shard.json: what makes a shard's folder self-contained and mergeable. The matrix's identity
// (matrixId over the options and the whole cell list), which shard of how many, the options as
// given, the tool versions that produced it, and the cells it was given (possibly none).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { writeConfined } from '../io/artifacts.js';
import { projectDir } from '../io/project-dir.js';
import type { MatrixCell } from './run.js';
import type { ShardSpec } from './shard.js';

export const SHARD_FILE = 'shard.json';

export interface ShardCell {
  readonly index: number;
  readonly kernel: string;
  readonly config: string;
  readonly scenario: string;
}

export interface ToolVersions {
  readonly ramoopsHarness: string;
  /** The first line of `qemu-system-* --version`, or undefined when it could not run. */
  readonly qemu: string | undefined;
  readonly node: string;
}

export interface ShardManifest {
  readonly tool: 'ramoops-harness matrix shard';
  readonly matrixId: string;
  readonly shard: ShardSpec;
  /** The options that decide the results (what matrixId hashes). */
  readonly options: Readonly<Record<string, unknown>>;
  /** The whole matrix's cell count, so a merge can tell a missing cell. */
  readonly matrixCells: number;
  readonly cells: readonly ShardCell[];
  readonly versions: ToolVersions;
  /** The command line that ran it. */
  readonly argv: readonly string[];
}

/** A shard folder that cannot be merged (one line naming the folder). */
export class ShardFolderError extends Error {
  override readonly name = 'ShardFolderError';
}

export function shardCell(c: MatrixCell): ShardCell {
  return { index: c.index, kernel: c.kernel, config: c.config, scenario: c.scenario };
}

/** Our version, node's, and QEMU's (undefined: the binary is not on this runner). */
export async function toolVersions(qemuBinary: string): Promise<ToolVersions> {
  const pkg = JSON.parse(readFileSync(projectDir('package.json'), 'utf8')) as { version?: string };
  const q = await execa(qemuBinary, ['--version'], { reject: false, stdin: 'ignore', timeout: 20_000 });
  const qemu = q.exitCode === 0 ? q.stdout.split('\n')[0]?.trim() : undefined;
  return { ramoopsHarness: pkg.version ?? 'unknown', qemu, node: process.version };
}

export function writeShardManifest(dir: string, m: ShardManifest): string {
  return writeConfined(dir, SHARD_FILE, new TextEncoder().encode(JSON.stringify(m, null, 2) + '\n'));
}

export function readShardManifest(dir: string): ShardManifest {
  let text: string;
  try {
    text = readFileSync(path.join(dir, SHARD_FILE), 'utf8');
  } catch {
    throw new ShardFolderError(`${dir}: no ${SHARD_FILE}; give the --out folder of a 'ramoops matrix --shard i/N' run`);
  }
  let m: Partial<ShardManifest>;
  try {
    m = JSON.parse(text) as Partial<ShardManifest>;
  } catch (e) {
    throw new ShardFolderError(`${path.join(dir, SHARD_FILE)}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (
    m.tool !== 'ramoops-harness matrix shard' ||
    typeof m.matrixId !== 'string' ||
    m.shard === undefined ||
    !Array.isArray(m.cells) ||
    typeof m.matrixCells !== 'number'
  ) {
    throw new ShardFolderError(`${path.join(dir, SHARD_FILE)}: not a shard manifest of ramoops matrix`);
  }
  return m as ShardManifest;
}
