/**
 * The PyTorch reference of a bench, measured in the same run (issue 23): `startReference` starts
 * tools/reference/torch_bench.py as a child process (it builds the torchvision model and warms it up once), and
 * `alternate` times tiedet and PyTorch turn about — tiedet run 1, PyTorch run 1, tiedet run 2, … — so that both see
 * the same machine (this VM's speed drifts by ±30–50 % between days, and load from other work comes and goes). While
 * one side runs the other waits on a pipe, so they never compete for the cores.
 *
 * The reference needs a `python3` with torch and torchvision (Debian `python3-torch`, `python3-torchvision`):
 * `$TIEDET_TORCH_PYTHON`, else /usr/bin/python3, else `python3` on the PATH. Without one the bench prints
 * "reference not measured" and the reason, and goes on; tests never need it.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { repoRoot, type Timing } from './harness.js';

export const REFERENCE_SCRIPT = join(repoRoot, 'tools/reference/torch_bench.py');

export type ReferenceTask = 'backbone' | 'backbone-train' | 'retinanet' | 'retinanet-train' | 'maskrcnn-stages';

export interface ReferenceInfo {
  python: string;
  torch: string;
  torchvision: string;
  threads: number;
  task: ReferenceTask;
  input: [number, number];
}

export interface ReferenceRun {
  ms: number;
  parts: Record<string, number>;
}

export interface Reference {
  info: ReferenceInfo;
  run(): Promise<ReferenceRun>;
  close(): void;
}

/**
 * A python3 that imports torch and torchvision, or the reason there is none. `candidates` default:
 * $TIEDET_TORCH_PYTHON, /usr/bin/python3, python3.
 */
export function findTorchPython(
  candidates: readonly (string | undefined)[] = [process.env.TIEDET_TORCH_PYTHON, '/usr/bin/python3', 'python3'],
): { python: string } | { missing: string } {
  const usable = candidates.filter(
    (p): p is string => !!p && (p === 'python3' || existsSync(p)),
  );
  for (const python of usable) {
    const r = spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) return { python };
  }
  return {
    missing: `no python3 with torch + torchvision (tried ${usable.join(', ') || 'nothing'}; Debian: apt install python3-torch python3-torchvision, or set TIEDET_TORCH_PYTHON)`,
  };
}

/**
 * Start the reference for `task` at `input` with `threads` torch threads; resolves once it has built the model and
 * run its warm-up. Resolves to `{ missing }` when there is no torch (or the server fails to start: the reason).
 */
export async function startReference(
  task: ReferenceTask,
  input: [number, number],
  threads: number,
  extra: string[] = [],
): Promise<Reference | { missing: string }> {
  const found = findTorchPython();
  if ('missing' in found) return found;
  const child: ChildProcessWithoutNullStreams = spawn(
    found.python,
    [REFERENCE_SCRIPT, task, '--input', `${input[0]}x${input[1]}`, '--threads', String(threads), ...extra],
    { cwd: repoRoot, env: { ...process.env, OMP_NUM_THREADS: String(threads) } },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  const lines: Interface = createInterface({ input: child.stdout });
  const waiting: ((line: string | null) => void)[] = [];
  const queued: string[] = [];
  let ended = false;
  lines.on('line', (l) => {
    const w = waiting.shift();
    if (w) w(l);
    else queued.push(l);
  });
  child.on('close', () => {
    ended = true;
    for (const w of waiting.splice(0)) w(null);
  });
  const next = (): Promise<string | null> =>
    queued.length ? Promise.resolve(queued.shift()!) : ended ? Promise.resolve(null) : new Promise((r) => waiting.push(r));
  const first = await next();
  if (first === null) return { missing: `the PyTorch reference (${task}) exited before it was ready: ${stderr.trim().split('\n').slice(-1)[0] ?? ''}` };
  const ready = JSON.parse(first) as { torch: string; torchvision: string; threads: number; input: [number, number] };
  const info: ReferenceInfo = { python: found.python, torch: ready.torch, torchvision: ready.torchvision, threads: ready.threads, task, input: ready.input };
  return {
    info,
    async run(): Promise<ReferenceRun> {
      child.stdin.write('run\n');
      const line = await next();
      if (line === null) throw new Error(`the PyTorch reference (${task}) exited: ${stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
      return JSON.parse(line) as ReferenceRun;
    },
    close(): void {
      if (!ended) child.stdin.end('quit\n');
    },
  };
}

export interface SideBySide {
  tiedet: Timing;
  reference: Timing;
  /** Reference parts: medians (ms) per part over the runs. */
  referenceParts: Record<string, number>;
  /** median(tiedet) / median(reference). */
  ratio: number;
  /** The smallest and largest ratio of one alternated pair (tiedet run i / reference run i). */
  spread: [number, number];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function timing(runsMs: number[]): Timing {
  return { medianMs: median(runsMs), minMs: Math.min(...runsMs), runsMs };
}

/**
 * `repeats` alternated pairs: tiedet's `fn` (after one warm-up of its own), then one reference run. `fn` returns its
 * wall time in ms (so that it can time only part of what it does) — or undefined to be timed whole.
 */
export async function alternate(
  repeats: number,
  fn: () => Promise<number | void>,
  reference: Reference,
  progress?: (line: string) => void,
): Promise<SideBySide> {
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const ms = await fn();
    return typeof ms === 'number' ? ms : performance.now() - t0;
  };
  await once();
  const mine: number[] = [];
  const theirs: ReferenceRun[] = [];
  for (let i = 0; i < repeats; i++) {
    mine.push(await once());
    theirs.push(await reference.run());
    progress?.(`pair ${i + 1}/${repeats}: tiedet ${(mine[i]! / 1000).toFixed(2)} s, PyTorch ${(theirs[i]!.ms / 1000).toFixed(2)} s`);
  }
  const ratios = mine.map((m, i) => m / theirs[i]!.ms);
  const partNames = Object.keys(theirs[0]?.parts ?? {});
  return {
    tiedet: timing(mine),
    reference: timing(theirs.map((r) => r.ms)),
    referenceParts: Object.fromEntries(partNames.map((p) => [p, median(theirs.map((r) => r.parts[p] ?? NaN))])),
    ratio: median(mine) / median(theirs.map((r) => r.ms)),
    spread: [Math.min(...ratios), Math.max(...ratios)],
  };
}

/** "1.23× (1.10–1.31)" */
export function formatRatio(s: Pick<SideBySide, 'ratio' | 'spread'>): string {
  return `${s.ratio.toFixed(2)}× (${s.spread[0].toFixed(2)}–${s.spread[1].toFixed(2)})`;
}
