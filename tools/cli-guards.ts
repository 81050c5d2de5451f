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
  /** Every option the parser knows (yargs' `key` map). */
  key?: Record<string, unknown>;
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

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = t;
    }
  }
  return prev[b.length]!;
}

/** The known names nearest to `name` (distance ≤ 2, or one is a prefix of the other), best first. */
export function nearest(name: string, known: readonly string[]): string[] {
  const scored = known
    .filter((k) => k.length > 1)
    .map((k) => ({ k, d: k.startsWith(name) || name.startsWith(k) ? 0.5 : editDistance(name, k) }))
    .filter((s) => s.d <= Math.min(2, Math.max(1, Math.floor(name.length / 3))) || s.d === 0.5)
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k));
  return scored.slice(0, 3).map((s) => s.k);
}

/**
 * Rewrites a yargs usage message into one line that says what to type instead: unknown options get the nearest
 * known ones, a missing CONFIG gets the list of shipped configs, `tiedet demo` gets the npm script.
 */
export function explainUsage(msg: string, argv: readonly string[], knownOptions: readonly string[], configs: readonly string[]): string {
  const one = msg.replace(/\s*\n\s*/g, ' ');
  const command = argv.find((a) => !a.startsWith('-'));
  if (/^Name a command/.test(one)) return 'name a command (the list is above), e.g. `tiedet eval --help`';
  const didYouMean = /^Did you mean (\S+)\?/.exec(one);
  if (command === 'demo') {
    return '`demo` is not a tiedet command: the demo runs with `npm run demo` (train, test and render a small detector)';
  }
  if (didYouMean) return `unknown command '${command ?? ''}' — did you mean \`tiedet ${didYouMean[1]}\`? (\`tiedet --help\` lists the commands)`;
  const unknown = /^Unknown arguments?: (.+)$/.exec(one);
  if (unknown) {
    const listed = unknown[1]!.split(/,\s*/);
    // yargs lists a dashed option twice (max-iter, maxIter): keep the dashed spelling
    const names = listed.filter((n) => !(/[A-Z]/.test(n) && listed.some((m) => m !== n && camel(m) === n)));
    if (command !== undefined && names[0] === command && argv[0] === command) {
      return `unknown command '${command}' — \`tiedet --help\` lists the commands`;
    }
    const parts = names.map((n) => {
      const dashed = argv.some((a) => a === `--${n}` || a.startsWith(`--${n}=`) || a === `-${n}`);
      const near = nearest(n, knownOptions);
      const shown = dashed ? `--${n}` : `'${n}'`;
      return near.length ? `${shown} (did you mean ${near.map((k) => `--${k}`).join(' or ')}?)` : shown;
    });
    return `unknown ${names.length > 1 ? 'arguments' : 'argument'} ${parts.join(', ')} — \`tiedet ${command ?? ''} --help\` lists the options`.replace('  ', ' ');
  }
  if (/^Not enough non-option arguments/.test(one) && (command === 'train' || command === 'test')) {
    const example =
      command === 'train'
        ? 'tiedet train mask-rcnn_tiedresnet_synthetic_tiny'
        : 'tiedet test mask-rcnn_tiedresnet_synthetic_tiny work_dirs/mask-rcnn_tiedresnet_synthetic_tiny/iter_400.json --out dets.json';
    const what = command === 'train' ? 'CONFIG' : 'CONFIG and CHECKPOINT (a checkpoint .json in a work dir)';
    return `${command} needs ${what}; CONFIG is a config file or a shipped config (${configs.join(', ')}), e.g. \`${example}\``;
  }
  return `${one} — run \`tiedet ${command && !command.includes('.') ? `${command} ` : ''}--help\` for usage`;
}
