/**
 * Seeded data order: a permutation per (seed, epoch), independent of history; `indexedData` cuts it into
 * micro-batches and resumes at any micro-batch without loading the earlier ones.
 */
import { describe, expect, it } from 'vitest';
import { epochOrder, indexedData, sampleRng } from '../../src/train/sampler.js';

async function collect<B>(it: Iterable<B> | AsyncIterable<B>): Promise<B[]> {
  const out: B[] = [];
  for await (const b of it as AsyncIterable<B>) out.push(b);
  return out;
}

describe('sampler', () => {
  it('epochOrder is a permutation fixed by (seed, epoch)', () => {
    const a = epochOrder(50, 3, 0);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(epochOrder(50, 3, 0)).toEqual(a);
    expect(epochOrder(50, 3, 1)).not.toEqual(a);
    expect(epochOrder(50, 4, 0)).not.toEqual(a);
    expect(epochOrder(5, 3, 0, false)).toEqual([0, 1, 2, 3, 4]);
    expect(sampleRng(1, 2, 3).getState()).toEqual(sampleRng(1, 2, 3).getState());
    expect(sampleRng(1, 2, 3).getState()).not.toEqual(sampleRng(1, 2, 4).getState());
  });

  it('indexedData: micro-batches of the epoch order, last one short, resumable at any position', async () => {
    const loaded: number[][] = [];
    const data = indexedData({ size: 10, batchSize: 4, seed: 1, load: (idx) => (loaded.push(idx), idx) });
    expect(data.batchesPerEpoch).toBe(3);
    const full = await collect(data.batches(2, 0));
    expect(full.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(full.flat()).toEqual(epochOrder(10, 1, 2));
    loaded.length = 0;
    expect(await collect(data.batches(2, 1))).toEqual(full.slice(1));
    expect(loaded).toEqual(full.slice(1)); // batch 0 was not loaded
    expect(await collect(data.batches(2, 3))).toEqual([]);
    expect(() => data.batches(0, 4)).toThrow(/start must be an integer in \[0, 3\]/);
    expect(indexedData({ size: 10, batchSize: 4, seed: 1, dropLast: true, load: (i) => i }).batchesPerEpoch).toBe(2);
  });
});
