/**
 * Where a JSON text stops being JSON: the offset of the first syntax error and what was expected there.
 *
 * Node 20's `JSON.parse` reports many syntax errors without a position ("Unexpected token '}', … is not valid
 * JSON"); this scanner finds it so the error can give a line and column. It only runs after `JSON.parse` has failed,
 * it is iterative (an explicit stack, so deeply nested input cannot overflow the call stack) and it allocates
 * nothing per value.
 */

export interface JsonSyntaxIssue {
  /** Offset (UTF-16 code units) of the first character that cannot be part of valid JSON, or the text's length. */
  offset: number;
  reason: string;
}

const enum Want {
  Value,
  ValueOrClose,
  KeyOrClose,
  Key,
  Colon,
  AfterValue,
  Done,
}


function shown(text: string, i: number): string {
  const c = text.codePointAt(i)!;
  return c < 0x20 ? `control character U+${c.toString(16).padStart(4, '0').toUpperCase()}` : `'${String.fromCodePoint(c)}'`;
}

/** Skips a string starting at `i` (on the opening quote); returns the offset after it, or an issue. */
function skipString(text: string, i: number): number | JsonSyntaxIssue {
  const n = text.length;
  for (let j = i + 1; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c === 34) return j + 1;
    if (c < 0x20) return { offset: j, reason: `${shown(text, j)} inside a string (escape it)` };
    if (c === 92) {
      const e = text[j + 1];
      if (e === undefined) break;
      if (e === 'u') {
        for (let k = j + 2; k < j + 6; k++) {
          if (k >= n) return { offset: n, reason: 'unterminated string' };
          if (!/[0-9a-fA-F]/.test(text[k]!)) return { offset: k, reason: 'bad \\u escape (expected 4 hex digits)' };
        }
        j += 5;
      } else if ('"\\/bfnrt'.includes(e)) j++;
      else return { offset: j + 1, reason: `bad escape '\\${e}' in a string` };
    }
  }
  return { offset: n, reason: 'unterminated string' };
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/** Skips a number starting at `i` (on '-' or a digit); returns the offset after it, or where it breaks. */
function skipNumber(text: string, i: number): number | JsonSyntaxIssue {
  const at = (j: number) => text.charCodeAt(j);
  const need = (j: number, what: string): JsonSyntaxIssue => ({
    offset: j,
    reason: j < text.length ? `expected ${what} in a number, got ${shown(text, j)}` : `unexpected end of input (expected ${what} in a number)`,
  });
  let j = i;
  if (at(j) === 45) j++;
  if (at(j) === 48) j++;
  else if (isDigit(at(j))) while (isDigit(at(j))) j++;
  else return need(j, 'a digit');
  if (at(j) === 46) {
    j++;
    if (!isDigit(at(j))) return need(j, 'a digit after the decimal point');
    while (isDigit(at(j))) j++;
  }
  if (at(j) === 101 || at(j) === 69) {
    j++;
    if (at(j) === 43 || at(j) === 45) j++;
    if (!isDigit(at(j))) return need(j, 'a digit in the exponent');
    while (isDigit(at(j))) j++;
  }
  return j;
}

/** The first syntax error of `text`, or null if it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxIssue | null {
  const stack: number[] = []; // 91 '[' or 123 '{'
  let want = Want.Value;
  const n = text.length;
  let i = 0;
  while (true) {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
    if (i >= n) {
      if (want === Want.Done) return null;
      return { offset: n, reason: stack.length > 0 ? `unexpected end of input (${stack.length} unclosed '${String.fromCharCode(stack[stack.length - 1]!)}')` : 'unexpected end of input' };
    }
    const c = text.charCodeAt(i);
    switch (want) {
      case Want.Done:
        return { offset: i, reason: `unexpected ${shown(text, i)} after the end of the JSON value` };
      case Want.Colon:
        if (c !== 58) return { offset: i, reason: `expected ':' after a property name, got ${shown(text, i)}` };
        i++;
        want = Want.Value;
        continue;
      case Want.KeyOrClose:
      case Want.Key:
        if (c === 125 && want === Want.KeyOrClose) {
          stack.pop();
          i++;
          want = stack.length ? Want.AfterValue : Want.Done;
          continue;
        }
        if (c !== 34) {
          return { offset: i, reason: `expected a property name in double quotes${want === Want.KeyOrClose ? " or '}'" : ''}, got ${shown(text, i)}` };
        }
        {
          const r = skipString(text, i);
          if (typeof r !== 'number') return r;
          i = r;
        }
        want = Want.Colon;
        continue;
      case Want.AfterValue: {
        const top = stack[stack.length - 1]!;
        if (c === 44) {
          i++;
          want = top === 91 ? Want.Value : Want.Key;
          continue;
        }
        if ((top === 91 && c === 93) || (top === 123 && c === 125)) {
          stack.pop();
          i++;
          want = stack.length ? Want.AfterValue : Want.Done;
          continue;
        }
        return { offset: i, reason: `expected ',' or '${top === 91 ? ']' : '}'}', got ${shown(text, i)}` };
      }
      case Want.Value:
      case Want.ValueOrClose: {
        if (c === 93 && want === Want.ValueOrClose) {
          stack.pop();
          i++;
          want = stack.length ? Want.AfterValue : Want.Done;
          continue;
        }
        if (c === 123 || c === 91) {
          stack.push(c);
          i++;
          want = c === 123 ? Want.KeyOrClose : Want.ValueOrClose;
          continue;
        }
        if (c === 34) {
          const r = skipString(text, i);
          if (typeof r !== 'number') return r;
          i = r;
        } else if (text.startsWith('true', i)) i += 4;
        else if (text.startsWith('false', i)) i += 5;
        else if (text.startsWith('null', i)) i += 4;
        else if (c === 45 || (c >= 48 && c <= 57)) {
          const r = skipNumber(text, i);
          if (typeof r !== 'number') return r;
          i = r;
        } else {
          const trailing = c === 93 || c === 125 ? ` (a trailing comma before '${String.fromCharCode(c)}'?)` : '';
          return { offset: i, reason: `expected a value, got ${shown(text, i)}${trailing}` };
        }
        want = stack.length ? Want.AfterValue : Want.Done;
        continue;
      }
    }
  }
}

/** 1-based line and column of an offset. */
export function lineColumn(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: pos - lineStart + 1 };
}
