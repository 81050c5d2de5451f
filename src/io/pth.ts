/**
 * PyTorch `torch.save` files (`.pth` / `.pt`) read without Python.
 *
 * Since PyTorch 1.6 `torch.save` writes a ZIP archive (stored, uncompressed, records 64-byte aligned) of
 *   <prefix>/data.pkl     the saved object, pickled (protocol 2) with tensors as `_rebuild_tensor_v2(storage,
 *                         storage_offset, size, stride, requires_grad, backward_hooks[, metadata])` calls and
 *                         storages as persistent ids ('storage', torch.<Type>Storage, key, location, numel);
 *   <prefix>/data/<key>   each storage's raw bytes;
 *   <prefix>/byteorder    'little' or 'big' (PyTorch ≥ 1.13; absent means little-endian);
 *   <prefix>/version      the format version.
 * `readPth` unpickles data.pkl with the restricted unpickler (pickle.ts) — nothing is imported or executed:
 * it knows `torch._utils._rebuild_tensor(_v2)`, `_rebuild_parameter(_with_state)`, `torch._tensor.
 * _rebuild_from_type_v2` for plain tensors and parameters, and the storage classes of float64 / float32 /
 * float16 / bfloat16 / int64 / int32 / int16 / int8 / uint8 / bool. Any other global stays an opaque value (an
 * mmdetection checkpoint's `meta` may hold numpy arrays or mmengine objects, which nobody here needs); a tensor
 * that depends on one (a complex or quantized storage, a sparse tensor…) is an error naming the file, the key and
 * the global, raised only when that tensor is used.
 *
 * Storages are read lazily, one file read each, into their own buffer (cached: tensors sharing a storage read it
 * once), so reading a checkpoint costs about its size in memory. A tensor is any view of its storage (offset,
 * strides, non-contiguous): `tensorData` gives its values row-major — a zero-copy view for a contiguous float32
 * tensor — as Float32Array (float dtypes, exact for float16 / bfloat16), Int32Array (integer dtypes, range
 * checked) or Uint8Array (uint8, bool), the conventions of safetensors.ts.
 *
 * The legacy format (PyTorch < 1.6, or `_use_new_zipfile_serialization=False`: a bare pickle stream, or the
 * older tar archive) and TorchScript archives are errors that say how to re-save the file.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { halfTable } from './float16.js';
import { PickleError, PyGlobal, PyObject, unpickle, type GlobalImpl } from './pickle.js';
import { looksLikeZip, ZipError, ZipReader } from './zip-reader.js';

export type TorchDtype = 'float64' | 'float32' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

const STORAGE_DTYPES: Record<string, TorchDtype> = {
  'torch.DoubleStorage': 'float64',
  'torch.FloatStorage': 'float32',
  'torch.HalfStorage': 'float16',
  'torch.BFloat16Storage': 'bfloat16',
  'torch.LongStorage': 'int64',
  'torch.IntStorage': 'int32',
  'torch.ShortStorage': 'int16',
  'torch.CharStorage': 'int8',
  'torch.ByteStorage': 'uint8',
  'torch.BoolStorage': 'bool',
  'torch.UntypedStorage': 'uint8',
};

export const ELEMENT_BYTES: Record<TorchDtype, number> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

export const LEGACY_FORMAT_FIX =
  'torch.save(torch.load(OLD), NEW, _use_new_zipfile_serialization=True) in Python (or re-save it with torch ≥ 1.6)';

export class PthError extends Error {
  constructor(
    readonly file: string,
    /** The message without the file name. */
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'PthError';
  }
}

/** One storage of the archive (its bytes are read on first use). */
export class PthStorage {
  constructor(
    readonly key: string,
    readonly dtype: TorchDtype,
    /** Elements, as the persistent id states. */
    readonly numel: number,
  ) {}
}

/** A tensor: a view of a storage. */
export class PthTensor {
  constructor(
    readonly storage: PthStorage,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
  ) {}
  get dtype(): TorchDtype {
    return this.storage.dtype;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  /** Whether the view is row-major contiguous (its elements are storage[offset, offset + numel)). */
  get contiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.stride[i] !== expected) return false;
      expected *= this.shape[i]!;
    }
    return true;
  }
}

/** A tensor that cannot be rebuilt (it depends on a global or storage type this reader does not know). */
export class UnresolvedTensor {
  constructor(readonly reason: string) {}
}

/** A storage of a type this reader does not know (complex, quantized…). */
class UnsupportedStorage {
  constructor(readonly type: string) {}
}

const isIntList = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0);

function rebuildTensor(args: readonly unknown[]): PthTensor | UnresolvedTensor {
  const [storage, offset, size, stride, requiresGrad] = args;
  if (storage instanceof UnsupportedStorage) return new UnresolvedTensor(`its storage is a ${storage.type}, which tiedet cannot decode`);
  if (storage instanceof UnresolvedTensor) return storage;
  if (!(storage instanceof PthStorage)) return new UnresolvedTensor(`its storage is not a torch storage (${describe(storage)})`);
  if (typeof offset !== 'number' || !isIntList(size) || !isIntList(stride) || size.length !== stride.length) {
    return new UnresolvedTensor('malformed _rebuild_tensor_v2 arguments (offset, size, stride)');
  }
  return new PthTensor(storage, offset, [...size], [...stride], requiresGrad === true);
}

/** A short description of a value for messages. */
export function describe(v: unknown): string {
  if (v instanceof PyObject) return v.global ? `an object of the unknown global ${v.global.qualifiedName}` : 'an opaque object';
  if (v instanceof PyGlobal) return `the unknown global ${v.qualifiedName}`;
  if (v instanceof PthTensor) return `a ${v.dtype} tensor [${v.shape.join(', ')}]`;
  if (v instanceof UnresolvedTensor) return `a tensor that cannot be read (${v.reason})`;
  if (v instanceof Map) return `a dict of ${v.size}`;
  if (Array.isArray(v)) return `a ${Object.isFrozen(v) ? 'tuple' : 'list'} of ${v.length}`;
  if (v === null) return 'None';
  return typeof v;
}

const TORCH_GLOBALS: Record<string, GlobalImpl> = {
  'torch._utils._rebuild_tensor_v2': rebuildTensor,
  'torch._utils._rebuild_tensor': rebuildTensor,
  'torch._utils._rebuild_parameter': (a) => a[0],
  'torch._utils._rebuild_parameter_with_state': (a) => a[0],
  // Tensor subclasses pickle as _rebuild_from_type_v2(func, type, args, state): plain Tensor / Parameter only.
  'torch._tensor._rebuild_from_type_v2': (a) => {
    const [func, type, args] = a;
    const t = type instanceof PyGlobal ? type.qualifiedName : '';
    if ((t === 'torch._tensor.Tensor' || t === 'torch.nn.parameter.Parameter' || t === 'torch.Tensor') && func && typeof func === 'object' && 'impl' in func) {
      return (func as { impl: GlobalImpl }).impl(args as unknown[]);
    }
    return new UnresolvedTensor(`it is a tensor subclass ${t || describe(type)}`);
  },
};

/** A torch.save archive, open: the unpickled object and lazy access to the storages. Call `close()`. */
export class PthFile {
  /** `version` record ('3' for PyTorch ≥ 1.6), or null. */
  readonly version: string | null;
  readonly byteorder: 'little' | 'big';
  /** The saved object (Map for dicts, PthTensor for tensors; see pickle.ts for the other values). */
  readonly root: unknown;
  private readonly cache = new Map<string, Uint8Array>();
  private readonly storages = new Map<string, PthStorage>();

  private constructor(
    readonly file: string,
    private readonly zip: ZipReader,
    private readonly prefix: string,
  ) {
    const text = (name: string): string | null => (zip.entries.has(prefix + name) ? new TextDecoder().decode(zip.read(prefix + name)).trim() : null);
    this.version = text('version') ?? text('.data/version');
    const bo = text('byteorder');
    if (bo !== null && bo !== 'little' && bo !== 'big') throw new PthError(file, `byteorder record is "${bo}" (expected little or big)`);
    this.byteorder = bo === 'big' ? 'big' : 'little';
    const pkl = zip.read(`${prefix}data.pkl`);
    try {
      this.root = unpickle(pkl, {
        label: `${file}: ${prefix}data.pkl`,
        globals: TORCH_GLOBALS,
        persistentLoad: (pid) => this.persistentLoad(pid),
      });
    } catch (e) {
      if (e instanceof PickleError) throw new PthError(file, e.message.slice(file.length + 2));
      throw e;
    }
  }

  /** Opens and unpickles a torch.save file; errors (PthError) name the file and say what is wrong. */
  static open(path: string): PthFile {
    checkNotLegacy(path);
    let zip: ZipReader;
    try {
      zip = ZipReader.open(path);
    } catch (e) {
      if (e instanceof ZipError) throw new PthError(path, e.message.slice(path.length + 2));
      throw e;
    }
    try {
      const names = [...zip.entries.keys()];
      const pkl = names.find((n) => /^[^/]*\/?data\.pkl$/.test(n));
      if (!pkl) {
        if (names.some((n) => /(^|\/)constants\.pkl$/.test(n) || /(^|\/)code\//.test(n))) {
          throw new PthError(path, 'a TorchScript archive (torch.jit.save), not a torch.save file: save its state_dict() with torch.save in Python');
        }
        throw new PthError(path, `a ZIP archive without data.pkl: not a torch.save file (entries: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''})`);
      }
      return new PthFile(path, zip, pkl.slice(0, pkl.length - 'data.pkl'.length));
    } catch (e) {
      zip.close();
      if (e instanceof ZipError) throw new PthError(path, e.message.slice(path.length + 2));
      throw e;
    }
  }

  close(): void {
    this.zip.close();
    this.cache.clear();
  }

  private persistentLoad(pid: unknown): unknown {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
      return new UnresolvedTensor(`unknown persistent id ${describe(pid)}`);
    }
    const [, type, key, , numel] = pid;
    const typeName = type instanceof PyGlobal ? type.qualifiedName : String(type);
    const dtype = STORAGE_DTYPES[typeName];
    if (!dtype) return new UnsupportedStorage(typeName);
    if (typeof key !== 'string' || typeof numel !== 'number') return new UnresolvedTensor('malformed storage persistent id');
    // One object per storage key: tensors sharing a storage share it (and its bytes, read once).
    const known = this.storages.get(key);
    if (known) return known;
    const s = new PthStorage(key, dtype, numel);
    this.storages.set(key, s);
    return s;
  }

  /** Raw bytes of a storage (host byte order), read once. `tensorKey` names the tensor in errors. */
  storageBytes(storage: PthStorage, tensorKey: string): Uint8Array {
    const hit = this.cache.get(storage.key);
    if (hit) return hit;
    const name = `${this.prefix}data/${storage.key}`;
    if (!this.zip.entries.has(name)) {
      throw new PthError(this.file, `tensor "${tensorKey}": its storage "${storage.key}" (${name}) is missing from the archive`);
    }
    let bytes: Uint8Array;
    try {
      bytes = this.zip.read(name);
    } catch (e) {
      if (e instanceof ZipError) throw new PthError(this.file, `tensor "${tensorKey}": ${e.message.slice(this.file.length + 2)}`);
      throw e;
    }
    const need = storage.numel * ELEMENT_BYTES[storage.dtype];
    if (bytes.byteLength < need) {
      throw new PthError(this.file, `tensor "${tensorKey}": storage "${storage.key}" has ${bytes.byteLength} byte(s), its ${storage.numel} ${storage.dtype} element(s) need ${need}`);
    }
    if (this.byteorder === 'big') swapBytes(bytes, ELEMENT_BYTES[storage.dtype]);
    this.cache.set(storage.key, bytes);
    return bytes;
  }

  /** Checks that `t`'s view lies inside its storage. */
  private checkView(t: PthTensor, key: string): void {
    if (t.numel === 0) return;
    let last = t.storageOffset;
    for (let i = 0; i < t.shape.length; i++) last += (t.shape[i]! - 1) * t.stride[i]!;
    if (t.storageOffset < 0 || last >= t.storage.numel) {
      throw new PthError(
        this.file,
        `tensor "${key}": view (offset ${t.storageOffset}, shape [${t.shape.join(', ')}], stride [${t.stride.join(', ')}]) ` +
          `reaches element ${last} of a storage of ${t.storage.numel}`,
      );
    }
  }

  /** Storage element index of every element of `t`, row-major (null when contiguous: offset + i). */
  private indices(t: PthTensor): Float64Array | null {
    if (t.contiguous) return null;
    const n = t.numel;
    const out = new Float64Array(n);
    const rank = t.shape.length;
    const idx = new Array<number>(rank).fill(0);
    let off = t.storageOffset;
    for (let i = 0; i < n; i++) {
      out[i] = off;
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]!++;
        off += t.stride[d]!;
        if (idx[d]! < t.shape[d]!) break;
        off -= t.stride[d]! * t.shape[d]!;
        idx[d] = 0;
      }
    }
    return out;
  }

  /**
   * Values of `t` row-major: Float32Array (float dtypes), Int32Array (integers; outside the int32 range is an
   * error naming the key) or Uint8Array (uint8, bool). A contiguous float32 / int32 / uint8 / bool tensor is a view
   * of the storage's buffer (no copy).
   */
  tensorData(value: unknown, key: string): Float32Array | Int32Array | Uint8Array {
    const t = this.tensor(value, key);
    this.checkView(t, key);
    const bytes = this.storageBytes(t.storage, key);
    const n = t.numel;
    const base = bytes.byteOffset;
    const buf = bytes.buffer;
    const idx = this.indices(t);
    const at = (i: number): number => (idx ? idx[i]! : t.storageOffset + i);
    const dv = new DataView(buf, base, bytes.byteLength);
    switch (t.dtype) {
      case 'float32': {
        const all = new Float32Array(buf, base, t.storage.numel);
        if (!idx) return all.subarray(t.storageOffset, t.storageOffset + n);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = all[idx[i]!]!;
        return out;
      }
      case 'float64': {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = dv.getFloat64(at(i) * 8, true);
        return out;
      }
      case 'float16': {
        const table = halfTable();
        const h = new Uint16Array(buf, base, t.storage.numel);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = table[h[at(i)]!]!;
        return out;
      }
      case 'bfloat16': {
        const h = new Uint16Array(buf, base, t.storage.numel);
        const bits = new Uint32Array(n);
        for (let i = 0; i < n; i++) bits[i] = h[at(i)]! << 16;
        return new Float32Array(bits.buffer);
      }
      case 'int64': {
        const out = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          const o = at(i) * 8;
          const lo = dv.getInt32(o, true);
          if (dv.getInt32(o + 4, true) !== lo >> 31) {
            throw new PthError(this.file, `tensor "${key}": int64 value ${dv.getBigInt64(o, true)} at index ${i} is outside the int32 range tiedet uses`);
          }
          out[i] = lo;
        }
        return out;
      }
      case 'int32': {
        const all = new Int32Array(buf, base, t.storage.numel);
        if (!idx) return all.subarray(t.storageOffset, t.storageOffset + n);
        const out = new Int32Array(n);
        for (let i = 0; i < n; i++) out[i] = all[idx[i]!]!;
        return out;
      }
      case 'int16': {
        const out = new Int32Array(n);
        for (let i = 0; i < n; i++) out[i] = dv.getInt16(at(i) * 2, true);
        return out;
      }
      case 'int8': {
        const out = new Int32Array(n);
        for (let i = 0; i < n; i++) out[i] = dv.getInt8(at(i));
        return out;
      }
      case 'uint8':
      case 'bool': {
        const all = new Uint8Array(buf, base, t.storage.numel);
        if (!idx) return all.subarray(t.storageOffset, t.storageOffset + n);
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) out[i] = all[idx[i]!]!;
        return out;
      }
    }
  }

  /** int64 values of an int64 tensor, exactly (for writing them back as I64). */
  tensorInt64(value: unknown, key: string): BigInt64Array {
    const t = this.tensor(value, key);
    if (t.dtype !== 'int64') throw new PthError(this.file, `tensor "${key}" is ${t.dtype}, not int64`);
    this.checkView(t, key);
    const bytes = this.storageBytes(t.storage, key);
    const all = new BigInt64Array(bytes.buffer, bytes.byteOffset, t.storage.numel);
    const idx = this.indices(t);
    if (!idx) return all.slice(t.storageOffset, t.storageOffset + t.numel);
    const out = new BigInt64Array(t.numel);
    for (let i = 0; i < out.length; i++) out[i] = all[idx[i]!]!;
    return out;
  }

  /** `value` as a readable tensor, or an error naming the key and what it depends on. */
  tensor(value: unknown, key: string): PthTensor {
    if (value instanceof PthTensor) return value;
    if (value instanceof UnresolvedTensor) throw new PthError(this.file, `tensor "${key}" cannot be read: ${value.reason}`);
    if (value instanceof PyObject && value.global) {
      throw new PthError(this.file, `"${key}" depends on the unknown global ${value.global.qualifiedName} (tiedet reads plain dense tensors only)`);
    }
    throw new PthError(this.file, `"${key}" is ${describe(value)}, not a tensor`);
  }
}

/** Whether `v` is, or claims to be, a tensor (readable or not). */
export function isTensorLike(v: unknown): boolean {
  return v instanceof PthTensor || v instanceof UnresolvedTensor || (v instanceof PyObject && !!v.global && v.global.module.startsWith('torch'));
}

function swapBytes(b: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= b.length; i += size) {
    for (let j = 0; j < size >> 1; j++) {
      const x = b[i + j]!;
      b[i + j] = b[i + size - 1 - j]!;
      b[i + size - 1 - j] = x;
    }
  }
}


/** The legacy formats are recognised by their first bytes and refused with the fix. */
function checkNotLegacy(path: string): void {
  let head: Uint8Array;
  try {
    const fd = openSync(path, 'r');
    try {
      head = new Uint8Array(512);
      head = head.subarray(0, readSync(fd, head, 0, 512, 0));
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new PthError(path, `cannot read: ${(e as Error).message}`);
  }
  if (looksLikeZip(head)) return;
  if (head.length === 0) throw new PthError(path, 'empty file');
  if (head[0] === 0x80 && head[1]! >= 2) {
    throw new PthError(path, `legacy (non-zip) torch.save format of PyTorch < 1.6; re-save it: ${LEGACY_FORMAT_FIX}`);
  }
  if (head.length >= 262 && new TextDecoder().decode(head.subarray(257, 262)) === 'ustar') {
    throw new PthError(path, `legacy tar torch.save format (PyTorch ≤ 0.1.10); re-save it: ${LEGACY_FORMAT_FIX}`);
  }
  if (head.length >= 8 && new DataView(head.buffer).getBigUint64(0, true) < 100_000_000n && head[8] === 0x7b) {
    throw new PthError(path, 'this is a safetensors file, not a torch.save (.pth) file');
  }
  throw new PthError(path, 'not a torch.save file (no ZIP archive header)');
}

export interface StateDictOptions {
  /**
   * Every tensor of the file, under its path in the saved object (`state_dict.backbone.conv1.weight`,
   * `optimizer.state.0.momentum_buffer`), instead of the model's state dict only.
   */
  all?: boolean;
}

export interface PthStateDict {
  /** Key → tensor value (a PthTensor, or an unreadable one that errors when read). */
  tensors: Map<string, unknown>;
  /** Where the tensors came from: 'state_dict' (mmdetection / mmcv), 'model' (torchvision references), 'root' or 'all'. */
  source: 'state_dict' | 'model' | 'root' | 'all';
  /** Non-tensor entries of the chosen dict, skipped (by key). */
  skipped: string[];
  /** The checkpoint's `meta` (mmdetection), if any. */
  meta: unknown;
}

function keyText(k: unknown): string {
  return typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' ? String(k) : describe(k);
}

/**
 * The model's state dict of a loaded object: the object itself when it is a dict of tensors (`torch.save(model.
 * state_dict())`), else its `state_dict` entry (mmdetection / mmcv / mmengine checkpoints: `{meta, state_dict,
 * optimizer, …}`), else its `model` entry (torchvision's reference scripts). With `all`, every tensor anywhere.
 */
export function stateDictOf(pth: PthFile, options: StateDictOptions = {}): PthStateDict {
  const root = pth.root;
  const meta = root instanceof Map ? root.get('meta') ?? null : null;
  if (options.all) {
    const tensors = new Map<string, unknown>();
    const walk = (v: unknown, path: string, depth: number): void => {
      if (isTensorLike(v)) tensors.set(path, v);
      else if (depth > 64) return;
      else if (v instanceof Map) for (const [k, x] of v) walk(x, path ? `${path}.${keyText(k)}` : keyText(k), depth + 1);
      else if (Array.isArray(v)) v.forEach((x, i) => walk(x, path ? `${path}.${i}` : String(i), depth + 1));
    };
    walk(root, '', 0);
    return { tensors, source: 'all', skipped: [], meta };
  }
  let dict: Map<unknown, unknown> | null = null;
  let source: PthStateDict['source'] = 'root';
  if (isTensorLike(root)) throw new PthError(pth.file, 'the file holds a single tensor, not a state dict');
  if (!(root instanceof Map)) throw new PthError(pth.file, `the file holds ${describe(root)}, not a state dict`);
  const hasTensors = (m: Map<unknown, unknown>): boolean => [...m.values()].some(isTensorLike);
  for (const k of ['state_dict', 'model'] as const) {
    const v = root.get(k);
    if (v instanceof Map && hasTensors(v)) {
      dict = v;
      source = k;
      break;
    }
  }
  if (!dict) {
    if (!hasTensors(root)) {
      throw new PthError(pth.file, `no state dict found: top-level keys ${[...root.keys()].slice(0, 8).map(keyText).join(', ')} (expected tensors, or a 'state_dict' / 'model' entry of tensors)`);
    }
    dict = root;
  }
  const tensors = new Map<string, unknown>();
  const skipped: string[] = [];
  for (const [k, v] of dict) {
    if (isTensorLike(v)) tensors.set(keyText(k), v);
    else skipped.push(keyText(k));
  }
  return { tensors, source, skipped, meta };
}
