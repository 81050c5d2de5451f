/**
 * Progress bar (TTY: one line redrawn in place with speed, ETA, losses and lr; not a TTY: plain lines every N
 * iterations) with an injected clock — no wall-clock assertions — and the JSON-lines logger's encoding.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonlLogger, MetricWindow } from '../../src/train/logger.js';
import { formatDuration, formatValue, ProgressBar, renderBar, statusText } from '../../src/train/progress.js';

function fakeStream(isTTY: boolean, columns = 160) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns, write: (s: string) => writes.push(s) } };
}

describe('progress', () => {
  it('TTY: redraws one line with speed, ETA, losses and lr; log() prints above it', () => {
    const { writes, stream } = fakeStream(true);
    let t = 0;
    const bar = new ProgressBar({ total: 100, stream, now: () => t, minIntervalMs: 0 });
    bar.start(0);
    for (let i = 1; i <= 10; i++) {
      t += 500; // 2 it/s
      bar.update({ iteration: i, epoch: 1, epochs: 4, lr: 0.02, losses: { loss_cls: 0.5, loss: 1.25 } });
    }
    const last = writes[writes.length - 1]!;
    expect(last.startsWith('\r\x1b[2Kepoch 1/4 ▕')).toBe(true);
    expect(last).toContain('10/100 10.0% 2.00 it/s ETA 45s  loss 1.25 loss_cls 0.5  lr 2.00e-2');
    expect(last).not.toContain('\n');
    bar.log('eval @ iter 10: bbox_mAP 0.1');
    expect(writes.at(-2)).toBe('\r\x1b[2Keval @ iter 10: bbox_mAP 0.1\n');
    expect(writes.at(-1)).toBe(last); // the bar comes back
    bar.done();
    expect(writes.at(-1)).toBe('\n');
  });

  it('TTY: the line is cut to the terminal width and redraws are throttled', () => {
    const { writes, stream } = fakeStream(true, 60);
    let t = 0;
    const bar = new ProgressBar({ total: 1000, stream, now: () => t, minIntervalMs: 100 });
    bar.start(0);
    for (let i = 1; i <= 20; i++) {
      t += 10;
      bar.update({ iteration: i, epoch: 1, epochs: 1, lr: 0.01, losses: { loss: 1 } });
    }
    expect(writes.length).toBe(2); // at 10 ms and at 110 ms
    for (const w of writes) expect(w.replace('\r\x1b[2K', '').length).toBeLessThanOrEqual(59);
  });

  it('not a TTY: a plain line every N iterations and at the end', () => {
    const { writes, stream } = fakeStream(false);
    let t = 0;
    const bar = new ProgressBar({ total: 7, stream, every: 3, now: () => t });
    bar.start(0);
    for (let i = 1; i <= 7; i++) {
      t += 2000;
      bar.update({ iteration: i, epoch: 1, epochs: 1, lr: 0.1, losses: { loss: 2 } });
    }
    expect(writes).toEqual([
      'epoch 1/1 3/7 42.9% 0.50 it/s ETA 8s  loss 2  lr 1.00e-1\n',
      'epoch 1/1 6/7 85.7% 0.50 it/s ETA 2s  loss 2  lr 1.00e-1\n',
      'epoch 1/1 7/7 100.0% 0.50 it/s ETA 0s  loss 2  lr 1.00e-1\n',
    ]);
    bar.log('hello');
    expect(writes.at(-1)).toBe('hello\n');
  });

  it('formatting helpers', () => {
    expect([5, 65, 3725, 90000, -1].map(formatDuration)).toEqual(['5s', '1m05s', '1h02m', '1d01h', '--']);
    expect([0, 1.23456, 12345.6, 0.000123, Number.NaN].map(formatValue)).toEqual(['0', '1.235', '1.23e+4', '1.23e-4', 'NaN']);
    expect(renderBar(0, 4)).toBe('▕    ▏');
    expect(renderBar(0.5, 4)).toBe('▕██  ▏');
    expect(renderBar(1, 4)).toBe('▕████▏');
    expect(renderBar(0.5625, 4)).toBe('▕██▎ ▏');
    expect(statusText({ iteration: 0, epoch: 1, epochs: 1, lr: 1, losses: {} }, 10, null)).toBe('0/10 0.0% -- it/s ETA --  lr 1.00e+0');
  });
});

describe('JSON-lines logger', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tiedet-log-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('appends one JSON object per line; non-finite numbers become null with a note', () => {
    const path = join(dir, 'sub', 'log.jsonl');
    const log = new JsonlLogger(path);
    log.write({ mode: 'train', iter: 1, loss: 0.5 });
    log.write({ mode: 'train', iter: 2, loss: Number.NaN, loss_cls: Infinity });
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { mode: 'train', iter: 1, loss: 0.5 },
      { mode: 'train', iter: 2, loss: null, loss_nonfinite: 'NaN', loss_cls: null, loss_cls_nonfinite: 'Infinity' },
    ]);
  });

  it('MetricWindow averages each key over the times it was added', () => {
    const w = new MetricWindow();
    w.add({ a: 1, b: 10 });
    w.add({ a: 3 });
    expect(w.mean()).toEqual({ a: 2, b: 10 });
    expect(w.count('a')).toBe(2);
    w.reset();
    expect(w.mean()).toEqual({});
  });
});
