/**
 * Reading COCO JSON files with errors that name the file (and line/column for syntax errors).
 *
 * Python's `json` module writes `NaN`, `Infinity` and `-Infinity` for non-finite floats (a detector that outputs a
 * NaN score produces such a results file). Those are not JSON; instead of failing with a bare syntax error we read
 * them as the numbers they stand for, so the caller's validation can name the record and field that holds them.
 */
import { readFileSync } from 'node:fs';

/** Bad input in a COCO file: `file`, then where (`record`, e.g. `annotations[12]`, and `field`), then why. */
export class CocoFormatError extends Error {
  constructor(
    readonly file: string,
    readonly record: string | undefined,
    readonly field: string | undefined,
    readonly reason: string,
  ) {
    const where = record === undefined ? '' : field === undefined ? `${record}: ` : `${record}.${field}: `;
    super(`${file}: ${where}${reason}`);
    this.name = 'CocoFormatError';
  }
}

const SENTINEL = '\u0000tiedet-nonfinite:';

/** Rewrites bare NaN / Infinity / -Infinity tokens (outside strings) as sentinel strings; null if there are none. */
function quoteNonFinite(text: string): string | null {
  const parts: string[] = [];
  let last = 0;
  let inString = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) {
      inString = true;
      continue;
    }
    let token: string | undefined;
    if (c === 78 /* N */ && text.startsWith('NaN', i)) token = 'NaN';
    else if (c === 73 /* I */ && text.startsWith('Infinity', i)) token = 'Infinity';
    else if (c === 45 /* - */ && text.startsWith('-Infinity', i)) token = '-Infinity';
    if (token !== undefined) {
      parts.push(text.slice(last, i), JSON.stringify(SENTINEL + token));
      i += token.length - 1;
      last = i + 1;
    }
  }
  if (parts.length === 0) return null;
  parts.push(text.slice(last));
  return parts.join('');
}

function reviveNonFinite(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.startsWith(SENTINEL)) {
    const t = value.slice(SENTINEL.length);
    return t === 'NaN' ? Number.NaN : t === 'Infinity' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  }
  return value;
}

function lineColumn(text: string, pos: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return `line ${line}, column ${pos - lineStart + 1}`;
}

/** JSON.parse that also accepts Python's NaN/Infinity literals and reports syntax errors with line and column. */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const quoted = quoteNonFinite(text);
    if (quoted !== null) {
      try {
        return JSON.parse(quoted, reviveNonFinite);
      } catch {
        // report the original error below
      }
    }
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg);
    const where = m ? ` (${lineColumn(text, Number(m[1]))})` : '';
    throw new CocoFormatError(file, undefined, undefined, `invalid JSON${where}: ${msg}`);
  }
}

/** Reads and parses a JSON file; `what` describes it in the error for a missing/unreadable file. */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CocoFormatError(path, undefined, undefined, `cannot read ${what}${code ? ` (${code})` : ''}: ${(e as Error).message}`);
  }
  return parseJson(text, path);
}
