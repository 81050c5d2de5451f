/**
 * The command-line side the two drawing commands share (`tiedet render`, tools/render.ts; `tiedet browse-dataset`,
 * tools/browse-dataset.ts): the image selection and drawing options (--img-ids, --max-images, --color-by, --format,
 * --on-bad), their checks, errors as one `tiedet: …` line (no stack trace), and the report at the end (skipped items
 * listed on stderr and counted on stdout, then the gallery). Loads neither sharp nor Skia: the commands import the
 * drawing work (tools/render/render.ts, browse.ts) only when they run.
 */
import type { Argv } from 'yargs';
import { parseIntList } from '../cli-args.js';
import { CliError, toCliError } from '../cli-error.js';
import type { ColorBy, ImageFormat, OnBad } from './job.js';

/** The options both commands take. */
export interface DrawArgs {
  'img-ids'?: string;
  'max-images'?: number;
  'color-by': ColorBy;
  format: ImageFormat;
  'on-bad': OnBad;
}

/** Adds the image selection options (--img-ids, --max-images) to a command's builder. */
export function selectionOptions<T>(y: Argv<T>) {
  return y
    .option('img-ids', { type: 'string', describe: 'only these image ids, e.g. 42,73,74' })
    .option('max-images', { type: 'number', describe: 'at most N images (the first by id, or of --img-ids)' });
}

/** Adds the drawing options (--color-by, --format, --on-bad); `badInput` names what else `--on-bad` covers. */
export function drawingOptions<T>(y: Argv<T>, badInput: string) {
  return y
    .option('color-by', { type: 'string', choices: ['category', 'instance'] as const, default: 'category' as const, describe: 'one colour per category, or per instance' })
    .option('format', { type: 'string', choices: ['png', 'jpeg'] as const, default: 'png' as const, describe: 'output image format' })
    .option('on-bad', { type: 'string', choices: ['error', 'skip'] as const, default: 'error' as const, describe: `missing/corrupt images and ${badInput}: stop, or skip and count them` });
}

export function checkMaxImages(n: number | undefined): void {
  if (n !== undefined && !(Number.isInteger(n) && n >= 0)) throw new CliError(`--max-images: expected a non-negative integer, got ${n}`, 2);
}

/** The shared options checked and turned into the drawing job's options; progress lines go to `err`. */
export function drawJobOptions(args: DrawArgs, err: (s: string) => void) {
  checkMaxImages(args['max-images']);
  return {
    imgIds: args['img-ids'] !== undefined ? parseIntList(args['img-ids'], 'img-ids') : undefined,
    maxImages: args['max-images'],
    colorBy: args['color-by'],
    format: args.format,
    onBad: args['on-bad'],
    log: (line: string) => err(`tiedet: ${line}\n`),
  };
}

/** Runs the drawing job; any error becomes a one-line `CliError`. */
export async function runDrawJob<S>(job: () => Promise<S>): Promise<S> {
  try {
    return await job();
  } catch (e) {
    throw toCliError(e);
  }
}

/** Prints up to `max` skipped items to `err`, then how many more there were. */
export function reportSkipped(items: readonly { what: string; reason: string }[], err: (s: string) => void, max = 10): void {
  for (const s of items.slice(0, max)) err(`tiedet: skipped ${s.reason}\n`);
  if (items.length > max) err(`tiedet: … and ${items.length - max} more (all listed in index.html)\n`);
}

type Skipped = readonly { what: string; reason: string }[];

export interface DrawReport {
  /** Summary lines (without newlines). */
  lines: string[];
  skippedImages: Skipped;
  /** The command's other skipped items (annotation masks, result records) and what to call them in the count. */
  skippedOther: Skipped;
  otherName: string;
  gallery: string;
}

/** The end of a drawing command: skipped items on `err`, the summary lines, the skip counts, the gallery path. */
export function printDrawReport(r: DrawReport, out: (s: string) => void, err: (s: string) => void): void {
  reportSkipped([...r.skippedImages, ...r.skippedOther], err);
  for (const line of r.lines) out(`${line}\n`);
  if (r.skippedImages.length + r.skippedOther.length > 0) {
    out(`skipped ${r.skippedImages.length} image(s) and ${r.skippedOther.length} ${r.otherName} (--on-bad skip)\n`);
  }
  out(`gallery: ${r.gallery}\n`);
}
