/**
 * `Module`: the base of every network part — named parameters and buffers, child modules, train/eval mode,
 * freezing, state dicts with torchvision-style dotted names.
 *
 * - **Parameters** are trainable `tf.Variable`s (`registerParameter`). **Buffers** (running statistics,
 *   counters) are non-trainable `tf.Variable`s (`registerBuffer`); keeping them as variables means a buffer
 *   keeps its identity when its value changes (`assign`), so references from `stateDict()` stay valid.
 * - **Names** follow PyTorch's state-dict paths: a child registered as `layer1` whose child `0` owns `conv1`
 *   gives `layer1.0.conv1.weight`; buffers likewise (`bn1.running_mean`). Order is PyTorch's: a module's own
 *   parameters (registration order), then its own buffers, then each child recursively.
 * - **Layout**: tensors keep TF.js layout (a conv weight is [kh, kw, in/groups, out], a linear weight
 *   [in, out]); conversion to and from PyTorch layout ([out, in, kh, kw] / [out, in]) is `io/`'s job, which
 *   works on these names.
 * - **Variables are anonymous in TF.js** (TF.js variable names must be globally unique, ours repeat across
 *   models), so the dotted names live here, not in `variable.name`. `namedParameters()` gives the mapping.
 * - **Memory**: a module owns its variables; `dispose()` frees them (and its children's). Initial values handed
 *   to `registerParameter` / `registerBuffer` are taken over and disposed.
 *
 * Subclasses define their own typed `forward`; `Forward<I, O>` describes it for containers.
 */
import * as tf from '@tensorflow/tfjs';
import { DerivedTensors } from './derived-tensors.js';

/** What a module computes; containers (`Sequential`) call `forward`. */
export interface Forward<I = tf.Tensor, O = tf.Tensor> {
  forward(x: I): O;
}

/** A flat state: dotted name → tensor. */
export type StateDict = Map<string, tf.Tensor>;

export interface LoadStateDictOptions {
  /**
   * Default true: any missing or unexpected key is an error. With false they are returned instead. Shape
   * mismatches are always an error (as in PyTorch).
   */
  strict?: boolean;
}

export interface LoadStateDictResult {
  /** Keys this module has but the state did not provide (optional buffers are not listed). */
  missingKeys: string[];
  /** Keys the state provided that this module does not have. */
  unexpectedKeys: string[];
}

export interface BufferOptions {
  /**
   * When true the buffer may be absent from a loaded state dict without being "missing" (its current value is
   * kept). BatchNorm's `num_batches_tracked` is registered this way.
   */
  optionalOnLoad?: boolean;
}

interface BufferEntry {
  variable: tf.Variable;
  optionalOnLoad: boolean;
}

const NAME_RE = /^[A-Za-z0-9_]+$/;

export class Module {
  private readonly ownParameters = new Map<string, tf.Variable>();
  private readonly ownBuffers = new Map<string, BufferEntry>();
  private readonly ownChildren = new Map<string, Module>();
  private isTraining = true;
  private isFrozen = false;
  private isDisposed = false;

  /**
   * Tensors the eval-mode paths derive from this module's parameters and keep between calls (a BN-folded weight,
   * Winograd filters: derived-tensors.ts); freed by `train()` and `dispose()`.
   */
  readonly derived = new DerivedTensors();

  /** True in training mode (the default, as in PyTorch); see `train()` / `eval()`. */
  get training(): boolean {
    return this.isTraining;
  }

  /** True after `freeze()` (until `unfreeze()`). */
  get frozen(): boolean {
    return this.isFrozen;
  }

  /** True after `dispose()`. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  private checkName(name: string, what: string): void {
    if (!NAME_RE.test(name)) {
      throw new Error(`${this.constructor.name}: ${what} name "${name}" must be non-empty and use only [A-Za-z0-9_]`);
    }
    if (this.ownParameters.has(name) || this.ownBuffers.has(name) || this.ownChildren.has(name)) {
      throw new Error(`${this.constructor.name}: the name "${name}" is already registered`);
    }
  }

  /**
   * Register a trainable parameter `name` with `initial` as its value (taken over: it is disposed once copied
   * into the variable). The parameter is created non-trainable if this module is frozen.
   */
  protected registerParameter(name: string, initial: tf.Tensor): tf.Variable {
    this.checkName(name, 'parameter');
    if (initial.dtype !== 'float32') throw new Error(`${this.constructor.name}: parameter "${name}" must be float32`);
    const v = tf.variable(initial, !this.isFrozen);
    initial.dispose();
    this.ownParameters.set(name, v);
    return v;
  }

  /** Register a non-trainable buffer `name` (a running statistic, a counter); `initial` is taken over. */
  protected registerBuffer(name: string, initial: tf.Tensor, options: BufferOptions = {}): tf.Variable {
    this.checkName(name, 'buffer');
    const v = tf.variable(initial, false);
    initial.dispose();
    this.ownBuffers.set(name, { variable: v, optionalOnLoad: options.optionalOnLoad ?? false });
    return v;
  }

  /** Register a child module under `name`; its keys get the prefix `name.`. Returns the child. */
  protected registerModule<M extends Module>(name: string, child: M): M {
    this.checkName(name, 'module');
    if (child === (this as Module)) throw new Error(`${this.constructor.name}: a module cannot be its own child`);
    this.ownChildren.set(name, child);
    return child;
  }

  /** Direct children in registration order. */
  namedChildren(): Array<[string, Module]> {
    return [...this.ownChildren];
  }

  /** This module (name '') and all descendants, depth first, with dotted names. */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [name, child] of this.ownChildren) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** All parameters with dotted names (own first, then children's). */
  namedParameters(options: { trainableOnly?: boolean } = {}): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, v] of m.ownParameters) {
        if (options.trainableOnly && !v.trainable) continue;
        out.push([prefix ? `${prefix}.${name}` : name, v]);
      }
    }
    return out;
  }

  /** All parameters (variables), in `namedParameters` order. */
  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, v]) => v);
  }

  /** The parameters that currently receive gradients: pass these as the `varList` of `tf.variableGrads`. */
  trainableVariables(): tf.Variable[] {
    return this.namedParameters({ trainableOnly: true }).map(([, v]) => v);
  }

  /** All buffers with dotted names. */
  namedBuffers(): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, e] of m.ownBuffers) out.push([prefix ? `${prefix}.${name}` : name, e.variable]);
    }
    return out;
  }

  /**
   * The state in PyTorch's order: for each module its parameters, then its buffers, then its children. The
   * tensors are the live variables (not copies): do not dispose them; they stay valid (and see later updates)
   * until this module is disposed.
   */
  stateDict(prefix = ''): StateDict {
    const out: StateDict = new Map();
    const key = (name: string): string => (prefix ? `${prefix}.${name}` : name);
    for (const [name, v] of this.ownParameters) out.set(key(name), v);
    for (const [name, e] of this.ownBuffers) out.set(key(name), e.variable);
    for (const [name, child] of this.ownChildren) {
      for (const [k, v] of child.stateDict(key(name))) out.set(k, v);
    }
    return out;
  }

  private optionalKeys(prefix = ''): Set<string> {
    const out = new Set<string>();
    for (const [p, m] of this.namedModules(prefix)) {
      for (const [name, e] of m.ownBuffers) if (e.optionalOnLoad) out.add(p ? `${p}.${name}` : name);
    }
    return out;
  }

  /**
   * Copy values from `state` (name → tensor, TF.js layout) into this module's parameters and buffers. All checks
   * run before anything is written, so a failed load leaves the module unchanged. Errors name every missing,
   * unexpected and shape-mismatched key. Values are cast to the target dtype (e.g. an int64-as-float counter).
   * The caller keeps ownership of `state`'s tensors.
   */
  loadStateDict(
    state: ReadonlyMap<string, tf.Tensor> | Readonly<Record<string, tf.Tensor>>,
    options: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    this.assertAlive('loadStateDict');
    const strict = options.strict ?? true;
    const source: ReadonlyMap<string, tf.Tensor> = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const optional = this.optionalKeys();
    const missingKeys = [...own.keys()].filter((k) => !source.has(k) && !optional.has(k));
    const unexpectedKeys = [...source.keys()].filter((k) => !own.has(k));
    const mismatches: string[] = [];
    for (const [k, target] of own) {
      const src = source.get(k);
      if (src && !tf.util.arraysEqual(src.shape, target.shape)) {
        mismatches.push(`${k}: checkpoint shape [${src.shape.join(', ')}], module shape [${target.shape.join(', ')}]`);
      }
    }
    const problems: string[] = [];
    if (mismatches.length) problems.push(`size mismatch for ${mismatches.length} key(s): ${mismatches.join('; ')}`);
    if (strict && missingKeys.length) problems.push(`missing key(s): ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected key(s): ${unexpectedKeys.join(', ')}`);
    if (problems.length) {
      throw new Error(`Error(s) in loading state dict for ${this.constructor.name}:\n  ${problems.join('\n  ')}`);
    }
    for (const [k, target] of own) {
      const src = source.get(k);
      if (!src) continue;
      const v = target as tf.Variable;
      tf.tidy(() => v.assign(src.dtype === v.dtype ? src : tf.cast(src, v.dtype)));
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Set training mode (`true`) or evaluation mode (`false`) here and in all descendants; `true` frees `derived`. */
  train(mode = true): this {
    this.isTraining = mode;
    if (mode) this.derived.clear();
    for (const child of this.ownChildren.values()) child.train(mode);
    return this;
  }

  /** `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Stop gradients for all parameters here and below (variables become non-trainable, so
   * `trainableVariables()` and `tf.variableGrads()` skip them). Subclasses may add behaviour (a frozen
   * BatchNorm also uses its running statistics in training mode).
   */
  freeze(): this {
    this.isFrozen = true;
    for (const v of this.ownParameters.values()) v.trainable = false;
    for (const child of this.ownChildren.values()) child.freeze();
    return this;
  }

  /** Undo `freeze()` here and below. */
  unfreeze(): this {
    this.isFrozen = false;
    for (const v of this.ownParameters.values()) v.trainable = true;
    for (const child of this.ownChildren.values()) child.unfreeze();
    return this;
  }

  /** Number of parameter elements (buffers excluded), optionally only trainable ones. */
  numParameters(options: { trainableOnly?: boolean } = {}): number {
    return this.namedParameters(options).reduce((n, [, v]) => n + v.size, 0);
  }

  /** Tensors held in `derived` here and below (kept between eval-mode calls: count them apart from leaks). */
  numDerivedTensors(): number {
    let n = this.derived.size;
    for (const child of this.ownChildren.values()) n += child.numDerivedTensors();
    return n;
  }

  /** Free all parameters and buffers here and below. Idempotent. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.derived.clear();
    for (const v of this.ownParameters.values()) v.dispose();
    for (const e of this.ownBuffers.values()) e.variable.dispose();
    for (const child of this.ownChildren.values()) child.dispose();
  }

  /** Throw a clear error when used after `dispose()`. */
  protected assertAlive(what: string): void {
    if (this.isDisposed) throw new Error(`${this.constructor.name}.${what}: the module was disposed`);
  }
}
