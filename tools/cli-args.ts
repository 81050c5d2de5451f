/**
 * Checks of the raw command line that hold for every command, run before any command does its work:
 *
 * - `normalizeArgv`: a value that starts with '-' but is a number or a list of numbers (`--max-dets -1,10,100`,
 *   `--score-thr -0.5`) is glued to its option (`--max-dets=-1,10,100`), so the parser takes it as the value — and
 *   the command's own check then says what is wrong with it — instead of as a row of short flags.
 * - `checkOptionValues` (a yargs middleware): an option that takes one value but was given twice is an error
 *   naming it (yargs would make an array of it and the command would fail somewhere inside); an empty string
 *   for a string option (`--out ''`, usually an unset shell variable) is an error too.
 */
import type { Arguments } from 'yargs';
import { CliError } from './cli-error.js';

const NEGATIVE_VALUE = /^-(?:\d|\.\d)/; // -1, -0.5, -1,10,100, -64x64: tiedet has no digit flags

/** Glues negative numeric values to the long option before them (see the file header). */
export function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    if (/^--[^=\s-][^=\s]*$/.test(a) && next !== undefined && NEGATIVE_VALUE.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** What the middleware needs to know of the parser: which options are arrays, which strings, and their aliases. */
export interface OptionKinds {
  array: readonly string[];
  string: readonly string[];
  alias?: Record<string, readonly string[]>;
}

/** String options for which an empty value has a meaning: `--resume` with no path resumes from the work dir. */
const EMPTY_ALLOWED = new Set(['resume']);

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Throws a usage error (exit 2) for an option given more than once or a string option given as ''. */
export function checkOptionValues(argv: Arguments, kinds: OptionKinds): void {
  const arrays = new Set<string>();
  for (const k of kinds.array) {
    arrays.add(k);
    arrays.add(camel(k));
    for (const a of kinds.alias?.[k] ?? []) arrays.add(a);
  }
  const strings = new Set<string>();
  for (const k of kinds.string) strings.add(k);
  for (const [key, value] of Object.entries(argv)) {
    // yargs' camel-case copy of a dashed option (maxDets for max-dets) is reported under its dashed name
    if (key === '_' || key === '$0' || /[A-Z]/.test(key)) continue;
    if (Array.isArray(value) && !arrays.has(key)) {
      const shown = value.map((v) => JSON.stringify(v)).join(', ');
      throw new CliError(`--${key} was given ${value.length} times (${shown}); it takes one value — give it once`, 2);
    }
    if (strings.has(key) && !EMPTY_ALLOWED.has(key)) {
      const values = Array.isArray(value) ? value : [value];
      if (values.some((v) => v === '')) {
        throw new CliError(`--${key}: empty value (an unset shell variable?); give a value or leave the option out`, 2);
      }
    }
  }
}
