/**
 * The consistency checks every detector's config factory runs after merging its overrides (`retinaNetConfig`,
 * `maskRcnnConfig`): each error names the factory and the field's dotted path, e.g. `maskRcnnConfig:
 * model.neck.outChannels must be a positive integer, got 0`.
 */
export interface ConfigChecks {
  positiveInt(v: number, path: string): void;
  nonNegativeInt(v: number, path: string): void;
  finite(v: number, path: string): void;
  nonEmpty(v: readonly unknown[], path: string): void;
}

/** Checks whose errors start with `owner:`. */
export function configChecks(owner: string): ConfigChecks {
  return {
    positiveInt(v, path) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${owner}: ${path} must be a positive integer, got ${v}`);
    },
    nonNegativeInt(v, path) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`${owner}: ${path} must be an integer ≥ 0, got ${v}`);
    },
    finite(v, path) {
      if (!Number.isFinite(v)) throw new Error(`${owner}: ${path} must be a finite number, got ${v}`);
    },
    nonEmpty(v, path) {
      if (v.length === 0) throw new Error(`${owner}: ${path} must not be empty`);
    },
  };
}
