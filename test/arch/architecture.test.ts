/**
 * Architecture checks. The import rules live in .dependency-cruiser.cjs (dependency-cruiser parses and
 * resolves the imports, type-only ones included): no cycles in schema/, server/, cli/, trainer/, bench/;
 * schema/ imports none of them; server/db, server/oci, server/registry and server/identity.ts import nothing
 * from jobs, graphql, web, attest, lineage or the CLI. The size rule is a plain line count here. Each test
 * prints every violation it found, one per line, before failing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SOURCE_DIRS = ['schema', 'server', 'cli', 'trainer', 'bench', 'test'];
const MAX_LINES = 400;

// dependency-cruiser names modules relative to the working directory and reads tsconfig.json from it.
process.chdir(ROOT);

let cruised: Promise<ICruiseResult> | undefined;
/** One cruise for all the import tests (about 3 s). */
function cruiseOnce(): Promise<ICruiseResult> {
  cruised ??= (async () => {
    const options = await extractDepcruiseOptions(join(ROOT, '.dependency-cruiser.cjs'));
    const { output } = await cruise(SOURCE_DIRS, options);
    assert.ok(typeof output === 'object', 'dependency-cruiser returns its result as an object without an outputType');
    return output;
  })();
  return cruised;
}

/** One line per violation; a cycle is written from its alphabetically first module, so each cycle reads the same whichever module reported it. */
function describe(v: IViolation): string {
  let chain = `${v.from} → ${v.to}`;
  if (v.cycle?.length) {
    const ring = v.cycle.map((c) => c.name); // ends with v.from
    const first = ring.indexOf([...ring].sort()[0]!);
    const rotated = [...ring.slice(first), ...ring.slice(0, first)];
    chain = [...rotated, rotated[0]].join(' → ');
  }
  const types =
    v.cycle?.some((c) => c.dependencyTypes.includes('type-only')) || v.dependencyTypes?.includes('type-only')
      ? ' (through a type-only import)'
      : '';
  return `  ${v.rule.name}: ${chain}${types}`;
}

/** Asserts none of `rules` was broken; prints every violation of them first. */
async function assertRuleHolds(...rules: string[]): Promise<void> {
  const { summary } = await cruiseOnce();
  const found = summary.violations.filter((v) => rules.includes(v.rule.name));
  // A cycle may be reported by more than one module on it; list each cycle once.
  const lines = [...new Set(found.map(describe))];
  if (lines.length) console.log(`${rules.join(', ')}: ${lines.length} violation(s)\n${lines.join('\n')}`);
  assert.deepEqual(
    lines,
    [],
    `${rules.join(', ')} broken (rules and reasons in .dependency-cruiser.cjs):\n${lines.join('\n')}`,
  );
}

test('the cruise sees every module and resolves every local import (else the rules below would pass vacuously)', async () => {
  const result = await cruiseOnce();
  const sources = new Set(result.modules.map((m) => m.source));
  for (const f of [
    'schema/api.ts',
    'server/app.ts',
    'server/attest/keys.ts',
    'cli/bin.js',
    'trainer/main.ts',
    'bench/registry/run.ts',
  ])
    assert.ok(sources.has(f), `${f} cruised`);
  const unresolved = result.modules.flatMap((m) =>
    m.dependencies
      .filter((d) => d.couldNotResolve && /^\.{1,2}\//.test(d.module))
      .map((d) => `  ${m.source} imports ${d.module}`),
  );
  assert.deepEqual(unresolved, [], `local imports dependency-cruiser could not resolve:\n${unresolved.join('\n')}`);
});

test('no import cycles in schema/, server/, cli/, trainer/, bench/ (type-only imports count)', async () => {
  await assertRuleHolds('no-circular');
});

test('layering: schema/ imports no other part; server/db, oci, registry and identity.ts import no higher layer', async () => {
  await assertRuleHolds('schema-is-the-bottom', 'lower-server-layers-stay-low');
});

const SOURCE = /\.(ts|js|mjs|cjs)$/;
/** Vendored or minified files are not written here and need not be split. */
const VENDORED = /(^|\/)vendor\/|\.min\.js$/;

/**
 * The *.ts and *.js sources under SOURCE_DIRS: what git tracks or would track (`git ls-files` reads, never
 * writes), so build outputs and other ignored files (trainer/dist's bundles, test/.out) are left out.
 * Outside a git checkout, a walk that skips node_modules, dist and dot-directories.
 */
async function sourceFiles(): Promise<string[]> {
  const git = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z', '--', ...SOURCE_DIRS], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const listed = git.status === 0 ? git.stdout.split('\0').filter(Boolean) : await walk(SOURCE_DIRS);
  // A file deleted in the working tree is still in the index until the deletion is committed.
  return [...new Set(listed)].filter((f) => SOURCE.test(f) && !VENDORED.test(f) && existsSync(join(ROOT, f))).sort();
}

async function walk(dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const dir of dirs) {
    for (const e of await readdir(join(ROOT, dir), { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, e.name);
      if (!e.isDirectory()) out.push(path);
      else if (!['node_modules', 'dist'].includes(e.name) && !e.name.startsWith('.')) out.push(...(await walk([path])));
    }
  }
  return out;
}

test(`no source file is longer than ${MAX_LINES} lines`, async () => {
  const files = await sourceFiles();
  assert.ok(files.length > 100, `found ${files.length} source files`);
  const tooLong: string[] = [];
  for (const f of files) {
    const text = await readFile(join(ROOT, f), 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0); // as wc -l counts a file ending in a newline
    if (lines > MAX_LINES) tooLong.push(`  ${f}: ${lines} lines`);
  }
  if (tooLong.length) console.log(`longer than ${MAX_LINES} lines:\n${tooLong.join('\n')}`);
  assert.deepEqual(tooLong, [], `split these by topic:\n${tooLong.join('\n')}`);
});
