/**
 * Runs the tiedet CLI's `main` inside the test process (no child process per case, so hundreds of cases take
 * seconds), capturing what it writes to stdout and stderr, its exit code, its wall time and how much the resident
 * memory grew. A case that does not finish within `timeoutMs` is reported as a hang.
 */
import { main } from '../../tools/cli.js';

export interface InProcessRun {
  code: number | 'hang';
  stdout: string;
  stderr: string;
  ms: number;
  rssGrowth: number;
}

export async function runInProcess(argv: string[], timeoutMs: number): Promise<InProcessRun> {
  const out: string[] = [];
  const err: string[] = [];
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  const capture =
    (sink: string[]) =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    };
  process.stdout.write = capture(out) as typeof process.stdout.write;
  process.stderr.write = capture(err) as typeof process.stderr.write;
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let code: number | 'hang';
  try {
    code = await Promise.race([
      main(argv),
      new Promise<'hang'>((resolve) => {
        timer = setTimeout(() => resolve('hang'), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    process.stdout.write = origOut;
    process.stderr.write = origErr;
  }
  return {
    code,
    stdout: out.join(''),
    stderr: err.join(''),
    ms: performance.now() - t0,
    rssGrowth: process.memoryUsage().rss - rss0,
  };
}
