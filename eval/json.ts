/**
 * Reading COCO JSON files with errors that name the file (and line/column for syntax errors).
 *
 * Python's `json` module writes `NaN`, `Infinity` and `-Infinity` for non-finite floats (a detector that outputs a
 * NaN score produces such a results file). Those are not JSON; instead of failing with a bare syntax error we read
 * them as the numbers they stand for, so the caller's validation can name the record and field that holds them.
 */
import { readFileSync, statSync } from 'node:fs';
import { findJsonSyntaxError, lineColumn } from './json-syntax.js';

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

/** JSON.parse that also accepts Python's NaN/Infinity literals and reports syntax errors with line and column. */
export function parseJson(text: string, file: string): unknown {
  if (text.charCodeAt(0) === 0xfeff) {
    throw new CocoFormatError(
      file,
      undefined,
      undefined,
      'starts with a UTF-8 byte-order mark (BOM), which JSON does not allow; save the file as UTF-8 without BOM',
    );
  }
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
    if (text.trim().length === 0) throw new CocoFormatError(file, undefined, undefined, 'invalid JSON: the file is empty');
    // The scanner is authoritative for where and why (Node 20's messages often carry no position).
    const issue = findJsonSyntaxError(text);
    if (issue) {
      const { line, column } = lineColumn(text, issue.offset);
      throw new CocoFormatError(file, undefined, undefined, `invalid JSON (line ${line}, column ${column}): ${issue.reason}`);
    }
    throw new CocoFormatError(file, undefined, undefined, `invalid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** The largest JSON file read (V8 strings stop at about 512 MiB; COCO's largest annotation file is 470 MB). */
export const MAX_JSON_BYTES = 512 * 1024 * 1024 - 64;

/**
 * Reads a text file with errors that name it: a missing file, a folder, a device or pipe (`/dev/zero` would never
 * end), or a file over `maxBytes` is refused before reading.
 */
export function readTextFile(path: string, what: string, maxBytes = MAX_JSON_BYTES): string {
  const fail = (reason: string): never => {
    throw new CocoFormatError(path, undefined, undefined, reason);
  };
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(code === 'ENOENT' ? `${what} not found` : `cannot read ${what}${code ? ` (${code})` : ''}: ${(e as Error).message}`);
  }
  if (st.isDirectory()) fail(`is a folder, not a ${what}`);
  if (!st.isFile()) fail(`is not a regular file (a device or pipe?), not a ${what}`);
  if (st.size > maxBytes) {
    fail(`${what} of ${st.size.toLocaleString('en-US')} bytes is larger than the ${maxBytes.toLocaleString('en-US')}-byte limit of this reader`);
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(`cannot read ${what}${code ? ` (${code})` : ''}: ${(e as Error).message}`);
  }
}

/** Reads and parses a JSON file; `what` describes it in the error for a missing/unreadable file. */
export function readJsonFile(path: string, what: string): unknown {
  return parseJson(readTextFile(path, what), path);
}
