/**
 * `tiedet analyze-logs LOG… --keys loss,bbox_mAP [--out plot.svg]`: curves and a summary of training logs (the
 * JSON lines of src/train/logger.ts), mmdetection's `tools/analysis_tools/analyze_logs.py plot_curve` +
 * `cal_train_time` in one command.
 *
 * Each key is looked up in the train lines and then in the val lines; its curve is value against iteration (one
 * panel per key, one series per log file, drawn with eval/report/svg-chart.ts). Runs that were resumed are read
 * as the history of the final weights (records past a checkpoint that was later resumed are dropped). The printed
 * table gives, per log and key: points, first, last, min and max (with their iterations); then per log the
 * iterations, mean time and data time per iteration, skipped (NaN) steps and evaluations.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readTextFile } from '../eval/json.js';
import { basename, dirname } from 'node:path';
import type { CommandModule } from 'yargs';
import { lineChart, type Panel, type Point } from '../eval/report/svg-chart.js';
import { parseJsonlLog, type LogRecord } from '../src/train/logger.js';
import { CliError } from './cli-error.js';
import { assertOutputsNotInputs } from './safe-output.js';

export interface AnalyzeLogsArgs {
  logs: string[];
  keys: string;
  out?: string;
  legend?: string;
  title?: string;
  'max-points': number;
  'on-bad': 'error' | 'skip';
}

export interface KeySummary {
  key: string;
  mode: 'train' | 'val';
  points: number;
  first: number;
  last: number;
  min: number;
  minIter: number;
  max: number;
  maxIter: number;
}

export interface LogSummary {
  file: string;
  label: string;
  iterations: number;
  meanTime: number | null;
  meanDataTime: number | null;
  skippedSteps: number;
  evaluations: number;
  badLines: number[];
  superseded: number;
  keys: KeySummary[];
}

/** The (iter, value) points of `key` in the train lines, else in the val lines; null when the log never has it. */
export function curveOf(records: readonly LogRecord[], key: string): { mode: 'train' | 'val'; points: Point[] } | null {
  for (const mode of ['train', 'val'] as const) {
    const points: Point[] = [];
    for (const r of records) {
      if (r.mode !== mode || typeof r.iter !== 'number' || !(key in r)) continue;
      const v = r[key];
      points.push({ x: r.iter, y: typeof v === 'number' ? v : Number.NaN });
    }
    if (points.length) return { mode, points };
  }
  return null;
}

/** Average consecutive points into at most `max` buckets (x and y means; non-finite y are left out). */
export function downsample(points: readonly Point[], max: number): Point[] {
  if (points.length <= max) return [...points];
  const out: Point[] = [];
  const size = points.length / max;
  for (let b = 0; b < max; b++) {
    const slice = points.slice(Math.floor(b * size), Math.floor((b + 1) * size));
    const finite = slice.filter((p) => Number.isFinite(p.y));
    const xs = slice.reduce((s, p) => s + p.x, 0) / slice.length;
    out.push({ x: xs, y: finite.length ? finite.reduce((s, p) => s + p.y, 0) / finite.length : Number.NaN });
  }
  return out;
}

function summarizeKey(key: string, mode: 'train' | 'val', points: readonly Point[]): KeySummary {
  const finite = points.filter((p) => Number.isFinite(p.y));
  let min = finite[0] ?? { x: Number.NaN, y: Number.NaN };
  let max = min;
  for (const p of finite) {
    if (p.y < min.y) min = p;
    if (p.y > max.y) max = p;
  }
  return {
    key,
    mode,
    points: points.length,
    first: points[0]!.y,
    last: points[points.length - 1]!.y,
    min: min.y,
    minIter: min.x,
    max: max.y,
    maxIter: max.x,
  };
}

function mean(records: readonly LogRecord[], key: string): number | null {
  const v = records.filter((r) => r.mode === 'train' && typeof r[key] === 'number').map((r) => r[key] as number);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

function fmt(v: number | null): string {
  if (v === null || Number.isNaN(v)) return '-';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(3) : String(Number.parseFloat(v.toPrecision(5)));
}

function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const w = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

export function runAnalyzeLogs(args: AnalyzeLogsArgs, out: (s: string) => void, err: (s: string) => void): LogSummary[] {
  if (args.out !== undefined) {
    assertOutputsNotInputs([{ option: '--out', path: args.out }], args.logs.map((path) => ({ option: 'the log', path })));
  }
  const keys = args.keys.split(',').map((k) => k.trim()).filter(Boolean);
  if (!keys.length) throw new CliError(`--keys: expected a comma-separated list of log keys, got '${args.keys}'`, 2);
  if (!Number.isInteger(args['max-points']) || args['max-points'] < 2 || args['max-points'] > 100_000) {
    throw new CliError(`--max-points: expected an integer from 2 to 100,000, got ${args['max-points']}`, 2);
  }
  const labels = args.legend ? args.legend.split(',').map((s) => s.trim()) : args.logs.map((f) => basename(dirname(f)) + '/' + basename(f));
  if (labels.length !== args.logs.length) {
    throw new CliError(`--legend: ${labels.length} label(s) for ${args.logs.length} log file(s)`, 2);
  }
  const summaries: LogSummary[] = [];
  const curves = new Map<string, Array<{ label: string; points: Point[] }>>(keys.map((k) => [k, []]));
  const modes = new Map<string, 'train' | 'val'>();
  args.logs.forEach((file, li) => {
    let text: string;
    try {
      text = readTextFile(file, 'log file');
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    let parsed: ReturnType<typeof parseJsonlLog>;
    try {
      parsed = parseJsonlLog(text, file, { onBad: args['on-bad'] });
    } catch (e) {
      throw new CliError(`${(e as Error).message}; --on-bad skip skips such lines`);
    }
    if (parsed.badLines.length) {
      err(`tiedet: warning: ${file}: skipped ${parsed.badLines.length} bad line(s): ${parsed.badLines.slice(0, 10).join(', ')}${parsed.badLines.length > 10 ? ', …' : ''}\n`);
    }
    const recs = parsed.records;
    const keySummaries: KeySummary[] = [];
    for (const key of keys) {
      const c = curveOf(recs, key);
      if (!c) {
        const known = new Set<string>();
        for (const r of recs) if (r.mode === 'train' || r.mode === 'val') for (const k of Object.keys(r)) if (k !== 'mode') known.add(k);
        throw new CliError(`${file}: no train or val record has the key '${key}' (keys in this log: ${[...known].sort().join(', ') || 'none'})`);
      }
      modes.set(key, c.mode);
      curves.get(key)!.push({ label: labels[li]!, points: downsample(c.points, args['max-points']) });
      keySummaries.push(summarizeKey(key, c.mode, c.points));
    }
    const trainIters = recs.filter((r) => r.mode === 'train' && typeof r.iter === 'number').map((r) => r.iter as number);
    summaries.push({
      file,
      label: labels[li]!,
      iterations: trainIters.reduce((m, v) => (v > m ? v : m), 0), // a reduce: a spread of 10^5+ values overflows the stack
      meanTime: mean(recs, 'time'),
      meanDataTime: mean(recs, 'data_time'),
      skippedSteps: recs.filter((r) => r.mode === 'nan').length,
      evaluations: recs.filter((r) => r.mode === 'val').length,
      badLines: parsed.badLines,
      superseded: parsed.superseded,
      keys: keySummaries,
    });
  });

  const rows = summaries.flatMap((s) =>
    s.keys.map((k) => [s.label, `${k.key} (${k.mode})`, String(k.points), fmt(k.first), fmt(k.last), `${fmt(k.min)} @${fmt(k.minIter)}`, `${fmt(k.max)} @${fmt(k.maxIter)}`]),
  );
  out(`${table(['log', 'key', 'points', 'first', 'last', 'min @iter', 'max @iter'], rows)}\n\n`);
  out(
    `${table(
      ['log', 'iterations', 'time/iter (s)', 'data_time/iter (s)', 'skipped steps', 'evaluations'],
      summaries.map((s) => [s.label, String(s.iterations), fmt(s.meanTime), fmt(s.meanDataTime), String(s.skippedSteps), String(s.evaluations)]),
    )}\n`,
  );
  for (const s of summaries) {
    if (s.superseded) out(`${s.label}: ${s.superseded} record(s) after a resumed checkpoint were superseded and left out\n`);
  }

  if (args.out) {
    const panels: Panel[] = keys.map((key) => ({
      title: key,
      xLabel: 'iteration',
      yLabel: `${key} (${modes.get(key)})`,
      series: curves.get(key)!.map((c) => ({ name: c.label, points: c.points })),
    }));
    const svg = lineChart({ title: args.title ?? 'training curves', panels, panelWidth: 520, panelHeight: 380 });
    try {
      mkdirSync(dirname(args.out), { recursive: true });
      writeFileSync(args.out, svg);
    } catch (e) {
      throw new CliError(`--out: cannot write ${args.out}: ${(e as Error).message}`);
    }
    out(`wrote ${args.out}\n`);
  }
  return summaries;
}

export const analyzeLogsCommand: CommandModule<object, AnalyzeLogsArgs> = {
  command: 'analyze-logs <logs..>',
  describe: 'curves (SVG) and a summary table of training logs (JSON lines)',
  builder: (y) =>
    y
      .positional('logs', { type: 'string', array: true, demandOption: true, describe: 'log.jsonl file(s) written by training' })
      .option('keys', { type: 'string', default: 'loss', describe: 'comma-separated keys to plot, e.g. loss,loss_cls,bbox_mAP' })
      .option('out', { type: 'string', describe: 'write the curves to this SVG file' })
      .option('legend', { type: 'string', describe: 'comma-separated series names, one per log (default: folder/file)' })
      .option('title', { type: 'string', describe: 'chart title' })
      .option('max-points', { type: 'number', default: 400, describe: 'average longer curves into this many points' })
      .option('on-bad', {
        type: 'string',
        choices: ['error', 'skip'] as const,
        default: 'error' as const,
        describe: 'a line that is not a JSON record: stop (error) or skip and count it',
      })
      .example('$0 analyze-logs work_dirs/run/log.jsonl --keys loss,loss_cls,bbox_mAP --out curves.svg', 'plot three curves')
      .example('$0 analyze-logs a/log.jsonl b/log.jsonl --keys loss --legend tied,baseline', 'compare two runs') as never,
  handler: (args) => {
    runAnalyzeLogs(
      args,
      (s) => process.stdout.write(s),
      (s) => process.stderr.write(s),
    );
  },
};
