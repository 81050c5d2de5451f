/** Text helpers shared by the .wat generators (winograd-wat.ts, batchnorm-wat.ts). */

/** The lines, each indented by `n` spaces, joined into one block. */
export function indent(lines: readonly string[], n: number): string {
  return lines.map((l) => ' '.repeat(n) + l).join('\n');
}
