/**
 * The safetensors file format (https://github.com/huggingface/safetensors), read and written without TF.js.
 *
 * Layout: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON
 *   { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ..., "__metadata__": {str: str} }
 * (optionally padded with trailing spaces); then the data buffer, every tensor's bytes little-endian and
 * row-major at [begin, end) relative to the start of the buffer.
 *
 * Reading (`parseSafetensors`, `readSafetensors`) validates as strictly as the reference implementation and
 * names the file and the key / field in every error: a file shorter than 8 bytes or than the header it
 * announces, a header over 100 MB (the reference limit), a header that is not UTF-8 / not a JSON object / does
 * not start with `{`, duplicate keys, a tensor entry without a valid `dtype`, `shape` or `data_offsets`, a
 * dtype we do not know, offsets whose length is not numel × dtype size, offsets beyond the buffer, overlapping
 * tensors, holes between tensors and unused bytes at the end of the buffer (the reference rejects those too), a
 * `__metadata__` that is not a string → string map. Unknown extra fields inside a tensor entry are ignored (as
 * the reference does).
 *
 * Values are decoded to what tiedet computes with:
 *   F32                  → Float32Array, a VIEW into the file's bytes when 4-byte aligned (no copy) on a
 *                          little-endian host, else a copy;
 *   F16, BF16, F64       → Float32Array (exact for F16 / BF16, incl. subnormals, ±inf, NaN; F64 rounds);
 *   I64, U64, I32, U32,
 *   I16, U16, I8         → Int32Array (a view for aligned I32); a value outside the int32 range is an error
 *                          naming the key and the index (PyTorch's int64 counters fit easily);
 *   U8, BOOL             → Uint8Array view.
 * The F8 / F4 / F6 / complex dtypes are known (their sizes are validated) but not decoded: reading a file that
 * holds one is an error naming the key.
 * Views keep the whole file buffer alive; copy (`slice()`) what must outlive a large file.
 *
 * Writing (`serializeSafetensors`, `writeSafetensors`) follows the reference writer byte for byte: tensors
 * ordered by dtype (descending order of the reference `Dtype` enum, i.e. of alignment, so every tensor is aligned
 * to its element size) then by name, compact JSON with
 * `__metadata__` first, the header padded with spaces to a multiple of 8 bytes. Dtypes F32, F64, I64, I32,
 * U8, BOOL can be written. `writeSafetensors` is atomic (a temporary file in the same folder, then rename).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { halfTable } from './float16.js';
import { basename, dirname, join } from 'node:path';
import { concatArrays } from '../ops/typed-rows.js';

/** Every dtype of the safetensors format, with its size in bits, in the order of the reference `Dtype` enum. */
const DTYPE_BITS = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_BITS;

/** The dtypes this module decodes. */
export type ReadableDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'U64' | 'I32' | 'U32' | 'I16' | 'U16' | 'I8' | 'U8' | 'BOOL';

/** The dtypes this module writes. */
export type WritableDtype = 'F64' | 'F32' | 'I64' | 'I32' | 'U8' | 'BOOL';

/** The reference implementation's limit on the header size. */
export const MAX_HEADER_BYTES = 100_000_000;

/** A tensor as decoded from a file. */
export interface SafetensorsTensor {
  /** The dtype stored in the file. */
  dtype: SafetensorsDtype;
  shape: number[];
  /** Float32Array for float dtypes, Int32Array for integer dtypes, Uint8Array for U8 and BOOL. */
  data: Float32Array | Int32Array | Uint8Array;
}

/** A tensor entry of the header. */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) in bytes, relative to the start of the data buffer. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Entries in header order. */
  entries: Map<string, SafetensorsEntry>;
  /** `__metadata__`, or null when absent. */
  metadata: Record<string, string> | null;
  /** N, the JSON header's length in bytes (padding included). */
  headerBytes: number;
}

export interface SafetensorsFile {
  /** Tensors in header order. */
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string> | null;
}

/** A tensor to write: `data` holds numel values in row-major order. */
export interface SafetensorsInput {
  dtype: WritableDtype;
  shape: readonly number[];
  /**
   * F32 / F64: any numeric array; I64: Int32Array, BigInt64Array or integers; I32: integers in int32 range;
   * U8 / BOOL: integers in [0, 255] (BOOL: 0 or 1).
   */
  data: ArrayLike<number> | BigInt64Array;
}

/** An error about one file; `file` is the path (or the label given to `parseSafetensors`). */
export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'SafetensorsError';
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isKnownDtype(d: unknown): d is SafetensorsDtype {
  return typeof d === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BITS, d);
}

/** Bytes taken by `numel` elements of `dtype` (sub-byte dtypes must fill whole bytes). */
function byteLength(dtype: SafetensorsDtype, numel: number): number | null {
  const bits = numel * DTYPE_BITS[dtype];
  return bits % 8 === 0 ? bits / 8 : null;
}

function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

// ---- reading --------------------------------------------------------------------------------------------------------

/**
 * The keys of the top-level object of a JSON text that `JSON.parse` accepted, in order, duplicates kept
 * (`JSON.parse` silently keeps the last of duplicates; the format forbids them).
 */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const ch = json.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      let j = i + 1;
      while (json.charCodeAt(j) !== 0x22) j += json.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      if (depth === 1 && expectKey) {
        keys.push(JSON.parse(json.slice(i, j + 1)) as string);
        expectKey = false;
      }
      i = j;
    } else if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      depth--;
    } else if (ch === 0x2c /* , */ && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parse and validate the header of a safetensors file held in `bytes`. `file` labels errors. Returns the
 * entries and the data buffer's start (8 + N).
 */
export function parseSafetensorsHeader(bytes: Uint8Array, file = '<buffer>'): SafetensorsHeader & { dataStart: number } {
  const fail = (detail: string): never => {
    throw new SafetensorsError(file, detail);
  };
  if (bytes.byteLength < 8) {
    fail(`truncated file: ${bytes.byteLength} byte(s), but a safetensors file starts with an 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  const available = bytes.byteLength - 8;
  if (n64 > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${n64} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file, or corrupt)`);
  }
  const n = Number(n64);
  if (n > available) fail(`truncated file: header length ${n} is beyond the file (${available} byte(s) after the length field)`);
  if (n < 2) fail(`header length ${n} is too small for a JSON object`);
  if (bytes[8] !== 0x7b) fail(`header does not start with "{" (byte 0x${bytes[8]!.toString(16).padStart(2, '0')})`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('header is not a JSON object');
  const obj = json as Record<string, unknown>;
  const keys = topLevelKeys(text);
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) fail(`duplicate key "${k}" in the header`);
    seen.add(k);
  }

  let metadata: Record<string, string> | null = null;
  const entries = new Map<string, SafetensorsEntry>();
  for (const key of keys) {
    const value = obj[key];
    if (key === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        fail('"__metadata__" must be an object mapping strings to strings');
      }
      metadata = {};
      for (const [mk, mv] of Object.entries(value as Record<string, unknown>)) {
        if (typeof mv !== 'string') fail(`"__metadata__" field "${mk}" must be a string, got ${JSON.stringify(mv)}`);
        metadata[mk] = mv as string;
      }
      continue;
    }
    const where = `tensor "${key}"`;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${where}: entry must be an object`);
    const e = value as Record<string, unknown>;
    if (!('dtype' in e)) fail(`${where}: field "dtype" is missing`);
    if (typeof e.dtype !== 'string') fail(`${where}: field "dtype" must be a string, got ${JSON.stringify(e.dtype)}`);
    if (!isKnownDtype(e.dtype)) fail(`${where}: unknown dtype "${e.dtype as string}"`);
    const dtype = e.dtype as SafetensorsDtype;
    if (!('shape' in e)) fail(`${where}: field "shape" is missing`);
    if (!Array.isArray(e.shape) || !e.shape.every(isNonNegativeInt)) {
      fail(`${where}: field "shape" must be an array of non-negative integers, got ${JSON.stringify(e.shape)}`);
    }
    const shape = e.shape as number[];
    if (!('data_offsets' in e)) fail(`${where}: field "data_offsets" is missing`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isNonNegativeInt)) {
      fail(`${where}: field "data_offsets" must be [begin, end] with non-negative integers, got ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    if (end < begin) fail(`${where}: field "data_offsets" [${begin}, ${end}] ends before it begins`);
    const numel = numelOf(shape);
    if (!Number.isSafeInteger(numel)) fail(`${where}: shape ${fmtShape(shape)} has too many elements`);
    const expected = byteLength(dtype, numel);
    if (expected === null) fail(`${where}: ${numel} element(s) of ${dtype} do not fill whole bytes`);
    if (end - begin !== expected) {
      fail(
        `${where}: field "data_offsets" [${begin}, ${end}] spans ${end - begin} byte(s), but dtype ${dtype} × shape ` +
          `${fmtShape(shape)} needs ${expected}`,
      );
    }
    entries.set(key, { dtype, shape, dataOffsets: [begin, end] });
  }

  // The tensors must tile the data buffer exactly: no overlap, no hole, nothing left over.
  const dataStart = 8 + n;
  const dataLength = bytes.byteLength - dataStart;
  const sorted = [...entries].sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  let prev: string | null = null;
  for (const [key, { dataOffsets: [begin, end] }] of sorted) {
    if (end > dataLength) {
      fail(
        `tensor "${key}": field "data_offsets" [${begin}, ${end}] is beyond the data buffer (${dataLength} byte(s); ` +
          `file truncated?)`,
      );
    }
    if (begin < cursor) {
      const p = entries.get(prev!)!.dataOffsets;
      fail(`tensor "${key}": data_offsets [${begin}, ${end}] overlap tensor "${prev}" [${p[0]}, ${p[1]}]`);
    }
    if (begin > cursor) {
      fail(
        `tensor "${key}": data_offsets [${begin}, ${end}] leave bytes [${cursor}, ${begin}) of the data buffer unused` +
          (prev === null ? ' (the first tensor must start at 0)' : ` (after tensor "${prev}")`),
      );
    }
    cursor = end;
    prev = key;
  }
  if (cursor !== dataLength) {
    fail(`the data buffer has ${dataLength} byte(s) but the tensors end at byte ${cursor} (trailing data)`);
  }
  return { entries, metadata, headerBytes: n, dataStart };
}

function decode(
  file: string,
  key: string,
  entry: SafetensorsEntry,
  bytes: Uint8Array,
  dataStart: number,
): Float32Array | Int32Array | Uint8Array {
  const { dtype, shape } = entry;
  const numel = numelOf(shape);
  const offset = bytes.byteOffset + dataStart + entry.dataOffsets[0];
  const buffer = bytes.buffer;
  const dv = new DataView(buffer, offset, entry.dataOffsets[1] - entry.dataOffsets[0]);
  const aligned = (size: number): boolean => LITTLE_ENDIAN_HOST && offset % size === 0;
  const outOfRange = (index: number, value: bigint | number): never => {
    throw new SafetensorsError(file, `tensor "${key}": ${dtype} value ${value} at index ${index} is outside the int32 range tiedet uses`);
  };
  switch (dtype) {
    case 'F32': {
      if (aligned(4)) return new Float32Array(buffer, offset, numel);
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    }
    case 'F64': {
      if (aligned(8)) return new Float32Array(new Float64Array(buffer, offset, numel));
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = dv.getFloat64(i * 8, true);
      return out;
    }
    case 'F16': {
      const table = halfTable();
      const out = new Float32Array(numel);
      if (aligned(2)) {
        const h = new Uint16Array(buffer, offset, numel);
        for (let i = 0; i < numel; i++) out[i] = table[h[i]!]!;
      } else {
        for (let i = 0; i < numel; i++) out[i] = table[dv.getUint16(i * 2, true)]!;
      }
      return out;
    }
    case 'BF16': {
      const bits = new Uint32Array(numel); // bfloat16 is the top half of a float32
      if (aligned(2)) {
        const h = new Uint16Array(buffer, offset, numel);
        for (let i = 0; i < numel; i++) bits[i] = h[i]! << 16;
      } else {
        for (let i = 0; i < numel; i++) bits[i] = dv.getUint16(i * 2, true) << 16;
      }
      return new Float32Array(bits.buffer);
    }
    case 'I64':
    case 'U64': {
      const out = new Int32Array(numel);
      const signed = dtype === 'I64';
      for (let i = 0; i < numel; i++) {
        const lo = dv.getInt32(i * 8, true);
        const hi = dv.getInt32(i * 8 + 4, true);
        if (signed ? hi !== lo >> 31 : hi !== 0 || lo < 0) {
          outOfRange(i, signed ? dv.getBigInt64(i * 8, true) : dv.getBigUint64(i * 8, true));
        }
        out[i] = lo;
      }
      return out;
    }
    case 'I32': {
      if (aligned(4)) return new Int32Array(buffer, offset, numel);
      const out = new Int32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = dv.getInt32(i * 4, true);
      return out;
    }
    case 'U32': {
      const out = new Int32Array(numel);
      for (let i = 0; i < numel; i++) {
        const v = dv.getUint32(i * 4, true);
        if (v > 0x7fffffff) outOfRange(i, v);
        out[i] = v;
      }
      return out;
    }
    case 'I16':
    case 'U16': {
      const out = new Int32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = dtype === 'I16' ? dv.getInt16(i * 2, true) : dv.getUint16(i * 2, true);
      return out;
    }
    case 'I8':
      return Int32Array.from(new Int8Array(buffer, offset, numel));
    case 'U8':
    case 'BOOL':
      return new Uint8Array(buffer, offset, numel);
    default:
      throw new SafetensorsError(file, `tensor "${key}": dtype ${dtype} is valid safetensors but tiedet cannot decode it`);
  }
}

/**
 * Parse a whole safetensors file held in `bytes` (`file` labels errors). F32 / I32 / U8 / BOOL tensors are views
 * into `bytes` where alignment allows.
 */
export function parseSafetensors(bytes: Uint8Array, file = '<buffer>'): SafetensorsFile {
  const { entries, metadata, dataStart } = parseSafetensorsHeader(bytes, file);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [key, entry] of entries) {
    tensors.set(key, { dtype: entry.dtype, shape: entry.shape, data: decode(file, key, entry, bytes, dataStart) });
  }
  return { tensors, metadata };
}

/** Read a safetensors file (one `readFileSync`; errors name `path`). */
export function readSafetensors(path: string): SafetensorsFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SafetensorsError(path, `cannot read: ${(e as Error).message}`);
  }
  return parseSafetensors(bytes, path);
}

// ---- writing --------------------------------------------------------------------------------------------------------

const WRITABLE: readonly WritableDtype[] = ['F64', 'F32', 'I64', 'I32', 'U8', 'BOOL'];

/** Position of each dtype in the reference implementation's `Dtype` enum (DTYPE_BITS lists them in that order). */
const DTYPE_RANK = Object.fromEntries(Object.keys(DTYPE_BITS).map((d, i) => [d, i])) as Record<SafetensorsDtype, number>;

/** Order of strings by Unicode code points (UTF-8 byte order, as Rust's `str::cmp`), not UTF-16 units. */
function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

function encode(name: string, t: SafetensorsInput, numel: number): Uint8Array {
  const where = `safetensors: tensor "${name}"`;
  const { data } = t;
  if (data.length !== numel) {
    throw new Error(`${where}: ${data.length} value(s) for shape ${fmtShape(t.shape)} (${numel} expected)`);
  }
  const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  switch (t.dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN_HOST && data instanceof Float32Array) return bytesOf(data);
      const out = new DataView(new ArrayBuffer(numel * 4));
      for (let i = 0; i < numel; i++) out.setFloat32(i * 4, Number(data[i]), true);
      return new Uint8Array(out.buffer);
    }
    case 'F64': {
      if (LITTLE_ENDIAN_HOST && data instanceof Float64Array) return bytesOf(data);
      const out = new DataView(new ArrayBuffer(numel * 8));
      for (let i = 0; i < numel; i++) out.setFloat64(i * 8, Number(data[i]), true);
      return new Uint8Array(out.buffer);
    }
    case 'I64': {
      if (LITTLE_ENDIAN_HOST && data instanceof BigInt64Array) return bytesOf(data);
      const out = new DataView(new ArrayBuffer(numel * 8));
      for (let i = 0; i < numel; i++) {
        const v = Number(data[i]);
        if (!Number.isSafeInteger(v)) throw new Error(`${where}: I64 value ${data[i]} at index ${i} is not a safe integer`);
        out.setBigInt64(i * 8, BigInt(v), true);
      }
      return new Uint8Array(out.buffer);
    }
    case 'I32': {
      if (LITTLE_ENDIAN_HOST && data instanceof Int32Array) return bytesOf(data);
      const out = new DataView(new ArrayBuffer(numel * 4));
      for (let i = 0; i < numel; i++) {
        const v = Number(data[i]);
        if (!Number.isInteger(v) || v !== (v | 0)) throw new Error(`${where}: I32 value ${data[i]} at index ${i} is not an int32`);
        out.setInt32(i * 4, v, true);
      }
      return new Uint8Array(out.buffer);
    }
    case 'U8':
    case 'BOOL': {
      const max = t.dtype === 'BOOL' ? 1 : 255;
      const out = new Uint8Array(numel);
      for (let i = 0; i < numel; i++) {
        const v = Number(data[i]);
        if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`${where}: ${t.dtype} value ${data[i]} at index ${i} is out of range`);
        out[i] = v;
      }
      return out;
    }
    default:
      throw new Error(`${where}: cannot write dtype "${String(t.dtype)}" (writable: ${WRITABLE.join(', ')})`);
  }
}

/** The header and the tensors' bytes of a file, in file order. */
function prepare(
  tensors: Iterable<readonly [string, SafetensorsInput]>,
  metadata?: Readonly<Record<string, string>> | null,
): Uint8Array[] {
  const list: Array<{ name: string; t: SafetensorsInput; numel: number }> = [];
  const names = new Set<string>();
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new Error('safetensors: "__metadata__" cannot be a tensor name');
    if (names.has(name)) throw new Error(`safetensors: tensor "${name}" given twice`);
    names.add(name);
    if (!WRITABLE.includes(t.dtype)) {
      throw new Error(`safetensors: tensor "${name}": cannot write dtype "${String(t.dtype)}" (writable: ${WRITABLE.join(', ')})`);
    }
    if (!t.shape.every(isNonNegativeInt)) throw new Error(`safetensors: tensor "${name}": invalid shape ${fmtShape(t.shape)}`);
    list.push({ name, t, numel: numelOf(t.shape) });
  }
  // The reference writer's order: dtypes in descending enum order (the enum lists them by increasing alignment,
  // so every tensor stays aligned to its element size), then names in code-point (= UTF-8 byte) order.
  list.sort((a, b) => DTYPE_RANK[b.t.dtype] - DTYPE_RANK[a.t.dtype] || compareCodePoints(a.name, b.name));
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors: metadata "${k}" must be a string`);
    }
    header.__metadata__ = { ...metadata };
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const { name, t, numel } of list) {
    const bytes = encode(name, t, numel);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    chunks.push(bytes);
  }
  // JSON.stringify keeps insertion order for non-index keys; an integer-like tensor name ("0") would be moved to
  // the front, which is harmless (readers go by data_offsets).
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const head = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  return [head, ...chunks];
}

/** A complete safetensors file in memory. */
export function serializeSafetensors(
  tensors: Iterable<readonly [string, SafetensorsInput]>,
  metadata?: Readonly<Record<string, string>> | null,
): Uint8Array {
  return concatArrays(prepare(tensors, metadata), Uint8Array);
}

/**
 * Write `bytes` (a list of chunks) to `path` atomically: a temporary file next to it, fsync, rename. On error
 * the temporary file is removed and `path` is untouched.
 */
export function writeFileAtomic(path: string, chunks: readonly Uint8Array[]): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    for (const c of chunks) {
      let done = 0;
      while (done < c.byteLength) done += writeSync(fd, c, done, c.byteLength - done);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new Error(`${path}: cannot write: ${(e as Error).message}`);
  }
}

/** Write a safetensors file atomically (see `serializeSafetensors` for the layout). */
export function writeSafetensors(
  path: string,
  tensors: Iterable<readonly [string, SafetensorsInput]>,
  metadata?: Readonly<Record<string, string>> | null,
): void {
  writeFileAtomic(path, prepare(tensors, metadata));
}
