/**
 * The README's command table is a walkthrough, and this test runs it: every `tiedet …` example of the table under
 * "## Command line", in table order, exactly as written, from an empty folder (with this repository's test/ fixtures
 * linked in), through the real CLI `main`. Each must exit 0 without a stack trace, and every command of
 * `tiedet --help` must have a row — so the README cannot drift from what the commands accept.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../hostile/in-process.js';
import { runCli } from './run-cli.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The `tiedet …` examples of the README's command table, in order, as argv arrays. */
export function readmeCommandExamples(readme: string): { command: string; argv: string[] }[] {
  const section = readme.slice(readme.indexOf('## Command line'));
  const table = section.slice(section.indexOf('| command |'), section.indexOf('\n\n', section.indexOf('| command |')));
  const out: { command: string; argv: string[] }[] = [];
  for (const row of table.split('\n').slice(2)) {
    const cells = row.split(' | ');
    const example = /`(tiedet [^`]+)`/.exec(cells[cells.length - 1] ?? '');
    const command = /^\| `([^`]+)`/.exec(row)?.[1];
    if (!example || !command) throw new Error(`README command table: no \`tiedet …\` example in the row of ${command ?? row.slice(0, 40)}`);
    out.push({ command, argv: example[1]!.split(/\s+/).slice(1) });
  }
  return out;
}

const examples = readmeCommandExamples(readFileSync(join(root, 'README.md'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'tiedet-readme-'));
symlinkSync(join(root, 'test'), join(dir, 'test'));
const cwd = process.cwd();
process.chdir(dir);
afterAll(() => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
});

describe('README command table: every example runs as written', () => {
  it('has an example for every command the CLI has', async () => {
    const help = runCli(['--help']);
    const commands = [...help.stdout.matchAll(/^ {2}tiedet ([a-z-]+)/gm)].map((m) => m[1]!);
    expect(commands.length).toBeGreaterThan(10);
    for (const c of commands) expect(examples.map((e) => e.command), `README has no row for '${c}'`).toContain(c);
  });

  for (const { command, argv } of examples) {
    it(`tiedet ${argv.join(' ')}`, async () => {
      const r = await runInProcess(argv, 240_000);
      expect(r.code, `${command}: ${r.stderr.slice(-1500)}`).toBe(0);
      expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    }, 300_000);
  }
});
