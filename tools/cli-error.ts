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
