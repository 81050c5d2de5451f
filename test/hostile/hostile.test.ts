/**
 * The hostile-input suite (issue 22): every case of test/hostile/cases.ts through the real CLI `main`, in this
 * process. For each: the exit code, the one-line message (its last stderr line, which names file / record / field
 * or the option), no stack trace or internal error text, every input file byte-identical afterwards, finished within
 * its time limit, resident memory grown by less than 1 GiB.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCases } from './cases.js';
import { runInProcess } from './in-process.js';

const dir = mkdtempSync(join(tmpdir(), 'tiedet-hostile-'));
mkdirSync(join(dir, 'out'));
const { cases, inputs } = buildCases(dir);

function hashOf(path: string): string {
  if (!existsSync(path)) return 'missing';
  const st = statSync(path);
  if (st.isDirectory()) return `dir:${readdirSync(path).sort().map((f) => `${f}=${hashOf(join(path, f))}`).join(',')}`;
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Text that means an internal error leaked instead of a message for the user. */
const INTERNAL = /^\s+at .+[:(]\d+|TypeError|ReferenceError|RangeError|SyntaxError|is not a function|is not iterable|Cannot read propert|undefined \(reading|Maximum call stack|Invalid typed array length|\[object Object\]/m;

const totals = { cases: 0, passed: 0, stackTraces: 0, inputsChanged: 0, hangs: 0, maxMs: 0, maxRssGrowthMiB: 0 };

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  process.stderr.write(
    `hostile-input suite: ${totals.cases} cases, ${totals.passed} as expected; ${totals.stackTraces} stack traces, ` +
      `${totals.inputsChanged} inputs changed, ${totals.hangs} hangs; slowest ${totals.maxMs.toFixed(0)} ms, ` +
      `largest RSS growth ${totals.maxRssGrowthMiB.toFixed(0)} MiB\n`,
  );
});

describe('hostile input: one clear line, nothing lost, no hang', () => {
  it('has at least 250 generated cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(250);
  });

  for (const c of cases) {
    it(c.name, async () => {
      totals.cases++;
      const watched = [...inputs, ...(c.keep ?? [])];
      c.setup?.();
      const before = watched.map(hashOf);
      const r = await runInProcess(c.argv, c.timeoutMs ?? 10_000);
      const after = watched.map(hashOf);
      const changed = watched.filter((_, i) => before[i] !== after[i]);
      const both = `${r.stdout}\n${r.stderr}`;
      if (INTERNAL.test(r.stderr)) totals.stackTraces++;
      if (changed.length) totals.inputsChanged++;
      if (r.code === 'hang') totals.hangs++;
      totals.maxMs = Math.max(totals.maxMs, r.ms);
      totals.maxRssGrowthMiB = Math.max(totals.maxRssGrowthMiB, r.rssGrowth / 2 ** 20);

      const ctx = `argv: ${JSON.stringify(c.argv)}\nexit ${r.code}\nstderr: ${r.stderr.slice(-2000)}\nstdout: ${r.stdout.slice(-500)}`;
      expect(r.code, ctx).not.toBe('hang');
      expect(changed, ctx).toEqual([]);
      expect(r.stderr, ctx).not.toMatch(INTERNAL);
      expect(r.rssGrowth, ctx).toBeLessThan(2 ** 30);
      expect(r.code, ctx).toBe(c.code);
      if (c.code !== 0) {
        const lines = r.stderr.trimEnd().split('\n');
        const last = lines[lines.length - 1]!;
        expect(last, ctx).toMatch(/^tiedet: /);
        // the message is one line: nothing of it continues onto further lines
        expect(last.length, ctx).toBeLessThan(1200);
        if (c.expect) expect(last, ctx).toMatch(c.expect);
      } else if (c.expect) {
        expect(both, ctx).toMatch(c.expect);
      }
      totals.passed++;
    }, 60_000);
  }
});
