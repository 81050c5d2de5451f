/**
 * `--cfg-options a.b=c` — mmdetection's `DictAction` overrides of a loaded config, with type checking against the
 * field being replaced (mmdetection guesses the type from the text; here the config already says what it holds):
 *
 *   number   `train.lr=0.005`, `train.lr=1e-3`        (finite numbers only)
 *   boolean  `train.validate=false`                   (true / false)
 *   string   `data.train.annFile=/data/coco/ann.json` (the text as is; surrounding quotes are removed)
 *   array    `train.milestones=[8,11]` or `train.milestones=8,11`, elements of the existing elements' type
 *   object   `data.val={"annFile":"a.json","imageDir":"img"}` (JSON; every key checked as above)
 *
 * An unknown key is an error listing the closest existing keys ("did you mean train.lr?"); the `model` factory
 * cannot be overridden from the command line (edit or copy the config file). Overrides apply in order; the result
 * is a new object (the input is not modified).
 */

/** A bad override; `message` is one line naming the option. */
export class CfgOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CfgOptionError';
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Splits `a.b=c` into the key path and the value text. */
export function splitOption(text: string): { path: string[]; value: string } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new CfgOptionError(`--cfg-options '${text}': expected KEY=VALUE, e.g. train.lr=0.01`);
  const key = text.slice(0, eq).trim();
  const path = key.split('.');
  if (path.some((p) => p.length === 0)) throw new CfgOptionError(`--cfg-options '${text}': the key '${key}' has an empty part`);
  return { path, value: text.slice(eq + 1).trim() };
}

/** Levenshtein distance (small strings). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** Every dotted key path of a JSON object (leaves and objects). */
export function keyPaths(obj: JsonObject, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix ? `${prefix}.${k}` : k;
    out.push(p);
    if (isObject(v)) out.push(...keyPaths(v, p));
  }
  return out;
}

/** Up to `max` existing key paths closest to `wanted` (by the whole path, or by the last part alone). */
export function closestKeys(wanted: string, known: readonly string[], max = 3): string[] {
  const last = wanted.split('.').pop()!;
  const scored = known.map((k) => {
    const kl = k.split('.').pop()!;
    const d = Math.min(editDistance(wanted, k), editDistance(last, kl) + (k === wanted ? 0 : 1));
    return { k, d };
  });
  const limit = Math.max(2, Math.floor(last.length / 3));
  return scored
    .filter((s) => s.d <= limit)
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
    .slice(0, max)
    .map((s) => s.k);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function unquote(s: string): string {
  return s.length >= 2 && ((s[0] === '"' && s.endsWith('"')) || (s[0] === "'" && s.endsWith("'"))) ? s.slice(1, -1) : s;
}

function parseNumber(text: string, where: string): number {
  const t = text.trim();
  const v = t === '' ? NaN : Number(t);
  if (!Number.isFinite(v)) throw new CfgOptionError(`${where}: expected a number, got '${text}'`);
  return v;
}

function parseBoolean(text: string, where: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  throw new CfgOptionError(`${where}: expected true or false, got '${text}'`);
}

function parseJson(text: string, where: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new CfgOptionError(`${where}: '${text}' is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

/** Converts an already-parsed JSON value to the type of `current`, checking it (recursively for objects/arrays). */
function coerceJson(value: Json, current: Json, where: string): Json {
  if (current === null) return value;
  if (typeof current === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new CfgOptionError(`${where}: expected a number, got ${typeName(value)}`);
    return value;
  }
  if (typeof current === 'boolean') {
    if (typeof value !== 'boolean') throw new CfgOptionError(`${where}: expected true or false, got ${typeName(value)}`);
    return value;
  }
  if (typeof current === 'string') {
    if (typeof value !== 'string') throw new CfgOptionError(`${where}: expected a string, got ${typeName(value)}`);
    return value;
  }
  if (Array.isArray(current)) {
    if (!Array.isArray(value)) throw new CfgOptionError(`${where}: expected an array, got ${typeName(value)}`);
    const proto = current[0];
    return value.map((el, i) => (proto === undefined ? el : coerceJson(el, proto, `${where}[${i}]`)));
  }
  if (value === null) return null;
  if (!isObject(value)) throw new CfgOptionError(`${where}: expected an object, got ${typeName(value)}`);
  const out: JsonObject = { ...current };
  for (const [k, v] of Object.entries(value)) {
    if (!(k in current)) {
      const near = closestKeys(k, Object.keys(current));
      throw new CfgOptionError(`${where}: unknown key '${k}'${near.length ? ` — did you mean ${near.join(', ')}?` : ''} (has: ${Object.keys(current).join(', ')})`);
    }
    out[k] = coerceJson(v, current[k]!, `${where}.${k}`);
  }
  return out;
}

/** Parses `text` as a value of the same type as `current`. */
export function parseValueLike(text: string, current: Json, where: string): Json {
  if (typeof current === 'number') return parseNumber(text, where);
  if (typeof current === 'boolean') return parseBoolean(text, where);
  if (typeof current === 'string') return unquote(text);
  if (Array.isArray(current)) {
    const t = text.trim();
    if (t.startsWith('[')) return coerceJson(parseJson(t, where), current, where);
    const parts = t === '' ? [] : t.split(',').map((s) => s.trim());
    const proto = current[0];
    return parts.map((p, i) => {
      const w = `${where}[${i}]`;
      if (proto === undefined) {
        const n = Number(p);
        return p !== '' && Number.isFinite(n) ? n : unquote(p);
      }
      return isObject(proto) || Array.isArray(proto) || proto === null ? coerceJson(parseJson(p, w), proto, w) : parseValueLike(p, proto, w);
    });
  }
  return coerceJson(parseJson(text, where), current, where);
}

/**
 * Applies `options` (each `a.b=c`) to a copy of `config` and returns it. `reserved` names top-level keys that exist
 * in the config but are not data (the model factory): overriding them is an error saying why.
 */
export function applyCfgOptions<T extends object>(config: T, options: readonly string[], reserved: Record<string, string> = {}): T {
  const out = structuredClone(config) as unknown as JsonObject;
  for (const text of options) {
    const { path, value } = splitOption(text);
    const key = path.join('.');
    const where = `--cfg-options ${key}`;
    if (path[0]! in reserved) throw new CfgOptionError(`${where}: ${reserved[path[0]!]}`);
    let node: JsonObject = out;
    for (let i = 0; i < path.length; i++) {
      const part = path[i]!;
      if (!(part in node)) {
        const prefix = path.slice(0, i).join('.');
        const known = keyPaths(out);
        const near = closestKeys(key, known);
        const siblings = Object.keys(node);
        throw new CfgOptionError(
          `${where}: unknown key '${part}'${prefix ? ` in ${prefix}` : ''}` +
            (near.length ? ` — did you mean ${near.join(', ')}?` : '') +
            ` (${prefix || 'the config'} has: ${siblings.join(', ')})`,
        );
      }
      if (i === path.length - 1) {
        node[part] = parseValueLike(value, node[part]!, where);
        break;
      }
      const next = node[part]!;
      if (!isObject(next)) {
        throw new CfgOptionError(`${where}: ${path.slice(0, i + 1).join('.')} is ${typeName(next)}, not an object with fields`);
      }
      node = next;
    }
  }
  return out as unknown as T;
}
