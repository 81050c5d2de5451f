/**
 * safetensors reading and writing: reference byte layouts, round trips, files written by the Python fixture
 * script (F16 / BF16 / integer decoding against torch's own conversions), and every malformed-file error.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
  type SafetensorsInput,
} from '../../src/io/safetensors.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'io');
const tmp = mkdtempSync(join(tmpdir(), 'tiedet-st-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const f32bits = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0]!;
const bitsOf = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** A file from a header (object or raw string) and a data buffer; returns its path. */
function rawFile(name: string, header: unknown, data: Uint8Array = new Uint8Array(0), opts: { headerLength?: bigint } = {}): string {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  const path = join(tmp, name);
  writeFileSync(path, out);
  return path;
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

describe('safetensors writer: the reference layout', () => {
  it('matches the reference serializer byte for byte (single F32 tensor, no padding needed)', () => {
    const bytes = serializeSafetensors([['attn.0', { dtype: 'F32', shape: [1, 2, 3], data: [0, 1, 2, 3, 4, 5] }]]);
    // The reference implementation's own unit-test vector for this input.
    expect([...bytes]).toEqual([
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70,
      51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102,
      102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0,
      0, 128, 64, 0, 0, 160, 64,
    ]);
  });

  it('pads the header with spaces to a multiple of 8 and puts __metadata__ first', () => {
    const empty = serializeSafetensors([]);
    expect([...empty]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    const withMeta = serializeSafetensors([], { framework: 'pt' });
    expect(new TextDecoder().decode(withMeta.subarray(8))).toBe('{"__metadata__":{"framework":"pt"}}     ');
    expect(new DataView(withMeta.buffer).getBigUint64(0, true)).toBe(40n);
    const odd = serializeSafetensors([['attn0', { dtype: 'F32', shape: [1, 1, 2, 3], data: [0, 1, 2, 3, 4, 5] }]]);
    expect(new DataView(odd.buffer).getBigUint64(0, true)).toBe(72n);
    expect(new TextDecoder().decode(odd.subarray(8, 80)).endsWith('}}       ')).toBe(true);
  });

  it('orders tensors like the reference: I64 before F64 before F32 before I32 before U8/BOOL, then by name', () => {
    const bytes = serializeSafetensors([
      ['b', { dtype: 'F32', shape: [1], data: [1] }],
      ['flag', { dtype: 'BOOL', shape: [1], data: [1] }],
      ['a', { dtype: 'F32', shape: [1], data: [2] }],
      ['n', { dtype: 'I64', shape: [], data: [3] }],
      ['d', { dtype: 'F64', shape: [1], data: [4] }],
      ['i', { dtype: 'I32', shape: [1], data: [5] }],
      ['u', { dtype: 'U8', shape: [1], data: [6] }],
    ]);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))));
    const keys = Object.keys(JSON.parse(header) as object);
    expect(keys).toEqual(['n', 'd', 'a', 'b', 'i', 'u', 'flag']);
    const back = parseSafetensors(bytes, 'mem');
    for (const [name, entry] of back.tensors) {
      // every tensor aligned to its element size inside the file
      const size = { I64: 8, F64: 8, F32: 4, I32: 4, U8: 1, BOOL: 1 }[entry.dtype as 'I64'];
      expect((entry.data.byteOffset - bytes.byteOffset) % size, name).toBe(0);
    }
  });

  it('round-trips values, shapes, dtypes and metadata; write(read(file)) gives the same bytes', () => {
    const tensors: Array<[string, SafetensorsInput]> = [
      ['conv.weight', { dtype: 'F32', shape: [2, 3, 1, 1], data: new Float32Array([1.5, -0, NaN, Infinity, -3e-45, 1e38]) }],
      ['bn.num_batches_tracked', { dtype: 'I64', shape: [], data: new Int32Array([123456]) }],
      ['big', { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 31n), 2n ** 31n - 1n]) }],
      ['i32', { dtype: 'I32', shape: [3], data: [-1, 0, 2147483647] }],
      ['f64', { dtype: 'F64', shape: [2], data: [0.375, -2] }], // float32-exact: F64 is read as float32
      ['mask', { dtype: 'BOOL', shape: [2, 2], data: [1, 0, 0, 1] }],
      ['bytes', { dtype: 'U8', shape: [3], data: [0, 128, 255] }],
      ['empty', { dtype: 'F32', shape: [0, 4], data: [] }],
    ];
    const meta = { format: 'pt', note: 'ünïcode ✓ "quoted"' };
    const path = join(tmp, 'roundtrip.safetensors');
    writeSafetensors(path, tensors, meta);
    const file = readSafetensors(path);
    expect(file.metadata).toEqual(meta);
    expect(new Set(file.tensors.keys())).toEqual(new Set(tensors.map(([n]) => n)));
    const w = file.tensors.get('conv.weight')!;
    expect(w.dtype).toBe('F32');
    expect(w.shape).toEqual([2, 3, 1, 1]);
    expect([...bitsOf(w.data as Float32Array)]).toEqual([...bitsOf(new Float32Array([1.5, -0, NaN, Infinity, -3e-45, 1e38]))]);
    expect(file.tensors.get('bn.num_batches_tracked')).toMatchObject({ dtype: 'I64', shape: [] });
    expect([...file.tensors.get('bn.num_batches_tracked')!.data]).toEqual([123456]);
    expect([...file.tensors.get('big')!.data]).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    expect([...file.tensors.get('i32')!.data]).toEqual([-1, 0, 2147483647]);
    expect(file.tensors.get('f64')!.data).toEqual(new Float32Array([0.375, -2]));
    expect([...file.tensors.get('mask')!.data]).toEqual([1, 0, 0, 1]);
    expect([...file.tensors.get('bytes')!.data]).toEqual([0, 128, 255]);
    expect(file.tensors.get('empty')).toMatchObject({ shape: [0, 4] });
    expect(file.tensors.get('empty')!.data.length).toBe(0);

    // Re-serialise what was read, with the stored dtypes: identical bytes.
    const again = serializeSafetensors(
      [...file.tensors].map(([n, t]) => [n, { dtype: t.dtype as SafetensorsInput['dtype'], shape: t.shape, data: t.data }] as const),
      file.metadata,
    );
    expect(Buffer.from(again).equals(readFileSync(path))).toBe(true);
    // No temporary file left behind.
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('reads F32 as a view of the file bytes when aligned, and copies correctly when not', () => {
    const bytes = serializeSafetensors([['w', { dtype: 'F32', shape: [3], data: [1, 2, 3] }]]);
    const aligned = parseSafetensors(bytes, 'mem').tensors.get('w')!.data;
    expect(aligned.buffer).toBe(bytes.buffer); // no copy
    // Same file placed at an odd offset of a bigger buffer: values still right (copied).
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const unaligned = parseSafetensors(shifted.subarray(1), 'mem').tensors.get('w')!.data;
    expect(unaligned.buffer).not.toBe(shifted.buffer);
    expect([...unaligned]).toEqual([1, 2, 3]);
    // A valid file whose header length is not a multiple of 8 (other writers do this).
    const path = rawFile('unpadded.safetensors', { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32Bytes([0.5, -7]));
    expect([...readSafetensors(path).tensors.get('w')!.data]).toEqual([0.5, -7]);
  });

  it('atomic write: replaces an existing file; a failed write names the path and leaves nothing behind', () => {
    const path = join(tmp, 'replace.safetensors');
    writeFileSync(path, 'old');
    writeSafetensors(path, [['a', { dtype: 'F32', shape: [1], data: [1] }]]);
    expect([...readSafetensors(path).tensors.get('a')!.data]).toEqual([1]);
    const bad = join(tmp, 'no-such-dir', 'x.safetensors');
    expect(() => writeSafetensors(bad, [['a', { dtype: 'F32', shape: [1], data: [1] }]])).toThrow(bad);
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('rejects bad input to the writer with the tensor name', () => {
    expect(() => serializeSafetensors([['w', { dtype: 'F32', shape: [2, 2], data: [1, 2, 3] }]])).toThrow(/tensor "w": 3 value\(s\) for shape \[2, 2\]/);
    expect(() => serializeSafetensors([['h', { dtype: 'F16' as 'F32', shape: [1], data: [1] }]])).toThrow(/tensor "h": cannot write dtype "F16"/);
    expect(() => serializeSafetensors([['n', { dtype: 'I64', shape: [1], data: [1.5] }]])).toThrow(/tensor "n": I64 value 1.5/);
    expect(() => serializeSafetensors([['b', { dtype: 'BOOL', shape: [1], data: [2] }]])).toThrow(/tensor "b": BOOL value 2/);
    expect(() =>
      serializeSafetensors([
        ['a', { dtype: 'F32', shape: [1], data: [1] }],
        ['a', { dtype: 'F32', shape: [1], data: [1] }],
      ]),
    ).toThrow(/tensor "a" given twice/);
    expect(() => serializeSafetensors([['__metadata__', { dtype: 'F32', shape: [1], data: [1] }]])).toThrow(/__metadata__/);
  });
});

describe('safetensors reader: files written by the Python fixture script (torch conversions)', () => {
  const path = join(FIXTURES, 'dtypes.safetensors');
  const file = readSafetensors(path);
  const t = (name: string) => {
    const x = file.tensors.get(name);
    if (!x) throw new Error(`fixture tensor ${name} missing`);
    return x;
  };

  it('keeps the metadata', () => {
    expect(file.metadata).toEqual({ format: 'pt', producer: 'tools/fixtures/safetensors_io.py' });
  });

  it('F16 → float32 exactly as torch, over a sweep of every exponent (subnormals, inf, NaN)', () => {
    const got = t('f16.bits');
    expect(got.dtype).toBe('F16');
    expect(got.data.length).toBe(512);
    expect([...bitsOf(got.data as Float32Array)]).toEqual([...bitsOf(t('f16.expected').data as Float32Array)]);
  });

  it('BF16 → float32 exactly as torch, over a sweep of every exponent', () => {
    const got = t('bf16.bits');
    expect(got.dtype).toBe('BF16');
    expect(got.data.length).toBe(4096);
    expect([...bitsOf(got.data as Float32Array)]).toEqual([...bitsOf(t('bf16.expected').data as Float32Array)]);
  });

  it('F16 / BF16 known values', () => {
    const f16 = [...t('f16.known').data];
    expect(f16.slice(0, 6)).toEqual([1, -2, 65504, 2 ** -14, 2 ** -24, 3 * 2 ** -24]);
    expect(f16.slice(6, 8)).toEqual([Infinity, -Infinity]);
    expect(Number.isNaN(f16[8])).toBe(true);
    expect(Object.is(f16[9], -0)).toBe(true);
    expect(f16.slice(10)).toEqual([0.0999755859375, 0.333251953125]);
    const bf16 = [...t('bf16.known').data];
    expect(bf16.slice(0, 2)).toEqual([1, -2]);
    expect(f32bits(bf16[2]!)).toBe(0x7f7f0000); // largest finite bfloat16
    expect(bf16.slice(3, 6)).toEqual([2 ** -126, 2 ** -133, 3 * 2 ** -133]); // min normal, subnormals
    expect(bf16.slice(6, 8)).toEqual([Infinity, -Infinity]);
    expect(Number.isNaN(bf16[8])).toBe(true);
    expect(Object.is(bf16[9], -0)).toBe(true);
    expect(bf16.slice(10)).toEqual([0.10009765625, 0.333984375]);
  });

  it('F64 rounds to float32; integer dtypes decode to int32; U8 / BOOL to bytes; empty tensors', () => {
    expect(t('f64').data).toEqual(new Float32Array([0.1, -2.5, 1e-300, 3.0e38, 1e40, -1e40]));
    expect([...t('f64').data].slice(4)).toEqual([Infinity, -Infinity]);
    expect(t('i64')).toMatchObject({ dtype: 'I64', shape: [5] });
    expect(t('i64').data).toBeInstanceOf(Int32Array);
    expect([...t('i64').data]).toEqual([0, -1, 2147483647, -2147483648, 42]);
    expect(t('i64.scalar').shape).toEqual([]);
    expect([...t('i64.scalar').data]).toEqual([7]);
    expect([...t('i32').data]).toEqual([1, -2, 2147483647, -2147483648]);
    expect([...t('i16').data]).toEqual([-32768, 32767, 5]);
    expect([...t('i8').data]).toEqual([-128, 127, -1]);
    expect(t('u8').data).toBeInstanceOf(Uint8Array);
    expect([...t('u8').data]).toEqual([0, 255, 17]);
    expect([...t('bool').data]).toEqual([1, 0, 1]);
    expect(t('empty').shape).toEqual([2, 0]);
  });

  it('re-serialising the Python-written state dict gives its exact bytes', () => {
    const p = join(FIXTURES, 'mini_net.safetensors');
    const sd = readSafetensors(p);
    const bytes = serializeSafetensors(
      [...sd.tensors].map(([n, x]) => [n, { dtype: x.dtype as 'F32' | 'I64', shape: x.shape, data: x.data }] as const),
      sd.metadata,
    );
    expect(Buffer.from(bytes).equals(readFileSync(p))).toBe(true);
  });
});

describe('safetensors reader: malformed files name the file and the key / field', () => {
  const ok = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };

  function expectError(path: string, ...parts: Array<string | RegExp>): void {
    let message = '';
    try {
      readSafetensors(path);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message, 'should have thrown').not.toBe('');
    expect(message.startsWith(`${path}: `), message).toBe(true);
    for (const p of parts) {
      if (typeof p === 'string') expect(message).toContain(p);
      else expect(message).toMatch(p);
    }
  }

  it('truncated before the header length', () => {
    const path = join(tmp, 'short.safetensors');
    writeFileSync(path, new Uint8Array([1, 2, 3, 4, 5]));
    expectError(path, 'truncated file', '5 byte(s)');
  });

  it('header length beyond the file', () => {
    expectError(rawFile('hlen.safetensors', ok, f32Bytes([1, 2]), { headerLength: 500n }), 'header length 500 is beyond the file');
    expectError(rawFile('hbig.safetensors', ok, f32Bytes([1, 2]), { headerLength: 2n ** 63n }), 'exceeds the 100000000-byte limit');
  });

  it('a missing file', () => {
    expectError(join(tmp, 'nope.safetensors'), 'cannot read');
  });

  it('header that is not a JSON object', () => {
    expectError(rawFile('json.safetensors', '{"w": {"dtype": "F32",'), 'header is not valid JSON');
    expectError(rawFile('array.safetensors', '[1, 2]'), 'header does not start with "{"');
    expectError(rawFile('space.safetensors', ' {}'), 'header does not start with "{"');
    const bad = new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]); // {"\xff":1}
    const p = join(tmp, 'utf8.safetensors');
    const buf = new Uint8Array(8 + bad.length);
    new DataView(buf.buffer).setBigUint64(0, BigInt(bad.length), true);
    buf.set(bad, 8);
    writeFileSync(p, buf);
    expectError(p, 'header is not valid UTF-8');
  });

  it('duplicate keys', () => {
    const header = '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expectError(rawFile('dup.safetensors', header, f32Bytes([1, 2])), 'duplicate key "w"');
  });

  it('missing or invalid fields of a tensor entry', () => {
    const data = f32Bytes([1, 2]);
    expectError(rawFile('nodtype.safetensors', { w: { shape: [2], data_offsets: [0, 8] } }, data), 'tensor "w"', 'field "dtype" is missing');
    expectError(rawFile('noshape.safetensors', { w: { dtype: 'F32', data_offsets: [0, 8] } }, data), 'tensor "w"', 'field "shape" is missing');
    expectError(rawFile('nooff.safetensors', { w: { dtype: 'F32', shape: [2] } }, data), 'tensor "w"', 'field "data_offsets" is missing');
    expectError(rawFile('negshape.safetensors', { w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, data), 'tensor "w"', 'field "shape"');
    expectError(rawFile('fracshape.safetensors', { w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 8] } }, data), 'tensor "w"', 'field "shape"');
    expectError(rawFile('offs3.safetensors', { w: { dtype: 'F32', shape: [2], data_offsets: [0, 4, 8] } }, data), 'tensor "w"', 'field "data_offsets"');
    expectError(rawFile('offsrev.safetensors', { w: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, data), 'tensor "w"', 'ends before it begins');
    expectError(rawFile('entry.safetensors', { w: 3 }, data), 'tensor "w": entry must be an object');
    expectError(rawFile('dtypenum.safetensors', { w: { dtype: 32, shape: [2], data_offsets: [0, 8] } }, data), 'tensor "w"', 'field "dtype" must be a string');
  });

  it('unknown dtype, and a known dtype tiedet cannot decode', () => {
    expectError(rawFile('unk.safetensors', { w: { dtype: 'F128', shape: [2], data_offsets: [0, 8] } }, f32Bytes([1, 2])), 'tensor "w"', 'unknown dtype "F128"');
    const f8 = rawFile('f8.safetensors', { w: { dtype: 'F8_E4M3', shape: [8], data_offsets: [0, 8] } }, f32Bytes([1, 2]));
    expectError(f8, 'tensor "w"', 'F8_E4M3', 'cannot decode');
  });

  it('offsets that do not match dtype × shape', () => {
    expectError(
      rawFile('size.safetensors', { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32Bytes([1, 2])),
      'tensor "w"',
      'field "data_offsets" [0, 8] spans 8 byte(s), but dtype F32 × shape [3] needs 12',
    );
  });

  it('offsets beyond the data (truncated file)', () => {
    expectError(rawFile('trunc.safetensors', ok, f32Bytes([1])), 'tensor "w"', 'beyond the data buffer (4 byte(s)');
  });

  it('overlapping tensors, holes, trailing bytes', () => {
    const two = f32Bytes([1, 2, 3, 4]);
    expectError(
      rawFile('overlap.safetensors', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, two),
      'tensor "b": data_offsets [8, 16] overlap tensor "a" [0, 12]',
    );
    expectError(
      rawFile('gap.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, two),
      'tensor "b"',
      'leave bytes [4, 8) of the data buffer unused',
    );
    expectError(rawFile('start.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32Bytes([1, 2])), 'tensor "a"', 'must start at 0');
    expectError(rawFile('trailing.safetensors', ok, two), 'the data buffer has 16 byte(s) but the tensors end at byte 8');
  });

  it('bad __metadata__', () => {
    expectError(rawFile('meta1.safetensors', { __metadata__: { epoch: 3 }, ...ok }, f32Bytes([1, 2])), '"__metadata__" field "epoch" must be a string');
    expectError(rawFile('meta2.safetensors', { __metadata__: ['x'], ...ok }, f32Bytes([1, 2])), '"__metadata__" must be an object');
  });

  it('int64 values outside the int32 range name the key and index', () => {
    const path = join(tmp, 'i64big.safetensors');
    writeSafetensors(path, [['step', { dtype: 'I64', shape: [3], data: new BigInt64Array([1n, 2n, 2n ** 40n]) }]]);
    expectError(path, 'tensor "step": I64 value 1099511627776 at index 2 is outside the int32 range');
    const neg = join(tmp, 'i64neg.safetensors');
    writeSafetensors(neg, [['step', { dtype: 'I64', shape: [1], data: new BigInt64Array([-(2n ** 31n) - 1n]) }]]);
    expectError(neg, 'tensor "step": I64 value -2147483649 at index 0');
  });
});
