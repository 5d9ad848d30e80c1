// The package as a user meets it: `npm pack` the project, install the tarball into an empty
// project, run its `ramoops` bin (--help, then an extract of a real capture that must equal the
// in-tree CLI's output byte for byte), and compile a tiny strict TypeScript program that
// imports `ramoops-harness/parser` (its types must resolve from the tarball's .d.ts) and parses
// the same capture with ssh2, execa and yargs removed: the parser must not need them.
//
// Offline by preference: `npm install --prefer-offline` takes the dependencies from npm's cache
// (filled by `npm ci`), so the network is only asked for what the cache lacks. The pack skips
// lifecycle scripts: the tests run on the dist/ already compiled, and `prepare` would rebuild it
// under them. RAMOOPS_SKIP_INTEGRATION=1 skips, like the other suites here.
import test, { type ExecutionContext } from 'ava';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onPath, serialUnless } from '../helpers/integration.js';
import { fixturesDir, repoRoot } from '../helpers/paths.js';

/** The issue's bound ("under 2 MB unpacked without fixtures"), and a file count that catches a stray folder. */
const MAX_UNPACKED_BYTES = 2_000_000;
const MAX_FILES = 500;

const skip = process.env['RAMOOPS_SKIP_INTEGRATION'] === '1' ? 'RAMOOPS_SKIP_INTEGRATION=1' : onPath('npm') ? undefined : 'npm is not installed';
const serial = serialUnless(skip);

const C61 = join(fixturesDir(), 'c61-full-deflate');
const c61Cmdline = (): string => readFileSync(join(C61, 'guest-info.txt'), 'utf8').split('\n')[1] ?? '';
/** The Makefile's demo-extract, minus --out. */
const extractArgs = (): string[] => [
  'extract',
  join(C61, 'region.bin'),
  '--base',
  '0x8000000',
  '--cmdline',
  c61Cmdline(),
  '--kernel-version',
  '6.1.192',
  '--system-map',
  join(C61, 'System.map'),
];

const work = mkdtempSync(join(tmpdir(), 'rh-package-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

interface Packed {
  readonly filename: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly entryCount: number;
  readonly files: readonly { readonly path: string }[];
}

function run(t: ExecutionContext, cmd: string, args: readonly string[], cwd: string, timeout = 300_000): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (r.status !== 0) t.log(`${cmd} ${args.join(' ')}: exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${r.stderr}`);
  return r;
}

/**
 * name, size, sha256 and (dmesg: the record's time; other files get the time of the write, as
 * the kernel gives them the mount's) mtime of every file of an extraction folder, sorted.
 */
function listing(dir: string): string {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const bytes = readFileSync(join(dir, name));
      const mtime = name.startsWith('dmesg-') ? ` ${statSync(join(dir, name)).mtimeMs}` : '';
      return `${name} ${bytes.length} ${createHash('sha256').update(bytes).digest('hex')}${mtime}`;
    })
    .join('\n');
}

// The program a library user writes: strict TypeScript, node's own modules and the parser only.
const PROGRAM = `import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { configFromCmdline, extractRegion, parseSystemMap, type Extraction, type PstoreFile } from 'ramoops-harness/parser';

const [region, cmdline, release, systemMap] = process.argv.slice(2) as [string, string, string, string];
const config = configFromCmdline(cmdline, release);
const symbols = parseSystemMap(readFileSync(systemMap, 'utf8'));
const result: Extraction = extractRegion(new Uint8Array(readFileSync(region)), config, { symbols });
const line = (f: PstoreFile): string => \`\${f.name} \${f.bytes.length} \${createHash('sha256').update(f.bytes).digest('hex')}\`;
process.stdout.write([...result.files].sort((a, b) => (a.name < b.name ? -1 : 1)).map(line).join('\\n') + '\\n');
`;

function packageTest(t: ExecutionContext): void {
  const root = repoRoot();
  const packed = run(t, 'npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root);
  t.is(packed.status, 0);
  const info = (JSON.parse(packed.stdout) as Packed[])[0];
  if (info === undefined) {
    t.fail('npm pack printed no package');
    return;
  }
  t.log(`tarball: ${info.entryCount} files, ${info.unpackedSize} bytes unpacked, ${info.size} packed`);
  t.true(info.unpackedSize < MAX_UNPACKED_BYTES, `${info.unpackedSize} bytes unpacked`);
  t.true(info.entryCount < MAX_FILES, `${info.entryCount} files`);
  const paths = info.files.map((f) => f.path);
  t.deepEqual(
    paths.filter((p) => /^(test|dist\/test|tools|dist\/tools)\/|fixtures/.test(p)),
    [],
    'no tests, tools or fixtures in the tarball',
  );
  for (const needed of ['LICENSE', 'README.md', 'package.json', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/harness/cli/main.js']) {
    t.true(paths.includes(needed), needed);
  }

  // A fresh project: nothing but the tarball.
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'rh-package-test', version: '1.0.0', private: true, type: 'module' }));
  const install = run(t, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, info.filename)], app);
  t.is(install.status, 0, 'npm install of the tarball');
  const bin = join(app, 'node_modules', '.bin', 'ramoops');

  const help = run(t, bin, ['--help'], app);
  t.is(help.status, 0);
  for (const command of ['extract', 'layout', 'run', 'matrix', 'harvest']) t.regex(help.stdout, new RegExp(`ramoops ${command}\\b`));

  // The installed bin and the in-tree CLI on the same capture: the same files, bytes and mtimes.
  const installedOut = join(work, 'installed-out');
  const treeOut = join(work, 'tree-out');
  t.is(run(t, bin, [...extractArgs(), '--out', installedOut], app).status, 0);
  t.is(run(t, process.execPath, [join(root, 'dist', 'harness', 'cli', 'main.js'), ...extractArgs(), '--out', treeOut], root).status, 0);
  const expected = listing(treeOut);
  t.is(listing(installedOut), expected);
  t.true(readdirSync(treeOut).length >= 5, 'the capture has dmesg, console, pmsg and ftrace files');

  // The parser alone: what the harness needs goes, the program must still compile and run.
  for (const dep of ['ssh2', 'execa', 'yargs', 'tmp-promise']) rmSync(join(app, 'node_modules', dep), { recursive: true, force: true });
  writeFileSync(join(app, 'main.ts'), PROGRAM);
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        outDir: 'build',
        noEmitOnError: true,
        // @types/node as a user would have it (npm i -D @types/node); the parser's own types come from the tarball.
        typeRoots: [join(root, 'node_modules', '@types')],
        types: ['node'],
      },
      files: ['main.ts'],
    }),
  );
  const tsc = run(t, process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app);
  t.is(tsc.status, 0, `tsc: ${tsc.stdout}`);
  const parsed = run(t, process.execPath, [join(app, 'build', 'main.js'), join(C61, 'region.bin'), c61Cmdline(), '6.1.192', join(C61, 'System.map')], app);
  t.is(parsed.status, 0);
  // The CLI's listing without mtimes (the library gives them as values, not file times).
  t.is(parsed.stdout, expected.replace(/ [\d.]+$/gm, '').replace(/$/, '\n'));
}

serial('npm pack, install the tarball, run the bin, import the parser from TypeScript', (t) => Promise.resolve(packageTest(t)));
