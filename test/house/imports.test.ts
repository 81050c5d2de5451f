/**
 * The house's import direction (docs/ARCHITECTURE.md), checked on the source text of every module:
 *
 *   src → eval → data → detectors → configs → tools      (a room imports only the rooms before it)
 *
 * and, among the CLI's command files (tools/*.ts exporting a yargs `CommandModule`), none imports another: what
 * two commands share lives in a helper file of its own (tools/cli-args.ts, tools/cli-error.ts, …).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../eval/shared-coco.js';

const ROOMS = ['src', 'eval', 'data', 'detectors', 'configs', 'tools'] as const;
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(REPO_ROOT, dir))) {
    const rel = join(dir, name);
    if (statSync(join(REPO_ROOT, rel)).isDirectory()) out.push(...tsFiles(rel));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Repository-relative targets (with .ts) of a file's relative imports. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = (m[1] ?? m[2])!;
    out.push(normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts'));
  }
  return out;
}

const roomOf = (path: string): number => ROOMS.indexOf(path.split('/')[0] as (typeof ROOMS)[number]);

describe('import direction', () => {
  const files = ROOMS.flatMap((r) => tsFiles(r));

  it('finds the modules and their imports', () => {
    expect(files.length).toBeGreaterThan(200);
    expect(importsOf('detectors/anchor-targets.ts')).toContain('src/ops/assigner.ts');
  });

  it('a room imports only the rooms before it (src → eval → data → detectors → configs → tools)', () => {
    const bad: string[] = [];
    for (const f of files) {
      const own = roomOf(f);
      for (const t of importsOf(f)) {
        const r = roomOf(t);
        if (r > own) bad.push(`${f} → ${relative('.', t)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('no CLI command file imports another', () => {
    const commands = new Set(
      tsFiles('tools').filter((f) => f !== 'tools/cli.ts' && /:\s*CommandModule</.test(readFileSync(join(REPO_ROOT, f), 'utf8'))),
    );
    expect(commands.size).toBeGreaterThanOrEqual(10);
    const bad: string[] = [];
    for (const f of tsFiles('tools')) {
      if (f === 'tools/cli.ts') continue;
      for (const t of importsOf(f)) if (commands.has(t)) bad.push(`${f} → ${t}`);
    }
    expect(bad).toEqual([]);
  });
});
