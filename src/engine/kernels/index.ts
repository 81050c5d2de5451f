/** Registers tiedet's kernels for the wasm backend; returns their names. (Filled in by the kernels work.) */
export function registerWasmKernels(): string[] {
  return [];
}
