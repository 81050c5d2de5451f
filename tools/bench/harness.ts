/**
 * Small helpers shared by the benchmark scripts in tools/bench: timing with warm-up and medians, running a child
 * process per engine configuration (the wasm thread count is fixed per process), tables and JSON output.
 * Benchmarks print and write; they never assert on time.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface Timing {
  medianMs: number;
  minMs: number;
  runsMs: number[];
}

/** Run `fn` once to warm up, then `repeats` times; `fn` must finish its work (e.g. await data()) before returning. */
export async function time(fn: () => Promise<void> | void, repeats: number, progress?: string): Promise<Timing> {
  const say = (what: string, ms: number) => {
    if (progress) process.stderr.write(`    ${progress}: ${what} ${(ms / 1000).toFixed(2)} s\n`);
  };
  const w0 = performance.now();
  await fn();
  say('warm-up', performance.now() - w0);
  const runsMs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    runsMs.push(performance.now() - t0);
    say(`run ${i + 1}/${repeats}`, runsMs[i]!);
  }
  const sorted = [...runsMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { medianMs, minMs: sorted[0]!, runsMs };
}

/**
 * Re-run this script in a child process with extra arguments and parse the last stdout line as JSON. Progress
 * written to the child's stderr is passed through.
 */
export function runChild<T>(script: string, args: string[], env: Record<string, string> = {}): T {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.status !== 0) throw new Error(`benchmark child ${script} ${args.join(' ')} exited with ${r.status}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
}

export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** `--name value` or `--name=value` from process.argv. */
export function argValue(name: string): string | undefined {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${name}`) return argv[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}
