/**
 * Parsers of command-line values shared by several `tiedet` commands; each error names the option (`--bins`: a
 * usage error, exit code 2).
 */
import type { Argv } from 'yargs';
import { CliError } from './cli-error.js';

/** A comma-separated list of integers, e.g. "1,10,100". */
export function parseIntList(text: string, option: string, min = Number.MIN_SAFE_INTEGER): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new CliError(`--${option}: expected a comma-separated list of integers, got '${text}'`, 2);
  return parts.map((s) => {
    const v = Number(s);
    if (!/^[+-]?\d+$/.test(s) || !Number.isSafeInteger(v) || v < min) {
      throw new CliError(`--${option}: '${s}' is not ${min === 0 ? 'a non-negative' : 'an'} integer`, 2);
    }
    return v;
  });
}

/** --bins: an integer from 1 to 100 (usage error otherwise). */
export function checkBins(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new CliError(`--bins: expected an integer from 1 to 100, got ${String(n)}`, 2);
  return n;
}

/**
 * The engine options, on the commands that run a model (info, params, train, test, infer, …) and nowhere else, so
 * that `--help` of eval, render & co. does not offer flags that change nothing.
 */
export function engineOptions<T>(y: Argv<T>) {
  return y
    .option('backend', {
      type: 'string',
      choices: ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const,
      describe: 'TF.js backend (default: TIEDET_BACKEND or auto = tensorflow → webgpu (GPU adapters only) → wasm → cpu)',
    })
    .option('threads', { type: 'number', describe: 'wasm threads (default: TIEDET_THREADS or the number of logical cores)' });
}
