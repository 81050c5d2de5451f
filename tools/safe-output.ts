/**
 * Outputs never clobber inputs: before a command writes a file or fills a folder, it checks that none of the files
 * it is about to write is one of its input files (compared by real path, so `./a.json`, `a.json` and a symbolic link
 * to it are the same file), and that an output folder is not the folder it reads images from.
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CliError } from './cli-error.js';

/** One file or folder named on the command line. */
export interface NamedPath {
  option: string;
  path: string;
}

/** The real path of a file that may not exist yet: the real path of its nearest existing parent, plus the rest. */
export function realPathOf(path: string): string {
  let p = resolve(path);
  const rest: string[] = [];
  while (!existsSync(p)) {
    const parent = dirname(p);
    if (parent === p) break;
    rest.unshift(basename(p));
    p = parent;
  }
  let real: string;
  try {
    real = realpathSync(p);
  } catch {
    real = p;
  }
  return rest.length ? join(real, ...rest) : real;
}

/** Refuses (exit 1) when a file the command will write is one of its inputs. */
export function assertOutputsNotInputs(outputs: readonly NamedPath[], inputs: readonly NamedPath[]): void {
  const ins = inputs.filter((i) => i.path).map((i) => ({ ...i, real: realPathOf(i.path) }));
  for (const o of outputs) {
    const real = realPathOf(o.path);
    const hit = ins.find((i) => i.real === real);
    if (hit) {
      throw new CliError(
        `${o.option} ${o.path}: that is the input file given with ${hit.option} (${hit.path}); ` +
          'tiedet never overwrites an input — choose another output',
      );
    }
  }
}

/** Refuses (exit 1) when an output folder is one of the input folders (images would be overwritten by renders). */
export function assertOutputDirNotInputDir(out: NamedPath, inputDirs: readonly NamedPath[]): void {
  const real = realPathOf(out.path);
  for (const d of inputDirs) {
    if (d.path && realPathOf(d.path) === real) {
      throw new CliError(
        `${out.option} ${out.path}: that is the folder given with ${d.option}; its files would be overwritten — choose another output folder`,
      );
    }
  }
}
