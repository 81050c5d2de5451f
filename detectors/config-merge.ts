/**
 * How a detector's config takes overrides (`retinaNetConfig(overrides)`, `maskRcnnConfig(...overrides)`): a deep
 * merge where plain objects merge key by key and everything else — arrays, scalars, typed arrays — replaces, so
 * `{ anchors: { ratios: [1] } }` replaces the ratios and keeps the strides. A key the base does not have is an error
 * naming its dotted path (`retinaNetConfig.test: unknown option "scoreThreshold"`), the typo guard mmengine's
 * `Config.merge_from_dict` lacks. The base is not modified.
 */

/** Overrides: any subset, at any depth (arrays are replaced whole). */
export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** Deep merge for configs: plain objects merge key by key, everything else (arrays too) replaces. */
export function mergeConfig<T>(base: T, overrides: DeepPartial<T> | undefined, path = 'config'): T {
  if (overrides === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(overrides)) return overrides as unknown as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (!(k in base)) throw new Error(`${path}: unknown option "${k}"`);
    out[k] = isPlainObject(base[k]) ? mergeConfig(base[k], v as DeepPartial<unknown>, `${path}.${k}`) : v;
  }
  return out as T;
}
