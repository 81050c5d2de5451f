import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/nn/rng.js';

describe('Rng (xoshiro128**, SplitMix32 seeding)', () => {
  it('matches the xoshiro128** reference sequence from state [1, 2, 3, 4]', () => {
    const r = Rng.fromState([1, 2, 3, 4]);
    expect(Array.from({ length: 6 }, () => r.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('seeds through SplitMix32 (values from an independent Python implementation)', () => {
    const r = new Rng(42);
    expect(r.getState()).toEqual([939911724, 3948730756, 321366731, 3317318717]);
    expect(Array.from({ length: 4 }, () => r.nextUint32())).toEqual([2837322924, 544945897, 479756282, 3500138142]);
  });

  it('same seed → same stream; different seeds → different streams; string seeds', () => {
    const a = new Rng(7).normalArray(100);
    const b = new Rng(7).normalArray(100);
    const c = new Rng(8).normalArray(100);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(new Rng('layer1.0.conv1').uniform()).toBe(new Rng('layer1.0.conv1').uniform());
    expect(new Rng('a').uniform()).not.toBe(new Rng('b').uniform());
    expect(() => new Rng(0.5)).toThrow(/safe integer/);
  });

  it('uniform in [low, high) with the right moments', () => {
    const u = new Rng(1).uniformArray(100_000, -2, 3);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const v of u) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    expect(min).toBeGreaterThanOrEqual(-2);
    expect(max).toBeLessThan(3);
    expect(sum / u.length).toBeCloseTo(0.5, 1);
  });

  it('normal (Box–Muller) has mean ≈ μ and std ≈ σ, odd lengths allowed', () => {
    const z = new Rng(2).normalArray(100_001, 1.5, 2);
    let sum = 0;
    let sq = 0;
    for (const v of z) {
      sum += v;
      sq += v * v;
    }
    const mean = sum / z.length;
    const std = Math.sqrt(sq / z.length - mean * mean);
    expect(Math.abs(mean - 1.5)).toBeLessThan(0.03);
    expect(Math.abs(std - 2)).toBeLessThan(0.03);
    expect(z.every((v) => Number.isFinite(v))).toBe(true);
  });

  it('state save/restore and split are exact', () => {
    const r = new Rng(3);
    r.nextUint32();
    const st = r.getState();
    const next = [r.uniform(), r.normal(), r.int(10)];
    r.setState(st);
    expect([r.uniform(), r.normal(), r.int(10)]).toEqual(next);
    const c1 = new Rng(9).split();
    const c2 = new Rng(9).split();
    expect(c1.getState()).toEqual(c2.getState());
    expect(() => r.setState([0, 0, 0, 0])).toThrow(/all-zero/);
  });

  it('int(n) covers [0, n) evenly; shuffle is a deterministic permutation', () => {
    const counts = new Array<number>(6).fill(0);
    const r = new Rng(4);
    for (let i = 0; i < 60_000; i++) counts[r.int(6)]! += 1;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
    const a = new Rng(5).shuffle([...Array(20).keys()]);
    const b = new Rng(5).shuffle([...Array(20).keys()]);
    expect(a).toEqual(b);
    expect([...a].sort((x, y) => x - y)).toEqual([...Array(20).keys()]);
  });

  it('no Math.random in src/', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts') && /Math\.random\s*\(/.test(readFileSync(p, 'utf8'))) offenders.push(p);
      }
    };
    walk(join(import.meta.dirname, '..', '..', 'src'));
    expect(offenders).toEqual([]);
  });
});
