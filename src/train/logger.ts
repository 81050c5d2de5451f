/**
 * The training log: one JSON object per line (JSON Lines), appended and flushed line by line so a crash loses at
 * most the line being written. The fields follow mmdetection's `scalars.json` (vis_data) closely enough that the
 * same curves can be drawn:
 *
 *   {"mode":"train","iter":50,"epoch":1,"lr":0.0098,"loss":1.23,"loss_cls":0.8,"loss_bbox":0.43,"grad_norm":4.1,
 *    "time":0.52,"data_time":0.01,"num_tensors":812,"num_bytes":150994944,"skipped":0}
 *   {"mode":"val","iter":1000,"epoch":2,"bbox_mAP":0.123,...}
 *   {"mode":"resume","iter":600,"epoch":2,"checkpoint":"iter_600.json"}
 *   {"mode":"nan","iter":73,"epoch":1,"reason":"loss_bbox = NaN"}
 *
 * `iter` counts completed optimizer updates (1-based, as mmdetection prints), `epoch` is 1-based. Train lines hold
 * the mean of each loss, `time` (seconds per iteration) and `data_time` (seconds waiting for data) over the
 * iterations since the previous train line (mmdetection's smoothing window = the log interval); memory is
 * `tf.memory()` at the time of the line. A `resume` line tells readers (tools/analyze-logs.ts) that lines with a
 * larger `iter` written before it belong to an abandoned continuation; `parseJsonlLog` reads a log that way.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type LogValue = number | string | boolean | null;
export type LogRecord = { mode: string } & Record<string, LogValue>;

/** Appends JSON lines to a file (created with its folder if needed). */
export class JsonlLogger {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  /** Append one record. Non-finite numbers are written as null (JSON has no NaN), with `<key>_nonfinite`. */
  write(record: LogRecord): void {
    const clean: Record<string, LogValue> = {};
    for (const [k, v] of Object.entries(record)) {
      if (typeof v === 'number' && !Number.isFinite(v)) {
        clean[k] = null;
        clean[`${k}_nonfinite`] = String(v);
      } else {
        clean[k] = v;
      }
    }
    appendFileSync(this.path, `${JSON.stringify(clean)}\n`);
  }
}

/** Running sums of named values over a logging window; `mean()` averages each over the times it was added. */
export class MetricWindow {
  private readonly sums = new Map<string, number>();
  private readonly counts = new Map<string, number>();

  add(values: Readonly<Record<string, number>>): void {
    for (const [k, v] of Object.entries(values)) {
      this.sums.set(k, (this.sums.get(k) ?? 0) + v);
      this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    }
  }

  /** Number of times `key` was added since the last reset. */
  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  mean(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, s] of this.sums) out[k] = s / this.counts.get(k)!;
    return out;
  }

  reset(): void {
    this.sums.clear();
    this.counts.clear();
  }
}

/** TF.js memory figures for the log. */
export function memoryStats(): { num_tensors: number; num_bytes: number } {
  const m = tf.memory();
  return { num_tensors: m.numTensors, num_bytes: m.numBytes };
}

export interface ReadLogOptions {
  /** 'error' (default): a line that is not a JSON object is an error naming the file and line; 'skip': count it. */
  onBad?: 'error' | 'skip';
}

export interface ReadLog {
  /** Records in file order, with those of abandoned continuations removed (see the file comment). */
  records: LogRecord[];
  /** Lines skipped with `onBad: 'skip'` (1-based line numbers). */
  badLines: number[];
  /** Records dropped because a later `resume` line went back before them. */
  superseded: number;
}

/**
 * Read a JSON-lines training log. A `resume` record at iteration r drops the earlier `train` / `val` / `nan`
 * records with `iter` > r (written by a run that went on past the checkpoint it was later resumed from), so the
 * result is the history of the weights that exist now.
 */
export function parseJsonlLog(text: string, file: string, options: ReadLogOptions = {}): ReadLog {
  const onBad = options.onBad ?? 'error';
  let records: LogRecord[] = [];
  const badLines: number[] = [];
  let superseded = 0;
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let rec: unknown;
    let problem: string | null = null;
    try {
      rec = JSON.parse(line);
      if (!rec || typeof rec !== 'object' || Array.isArray(rec)) problem = 'expected a JSON object';
      else if (typeof (rec as Record<string, unknown>).mode !== 'string') problem = 'field "mode": expected a string';
    } catch (e) {
      problem = `not JSON (${(e as Error).message})`;
    }
    if (problem) {
      if (onBad === 'skip') {
        badLines.push(i + 1);
        return;
      }
      throw new Error(`${file}: line ${i + 1}: ${problem}`);
    }
    const r = rec as LogRecord;
    if (r.mode === 'resume' && typeof r.iter === 'number') {
      const at = r.iter;
      const kept = records.filter((x) => !(x.mode !== 'run' && x.mode !== 'resume' && typeof x.iter === 'number' && x.iter > at));
      superseded += records.length - kept.length;
      records = kept;
    }
    records.push(r);
  });
  return { records, badLines, superseded };
}
