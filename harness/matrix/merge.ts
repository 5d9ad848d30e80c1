// `ramoops report merge`: shard folders (any order) -> one matrix folder, as if the matrix had
// run on one machine: the cells' folders copied under cells/, one matrix.json, one junit.xml.
// Every shard must be of the same matrix (id, options, shard count), no cell may come twice and
// every shard must be there: a merge that silently drops or doubles a cell is worse than none.
import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { prepareOutDir } from '../io/artifacts.js';
import type { RunReport } from '../report/run-report.js';
import { readShardManifest, ShardFolderError, type ShardManifest } from './manifest.js';
import { matrixExitCode, writeMatrixResults, type CellResult, type CellVerdict, type MatrixReport } from './run.js';

interface Shard {
  readonly dir: string;
  readonly manifest: ShardManifest;
  readonly report: MatrixReport;
}

function readShard(dir: string): Shard {
  const manifest = readShardManifest(dir);
  let report: MatrixReport;
  try {
    report = JSON.parse(readFileSync(path.join(dir, 'matrix.json'), 'utf8')) as MatrixReport;
  } catch {
    throw new ShardFolderError(`${dir}: shard ${manifest.shard.index}/${manifest.shard.count} has no readable matrix.json (did it finish?)`);
  }
  return { dir, manifest, report };
}

/** Checks the shards belong together and cover the matrix exactly once; throws ShardFolderError naming the odd one. */
export function checkShards(shards: readonly Shard[]): void {
  const first = shards[0];
  if (first === undefined) throw new ShardFolderError('no shard folders given');
  const f = first.manifest;
  const seenShard = new Map<number, string>();
  const seenCell = new Map<number, string>();
  for (const s of shards) {
    const m = s.manifest;
    if (m.matrixId !== f.matrixId || JSON.stringify(m.options) !== JSON.stringify(f.options)) {
      throw new ShardFolderError(
        `${s.dir}: a shard of another matrix (id ${m.matrixId}, ${first.dir} is ${f.matrixId}): run every shard with the same options`,
      );
    }
    if (m.shard.count !== f.shard.count)
      throw new ShardFolderError(`${s.dir}: shard ${m.shard.index}/${m.shard.count}, but ${first.dir} is one of ${f.shard.count}`);
    const twice = seenShard.get(m.shard.index);
    if (twice !== undefined) throw new ShardFolderError(`${s.dir}: shard ${m.shard.index}/${m.shard.count} is also in ${twice}`);
    seenShard.set(m.shard.index, s.dir);
    for (const c of s.report.cells) {
      const other = seenCell.get(c.index);
      if (other !== undefined) throw new ShardFolderError(`${s.dir}: cell ${c.index + 1} (${c.label}) is also in ${other}`);
      seenCell.set(c.index, s.dir);
    }
  }
  const missing = Array.from({ length: f.shard.count }, (_, i) => i + 1).filter((i) => !seenShard.has(i));
  if (missing.length > 0) throw new ShardFolderError(`shard(s) ${missing.map((i) => `${i}/${f.shard.count}`).join(', ')} missing: give every shard's folder`);
  const lost = Array.from({ length: f.matrixCells }, (_, i) => i).filter((i) => !seenCell.has(i));
  if (lost.length > 0) {
    const owner = (i: number): string => shards.find((s) => s.manifest.cells.some((c) => c.index === i))?.dir ?? '?';
    throw new ShardFolderError(`${owner(lost[0]!)}: cell ${lost[0]! + 1} has no result (${lost.length} cell(s) missing in all): rerun that shard`);
  }
}

function readReport(dir: string): RunReport | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as RunReport;
  } catch {
    return undefined;
  }
}

/** Merges shard folders into `outDir`; returns the merged report (also written as matrix.json, junit.xml and report.html). */
export function mergeShards(dirs: readonly string[], outDir: string): MatrixReport {
  const shards = dirs.map((d) => readShard(path.resolve(d))).sort((a, b) => a.manifest.shard.index - b.manifest.shard.index);
  checkShards(shards);
  const out = prepareOutDir(outDir);
  const results: CellResult[] = [];
  for (const s of shards) {
    for (const c of s.report.cells) {
      const to = path.join(out, 'cells', path.basename(c.outDir));
      // The shard's folder may have moved (a CI artifact): its cells are under its own cells/.
      cpSync(path.join(s.dir, 'cells', path.basename(c.outDir)), to, { recursive: true, errorOnExist: false });
      results.push({ ...c, outDir: to, report: readReport(to) });
    }
  }
  results.sort((a, b) => a.index - b.index);
  const f = shards[0]!;
  const specs = f.manifest.options['kernels'];
  const order = Array.isArray(specs) ? specs.map(String) : [];
  const kernels = [...new Map(shards.flatMap((s) => s.report.kernels).map((k) => [k.spec, k])).values()].sort(
    (a, b) => order.indexOf(a.spec) - order.indexOf(b.spec),
  );
  const count = (v: CellVerdict): number => results.filter((r) => r.verdict === v).length;
  const summary = { cells: results.length, pass: count('pass'), mismatch: count('mismatch'), fault: count('fault'), skipped: count('skipped') };
  const report: MatrixReport = {
    ...({
      matrixId: f.manifest.matrixId,
      shards: shards.map((s) => ({
        index: s.manifest.shard.index,
        count: s.manifest.shard.count,
        dir: s.dir,
        seconds: s.report.seconds,
        cells: s.report.cells.length,
        versions: s.manifest.versions,
      })),
    } as Record<string, unknown>),
    tool: 'ramoops-harness matrix',
    startedAt: shards.map((s) => s.report.startedAt).sort()[0] ?? '',
    seconds: Math.max(...shards.map((s) => s.report.seconds)),
    jobs: f.report.jobs,
    kernels,
    summary,
    exitCode: matrixExitCode(summary),
    cells: results.map(({ report: _r, ...rest }) => rest),
    outDir: out,
  };
  writeMatrixResults(out, report, results);
  return report;
}
