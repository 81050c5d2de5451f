/**
 * The JSON syntax-error locator (eval/json-syntax.ts): it agrees with JSON.parse on what is valid (random texts
 * and random corruptions of valid ones), points where V8 points when V8 gives a position, survives deep nesting, and
 * parseJson turns its result into `file: invalid JSON (line L, column C): why`.
 */
import { describe, expect, it } from 'vitest';
import { findJsonSyntaxError, lineColumn } from '../../eval/json-syntax.js';
import { parseJson } from '../../eval/json.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 4 : 6));
  if (k === 0) return Math.floor(r() * 2000 - 1000) / (r() < 0.5 ? 1 : 7);
  if (k === 1) return ['', 'a', 'é"\\', '\n\t', 'x\u0001'][Math.floor(r() * 5)];
  if (k === 2) return [true, false, null][Math.floor(r() * 3)];
  if (k === 3) return 1e21 * (r() - 0.5);
  if (k === 4) return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, (_, i) => [`k${i}`, randomValue(r, depth + 1)]));
}

const validity = (t: string) => {
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
};

describe('findJsonSyntaxError', () => {
  it('agrees with JSON.parse on 3000 random texts and corruptions (valid ⇔ null)', () => {
    const r = rng(7);
    const junk = ['', ',', ']', '}', '"', ':', 'x', ' ', '\n', '0', '-', '.', 'e', 'tru', '\\'];
    for (let n = 0; n < 3000; n++) {
      let t = JSON.stringify(randomValue(r, 0), null, r() < 0.5 ? 1 : undefined) ?? 'null';
      if (n % 3 !== 0) {
        const at = Math.floor(r() * (t.length + 1));
        const cut = Math.floor(r() * 3);
        t = t.slice(0, at) + junk[Math.floor(r() * junk.length)] + t.slice(at + cut);
      }
      const issue = findJsonSyntaxError(t);
      expect(issue === null, `${JSON.stringify(t)} → ${JSON.stringify(issue)}`).toBe(validity(t));
      if (issue) expect(issue.offset).toBeLessThanOrEqual(t.length);
    }
  });

  it('points where V8 points when V8 reports a position', () => {
    const r = rng(11);
    let compared = 0;
    for (let n = 0; n < 2000; n++) {
      const t0 = JSON.stringify(randomValue(r, 0)) ?? 'null';
      const at = Math.floor(r() * (t0.length + 1));
      const t = t0.slice(0, at) + [',', ':', '}', 'x'][n % 4] + t0.slice(at);
      let pos: number | undefined;
      try {
        JSON.parse(t);
      } catch (e) {
        const m = /at position (\d+)/.exec((e as Error).message);
        if (m) pos = Number(m[1]);
      }
      if (pos === undefined) continue;
      compared++;
      expect(findJsonSyntaxError(t)?.offset, t).toBe(pos);
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('deep nesting is no problem (iterative)', () => {
    expect(findJsonSyntaxError('['.repeat(1_000_000) + ']'.repeat(1_000_000))).toBeNull();
    expect(findJsonSyntaxError('['.repeat(1_000_000))).toMatchObject({ offset: 1_000_000, reason: expect.stringMatching(/unexpected end/) });
  });

  it('line and column, 1-based', () => {
    expect(lineColumn('ab\ncd\nef', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('ab\ncd\nef', 4)).toEqual({ line: 2, column: 2 });
    expect(lineColumn('ab\ncd\nef', 8)).toEqual({ line: 3, column: 3 });
  });
});

describe('parseJson messages', () => {
  const msg = (t: string) => {
    try {
      parseJson(t, 'f.json');
    } catch (e) {
      return (e as Error).message;
    }
    return 'parsed';
  };
  it('name the file, line and column and say why', () => {
    expect(msg('{\n  "a": 1,\n  "b": }')).toBe("f.json: invalid JSON (line 3, column 8): expected a value, got '}' (a trailing comma before '}'?)");
    expect(msg('[1, 2')).toBe("f.json: invalid JSON (line 1, column 6): unexpected end of input (1 unclosed '[')");
    expect(msg('\ufeff[]')).toMatch(/^f\.json: starts with a UTF-8 byte-order mark \(BOM\)/);
    expect(msg('')).toBe('f.json: invalid JSON: the file is empty');
    expect(msg('{"a": NaN}')).toBe('parsed'); // Python's literals are read (and validated by the caller)
  });
});
