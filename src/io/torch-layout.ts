/**
 * PyTorch ↔ tiedet tensor layouts and names — the only place where weights change layout (DESIGN.md).
 *
 * The layout of every state-dict entry is decided from the TARGET module, never guessed from a name: the
 * module class that owns the entry and the entry's name in it give one of
 *
 *   'conv'      Conv2d / TiedBlockConv2d `weight`:   tiedet [kh, kw, in, out]  ↔ PyTorch [out, in, kh, kw]
 *   'linear'    Linear / TiedLinear `weight`:         tiedet [in, out]          ↔ PyTorch [out, in]
 *   'layernorm' LayerNorm `weight` / `bias`:          tiedet [P]                ↔ PyTorch [P, 1, 1]
 *               (tiedet's LayerNorm is the NHWC form of `nn.LayerNorm([P, 1, 1])`, GCNet's; loading also
 *               accepts [P] and any [P, 1, …, 1])
 *   'same'      every other entry of rank ≤ 1 (biases, BatchNorm statistics, scalars): unchanged
 *
 * and int32 buffers (BatchNorm's `num_batches_tracked`) are int64 in PyTorch files. A module class this file
 * does not know can declare its own rule by implementing `TorchLayoutProvider`; an unknown entry of rank ≥ 2
 * without a rule is an error naming the key (it would otherwise be loaded in a silently wrong layout).
 *
 * Names: tiedet's state-dict paths are torchvision's (`layer1.0.conv1.weight`), so torchvision checkpoints
 * need no renaming (`torchvisionNames`, the identity). The official TBC code wraps the shared filter in a
 * child module — `TiedBlockConv2d.conv` (an `nn.Conv2d`) and `TFC.linear` (an `nn.Linear`) — so its keys are
 * `….conv.weight` / `….linear.weight` where tiedet has `….weight`; `officialTbcNames(module)` maps both ways,
 * renaming only where the target module really has a TiedBlockConv2d / TiedLinear at that path.
 */
import type * as tf from '@tensorflow/tfjs';
import { TiedBlockConv2d } from '../layers/tbc.js';
import { TiedLinear } from '../layers/tfc.js';
import { TiedSE } from '../layers/tied-se.js';
import { Conv2d } from '../nn/conv2d.js';
import { LayerNorm } from '../nn/layernorm.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';

export type TorchLayout = 'conv' | 'linear' | 'layernorm' | 'same';

/** A module class outside `src/nn` / `src/layers` can state the PyTorch layout of its own entries. */
export interface TorchLayoutProvider {
  /** Layout of this module's own parameter or buffer `name`, or undefined for the default rules. */
  torchLayout(name: string): TorchLayout | undefined;
}

function isLayoutProvider(m: Module): m is Module & TorchLayoutProvider {
  return typeof (m as Partial<TorchLayoutProvider>).torchLayout === 'function';
}

/** One state-dict entry of a module, as `io/` sees it. */
export interface StateEntry {
  /** tiedet dotted name. */
  key: string;
  /** The live variable (do not dispose). */
  variable: tf.Variable;
  /** The module that owns the entry and the entry's own name in it. */
  owner: Module;
  localName: string;
  isBuffer: boolean;
  /** Whether the entry may be absent from a checkpoint (BatchNorm's `num_batches_tracked`). */
  optional: boolean;
  /** The layout rule, or null when there is none (an error once the entry is converted). */
  layout: TorchLayout | null;
}

function layoutFor(owner: Module, name: string, rank: number): TorchLayout | null {
  if (isLayoutProvider(owner)) {
    const l = owner.torchLayout(name);
    if (l) return l;
  }
  if ((owner instanceof Conv2d || owner instanceof TiedBlockConv2d) && name === 'weight' && rank === 4) return 'conv';
  if ((owner instanceof Linear || owner instanceof TiedLinear) && name === 'weight' && rank === 2) return 'linear';
  if (owner instanceof LayerNorm && (name === 'weight' || name === 'bias') && rank === 1) return 'layernorm';
  return rank <= 1 ? 'same' : null;
}

/** Every state-dict entry of `module` (in `stateDict()` order) with its owner and layout rule. */
export function describeState(module: Module): Map<string, StateEntry> {
  const owners = new Map<string, { owner: Module; localName: string; isBuffer: boolean }>();
  for (const [prefix, m] of module.namedModules()) {
    const own = (name: string): boolean => !name.includes('.');
    const full = (name: string): string => (prefix ? `${prefix}.${name}` : name);
    // A module's direct entries are those of its namedParameters()/namedBuffers() without a dot.
    for (const [name] of m.namedParameters()) if (own(name)) owners.set(full(name), { owner: m, localName: name, isBuffer: false });
    for (const [name] of m.namedBuffers()) if (own(name)) owners.set(full(name), { owner: m, localName: name, isBuffer: true });
  }
  // With an empty state and strict:false, loadStateDict writes nothing and lists exactly the required keys.
  const required = new Set(module.loadStateDict(new Map(), { strict: false }).missingKeys);
  const out = new Map<string, StateEntry>();
  for (const [key, variable] of module.stateDict()) {
    const o = owners.get(key);
    if (!o) throw new Error(`describeState: internal error, no owner found for "${key}"`);
    out.set(key, {
      key,
      variable: variable as tf.Variable,
      ...o,
      optional: !required.has(key),
      layout: layoutFor(o.owner, o.localName, variable.rank),
    });
  }
  return out;
}

function requireLayout(e: StateEntry): TorchLayout {
  if (e.layout === null) {
    throw new Error(
      `no PyTorch layout rule for "${e.key}" (a rank-${e.variable.rank} ${e.isBuffer ? 'buffer' : 'parameter'} of ` +
        `${e.owner.constructor.name}); implement TorchLayoutProvider.torchLayout() on that module`,
    );
  }
  return e.layout;
}

/** The shape `entry` has in a PyTorch state dict. */
export function torchShape(entry: StateEntry): number[] {
  const s = entry.variable.shape;
  switch (requireLayout(entry)) {
    case 'conv':
      return [s[3]!, s[2]!, s[0]!, s[1]!];
    case 'linear':
      return [s[1]!, s[0]!];
    case 'layernorm':
      return [s[0]!, 1, 1];
    case 'same':
      return [...s];
  }
}

/** Whether a PyTorch tensor of `shape` fits `entry` (the LayerNorm rule accepts [P] and [P, 1, …, 1]). */
export function torchShapeFits(entry: StateEntry, shape: readonly number[]): boolean {
  const want = torchShape(entry);
  if (entry.layout === 'layernorm') return shape.length >= 1 && shape[0] === want[0] && shape.slice(1).every((d) => d === 1);
  return shape.length === want.length && shape.every((d, i) => d === want[i]);
}

/** The safetensors dtype a tiedet variable is saved as (int32 → I64, PyTorch's integer default). */
export function torchDtype(entry: StateEntry): 'F32' | 'I64' | 'BOOL' {
  switch (entry.variable.dtype) {
    case 'float32':
      return 'F32';
    case 'int32':
      return 'I64';
    case 'bool':
      return 'BOOL';
    default:
      throw new Error(`"${entry.key}": cannot save a ${entry.variable.dtype} tensor in PyTorch format`);
  }
}

type Data = Float32Array | Int32Array | Uint8Array;

function like<T extends Data>(a: T, n: number): T {
  return new (a.constructor as new (n: number) => T)(n);
}

/** [o, i, h, w] ↔ [h, w, i, o]: `toTiedet` reads PyTorch order, else the reverse. */
function permuteConv<T extends Data>(src: T, tiedetShape: readonly number[], toTiedet: boolean): T {
  const [kh, kw, ci, co] = tiedetShape as [number, number, number, number];
  const out = like(src, src.length);
  for (let o = 0; o < co; o++) {
    for (let i = 0; i < ci; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const t = ((o * ci + i) * kh + y) * kw + x; // PyTorch index
          const f = ((y * kw + x) * ci + i) * co + o; // tiedet index
          if (toTiedet) out[f] = src[t]!;
          else out[t] = src[f]!;
        }
      }
    }
  }
  return out;
}

function transpose2d<T extends Data>(src: T, rows: number, cols: number): T {
  const out = like(src, src.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c]!;
  return out;
}

/**
 * PyTorch-layout values (row-major, shape must fit `entry`: check with `torchShapeFits`) → tiedet layout, ready
 * for `tf.tensor(…, entry.variable.shape)`. Always a new array (never a view of `data`, so a tensor made from it
 * never keeps a whole checkpoint file's buffer alive — TF.js's cpu backend keeps the array it is given).
 */
export function toTiedetLayout<T extends Data>(entry: StateEntry, data: T): T {
  const s = entry.variable.shape;
  switch (requireLayout(entry)) {
    case 'conv':
      return permuteConv(data, s, true);
    case 'linear':
      return transpose2d(data, s[1]!, s[0]!);
    case 'layernorm':
    case 'same':
      return data.slice() as T;
  }
}

/** tiedet-layout values of `entry` → PyTorch layout (shape `torchShape(entry)`). */
export function toTorchLayout<T extends Data>(entry: StateEntry, data: T): T {
  const s = entry.variable.shape;
  switch (requireLayout(entry)) {
    case 'conv':
      return permuteConv(data, s, false);
    case 'linear':
      return transpose2d(data, s[0]!, s[1]!);
    case 'layernorm':
    case 'same':
      return data;
  }
}

// ---- names ----------------------------------------------------------------------------------------------------------

/** Checkpoint key → tiedet key; null drops the key on purpose (reported as ignored, never as unexpected). */
export type LoadNameMap = (fileKey: string) => string | null;
/** tiedet key → checkpoint key. */
export type SaveNameMap = (tiedetKey: string) => string;

/** torchvision's names are tiedet's: the identity. */
export const torchvisionNames: LoadNameMap & SaveNameMap = (key: string) => key;

/**
 * Drop torchvision's classifier (`fc.weight`, `fc.bias`) when loading an ImageNet checkpoint into a backbone
 * that has none; every other key is kept.
 */
export const dropClassifier: LoadNameMap = (key) => (key === 'fc.weight' || key === 'fc.bias' ? null : key);

export interface NameMapPair {
  /** For `loadTorchWeights({ mapName })`. */
  toTiedet: LoadNameMap;
  /** For `saveTorchWeights({ mapName })`. */
  toTorch: SaveNameMap;
}

/**
 * The official TBC code's names (github.com/frank-xwang/TBC-TiedBlockConvolution): its `TiedBlockConv2d` keeps
 * the shared filter in a child `conv` (`nn.Conv2d`), its `TFC` in a child `linear` (`nn.Linear`). So
 *   `P.conv.weight`, `P.conv.bias`     ↔ `P.weight`, `P.bias`   where P is a TiedBlockConv2d of `module`,
 *   `P.linear.weight`, `P.linear.bias` ↔ `P.weight`, `P.bias`   where P is a TiedLinear of `module`.
 * Everything else is unchanged: the official `TiedSELayer` uses plain `nn.Linear`s at `fc.0` / `fc.2`, which
 * are tiedet's TiedSE names already, so the TiedLinears inside a TiedSE are not renamed. Paths are looked up in `module`, so a real child named `conv` elsewhere is
 * never renamed.
 */
export function officialTbcNames(module: Module): NameMapPair {
  const wrapperOf = new Map<string, string>(); // tiedet module path → child name of the official wrapper
  const plainLinears = new Set<string>(); // TiedLinears inside a TiedSE: plain nn.Linear in the official code
  for (const [path, m] of module.namedModules()) {
    if (m instanceof TiedSE) for (const [p] of m.namedModules(path)) plainLinears.add(p);
  }
  for (const [path, m] of module.namedModules()) {
    if (m instanceof TiedBlockConv2d) wrapperOf.set(path, 'conv');
    else if (m instanceof TiedLinear && !plainLinears.has(path)) wrapperOf.set(path, 'linear');
  }
  const split = (key: string): [string, string] => {
    const i = key.lastIndexOf('.');
    return i < 0 ? ['', key] : [key.slice(0, i), key.slice(i + 1)];
  };
  const join = (p: string, n: string): string => (p ? `${p}.${n}` : n);
  return {
    toTiedet(fileKey) {
      const [parent, leaf] = split(fileKey);
      const [path, child] = split(parent);
      if (parent && wrapperOf.get(path) === child && (leaf === 'weight' || leaf === 'bias')) return join(path, leaf);
      return fileKey;
    },
    toTorch(tiedetKey) {
      const [path, leaf] = split(tiedetKey);
      const child = wrapperOf.get(path);
      return child && (leaf === 'weight' || leaf === 'bias') ? join(join(path, child), leaf) : tiedetKey;
    },
  };
}
