/**
 * The torch.save reader (src/io/pth.ts, pickle.ts, zip-reader.ts) on files written by PyTorch 1.13
 * (tools/fixtures/pth.py): every dtype decoded exactly as torch's own `.float()` / integer values
 * (expected.safetensors), views with offsets / strides / shared storages / stride 0, mmdetection 2.x and 3.x
 * containers (meta with numpy and unknown mmengine objects kept opaque), and the errors: legacy format, truncated
 * archive, missing storage, unknown globals a tensor depends on, int64 out of range — each naming file and key.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PyObject, unpickle } from '../../src/io/pickle.js';
import { PthFile, PthTensor, stateDictOf } from '../../src/io/pth.js';
import { readSafetensors } from '../../src/io/safetensors.js';

const DIR = 'test/fixtures/io/pth';
const fx = (name: string): string => join(DIR, name);
const tmp = mkdtempSync(join(tmpdir(), 'tiedet-pth-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const expected = readSafetensors(fx('expected.safetensors')).tensors;

/** Same values, bit for bit (NaN payloads included). */
function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  const fa = Float32Array.from(a);
  const fb = Float32Array.from(b);
  const ua = new Uint32Array(fa.buffer);
  const ub = new Uint32Array(fb.buffer);
  return ua.every((v, i) => v === ub[i]);
}

function readAll(name: string, prefix: string): void {
  const pth = PthFile.open(fx(name));
  try {
    expect(pth.version).toBe('3');
    expect(pth.byteorder).toBe('little');
    const sd = stateDictOf(pth);
    expect(sd.source).toBe('root');
    const keys = [...expected.keys()].filter((k) => k.startsWith(`${prefix}.`)).map((k) => k.slice(prefix.length + 1));
    expect([...sd.tensors.keys()].sort()).toEqual(keys.sort());
    for (const key of keys) {
      const want = expected.get(`${prefix}.${key}`)!;
      const t = sd.tensors.get(key) as PthTensor;
      expect(t.shape, key).toEqual(want.shape);
      const got = pth.tensorData(t, key);
      expect(got.constructor, key).toBe(want.data.constructor);
      expect(sameBits(got, want.data), key).toBe(true);
    }
  } finally {
    pth.close();
  }
}

describe('torch.save reader: values', () => {
  it('decodes every dtype exactly (f32, f64, f16 and bf16 sweeps, int64/32/16/8, uint8, bool, scalar, empty, Parameter)', () => {
    readAll('dtypes.pth', 'dtypes');
  });

  it('reads views: shared storage with offset, transposed, strided, narrowed, stride 0, f16 and int64 views', () => {
    readAll('views.pth', 'views');
    const pth = PthFile.open(fx('views.pth'));
    const sd = stateDictOf(pth);
    const base = sd.tensors.get('base') as PthTensor;
    const row = sd.tensors.get('row') as PthTensor;
    expect(row.storage).toBe(base.storage); // one storage object, read once
    expect(row.storageOffset).toBe(20);
    expect((sd.tensors.get('transposed') as PthTensor).contiguous).toBe(false);
    expect((sd.tensors.get('expanded') as PthTensor).stride).toEqual([0, 1]);
    // a contiguous float32 tensor is a view of the storage bytes (no copy)
    const a = pth.tensorData(base, 'base') as Float32Array;
    const b = pth.tensorData(row, 'row') as Float32Array;
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset - a.byteOffset).toBe(80);
    pth.close();
  });

  it('int64 values are exact through tensorInt64 and range-checked to int32 otherwise', () => {
    const pth = PthFile.open(fx('int64_big.pth'));
    const sd = stateDictOf(pth);
    expect([...pth.tensorInt64(sd.tensors.get('big'), 'big')]).toEqual([1n, 2n ** 40n]);
    expect([...pth.tensorData(sd.tensors.get('ok'), 'ok')]).toEqual([1, 2]);
    expect(() => pth.tensorData(sd.tensors.get('big'), 'big')).toThrow(/int64_big\.pth: tensor "big": int64 value 1099511627776 at index 1 is outside the int32 range/);
    pth.close();
  });
});

describe('torch.save reader: byte order and pickle protocols', () => {
  it('a big-endian archive (byteorder "big") is byte-swapped on read', () => {
    const pth = PthFile.open(fx('big_endian.pth'));
    expect(pth.byteorder).toBe('big');
    const sd = stateDictOf(pth);
    expect([...pth.tensorData(sd.tensors.get('f32'), 'f32')]).toEqual([1.5, -2, 3.25]);
    expect([...pth.tensorData(sd.tensors.get('f16'), 'f16')]).toEqual([0.5, -1]);
    expect([...pth.tensorData(sd.tensors.get('i64'), 'i64')]).toEqual([1, -2, 3]);
    expect([...pth.tensorInt64(sd.tensors.get('i64'), 'i64')]).toEqual([1n, -2n, 3n]);
    pth.close();
  });

  it('a ZIP64 archive (saturated 32-bit fields, ZIP64 extra fields and end records; torch.load reads it too)', () => {
    const pth = PthFile.open(fx('zip64.pth'));
    const sd = stateDictOf(pth);
    expect([...pth.tensorData(sd.tensors.get('a'), 'a')]).toEqual([1, 2]);
    expect([...pth.tensorData(sd.tensors.get('b'), 'b')]).toEqual([3, 4]);
    pth.close();
  });

  it('pickle protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL)', () => {
    const pth = PthFile.open(fx('protocol4.pth'));
    const sd = stateDictOf(pth);
    expect([...pth.tensorData(sd.tensors.get('a'), 'a')]).toEqual([1, 2]);
    expect((sd.tensors.get('b') as PthTensor).shape).toEqual([1, 2]);
    expect([...pth.tensorData(sd.tensors.get('b'), 'b')]).toEqual([3, 4]);
    pth.close();
  });
});

describe('torch.save reader: mmdetection checkpoints', () => {
  it('2.x: state_dict under "state_dict", meta (with a numpy array kept opaque) and optimizer readable', () => {
    const pth = PthFile.open(fx('mmdet2_retinanet_micro.pth'));
    const sd = stateDictOf(pth);
    expect(sd.source).toBe('state_dict');
    expect(sd.tensors.size).toBe(126);
    const meta = sd.meta as Map<string, unknown>;
    expect(meta.get('mmdet_version')).toBe('2.28.2');
    expect(meta.get('CLASSES')).toEqual(['circle', 'square', 'triangle']);
    expect(meta.get('epoch')).toBe(24);
    const mean = meta.get('mean') as PyObject;
    expect(mean).toBeInstanceOf(PyObject);
    expect(mean.global?.qualifiedName).toBe('numpy.core.multiarray._reconstruct');
    const all = stateDictOf(pth, { all: true });
    expect(all.tensors.size).toBe(127);
    expect([...pth.tensorData(all.tensors.get('optimizer.state.0.momentum_buffer'), 'm')]).toEqual([0.25, 0.25]);
    expect(all.tensors.has('state_dict.backbone.conv1.weight')).toBe(true);
    pth.close();
  });

  it('3.x: dataset_meta classes, an unknown mmengine object (message_hub) kept opaque with its state, float16 state', () => {
    const pth = PthFile.open(fx('mmdet3_mask_rcnn_micro.pth'));
    const sd = stateDictOf(pth);
    expect(sd.source).toBe('state_dict');
    expect(sd.tensors.size).toBe(138);
    const root = pth.root as Map<string, unknown>;
    const hub = root.get('message_hub') as PyObject;
    expect(hub.global?.qualifiedName).toBe('mmengine.logging.message_hub.MessageHub'); // NEWOBJ of the class
    expect(((hub.state as Map<string, unknown>).get('log_scalars') as Map<string, unknown>).get('train/loss')).toEqual([0.5, 0.4]);
    const dm = (sd.meta as Map<string, unknown>).get('dataset_meta') as Map<string, unknown>;
    expect(dm.get('classes')).toEqual(['circle', 'square', 'triangle']);
    expect((sd.tensors.get('backbone.conv1.weight') as PthTensor).dtype).toBe('float16');
    pth.close();
  });
});

describe('torch.save reader: errors name the file and the key', () => {
  it('legacy (pre-1.6) format → the one-line fix', () => {
    expect(() => PthFile.open(fx('legacy.pth'))).toThrow(
      /legacy\.pth: legacy \(non-zip\) torch\.save format .*_use_new_zipfile_serialization=True/,
    );
  });

  it('truncated archive (a partial download) → the file and what is missing', () => {
    const bytes = readFileSync(fx('views.pth'));
    const cut = join(tmp, 'cut.pth');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 200));
    expect(() => PthFile.open(cut)).toThrow(/cut\.pth: (truncated archive|no ZIP end of central directory)/);
  });

  it('a storage whose bytes run past the end of the file (central directory intact) → truncated, naming the tensor', () => {
    const bytes = new Uint8Array(readFileSync(fx('views.pth')));
    const dv = new DataView(bytes.buffer);
    const name = Buffer.from('views/data/0'); // torch.save names the archive after the file
    // the central directory record of archive/data/0: signature PK\x01\x02, name at +46
    let at = -1;
    for (let i = 0; i + 46 + name.length <= bytes.length; i++) {
      if (dv.getUint32(i, true) === 0x02014b50 && Buffer.from(bytes.subarray(i + 46, i + 46 + name.length)).equals(name)) at = i;
    }
    expect(at).toBeGreaterThan(0);
    dv.setUint32(at + 20, 10_000_000, true);
    dv.setUint32(at + 24, 10_000_000, true);
    const bad = join(tmp, 'short.pth');
    writeFileSync(bad, bytes);
    const pth = PthFile.open(bad);
    const sd = stateDictOf(pth);
    expect(() => pth.tensorData(sd.tensors.get('narrow'), 'narrow')).toThrow(/short\.pth: tensor "narrow": truncated archive: "views\/data\/0" needs bytes/);
    pth.close();
  });

  it('missing storage → the tensor key and the storage record', () => {
    const pth = PthFile.open(fx('missing_storage.pth'));
    const sd = stateDictOf(pth);
    expect(() => pth.tensorData(sd.tensors.get('row'), 'row')).toThrow(/missing_storage\.pth: tensor "row": its storage "0" \(archive\/data\/0\) is missing/);
    expect([...pth.tensorData(sd.tensors.get('expanded'), 'expanded')]).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
    pth.close();
  });

  it('unknown globals: kept opaque, an error only for the tensor that depends on them', () => {
    const pth = PthFile.open(fx('unknown_global.pth'));
    const sd = stateDictOf(pth);
    expect([...pth.tensorData(sd.tensors.get('ok'), 'ok')]).toEqual([1, 2]);
    expect(() => pth.tensorData(sd.tensors.get('complex'), 'complex')).toThrow(/unknown_global\.pth: tensor "complex" cannot be read: .*torch\.ComplexFloatStorage/);
    expect(() => pth.tensorData(sd.tensors.get('quantized'), 'quantized')).toThrow(/unknown_global\.pth: "quantized" depends on the unknown global torch\._utils\._rebuild_qtensor/);
    pth.close();
  });

  it('not a torch.save file: safetensors, random bytes, a missing file', () => {
    expect(() => PthFile.open(fx('expected.safetensors'))).toThrow(/expected\.safetensors: this is a safetensors file/);
    const junk = join(tmp, 'junk.pth');
    writeFileSync(junk, 'hello world');
    expect(() => PthFile.open(junk)).toThrow(/junk\.pth: not a torch\.save file/);
    expect(() => PthFile.open(join(tmp, 'nope.pth'))).toThrow(/nope\.pth: cannot read/);
  });
});

describe('restricted unpickler', () => {
  it('never calls unknown globals: os.system stays an opaque call record', () => {
    // protocol 2: c os\nsystem\n (S'echo hi'\n tR.
    const p = new Uint8Array([0x80, 0x02, ...Buffer.from('cos\nsystem\n'), 0x58, 7, 0, 0, 0, ...Buffer.from('echo hi'), 0x85, 0x52, 0x2e]);
    const v = unpickle(p) as PyObject;
    expect(v).toBeInstanceOf(PyObject);
    expect(v.global?.qualifiedName).toBe('os.system');
    expect(v.args).toEqual(['echo hi']);
  });

  it('rejects an unknown opcode and a truncated stream with the byte position', () => {
    expect(() => unpickle(new Uint8Array([0x80, 0x02, 0xff]), { label: 'x' })).toThrow(/x: unsupported opcode 0xff .*at byte 2/);
    expect(() => unpickle(new Uint8Array([0x80, 0x02, 0x58, 9, 0, 0, 0, 0x41]), { label: 'x' })).toThrow(/x: truncated pickle/);
  });
});
