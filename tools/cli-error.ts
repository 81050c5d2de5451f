/** An error meant for the user: printed as one line (no stack trace) and mapped to a non-zero exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Any error as a CliError for the user: the first line of its message, no stack trace, exit code 1. */
export function toCliError(e: unknown): CliError {
  if (e instanceof CliError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new CliError(msg.split('\n')[0]!);
}

/**
 * A multi-line message (e.g. a state-dict mismatch listing hundreds of keys) as one line: its lines joined, each
 * cut at `maxPart` characters.
 */
export function oneLine(message: string, maxPart = 600): string {
  return message
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (s.length > maxPart ? `${s.slice(0, maxPart - 1)}…` : s))
    .join(' ');
}

/**
 * An error of a `train` / `test` run as a CliError: config problems (configs/load.ts `ConfigError`, `CfgOptionError`)
 * are usage errors (exit 2); everything else exits 1, its message on one line.
 */
export async function runCliError(e: unknown): Promise<CliError> {
  if (e instanceof CliError) return e;
  const { ConfigError, CfgOptionError } = await import('../configs/load.js');
  const msg = oneLine(e instanceof Error ? e.message : String(e));
  return new CliError(msg, e instanceof ConfigError || e instanceof CfgOptionError ? 2 : 1);
}

/**
 * The one-line message for an unexpected error, with a hint where the raw message says nothing useful: the wasm
 * backend aborts (`Aborted(). Build with -sASSERTIONS …`) when an allocation inside its C++ code fails, i.e. when
 * the 4 GiB wasm heap is exhausted (allocations from JavaScript get tiedet's WasmHeapExhaustedError instead).
 */
export function describeError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (/^Aborted\(/.test(msg)) {
    return (
      `${msg}\nThe wasm backend aborted: most likely its 4 GiB heap is exhausted. Use smaller inputs (data.scale), ` +
      'batch 1 with train.accumulate, withCp: true in the backbone options (activation checkpointing), or ' +
      '@tensorflow/tfjs-node-gpu (README "Which backend runs").'
    );
  }
  return msg;
}
