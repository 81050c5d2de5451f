/** data/image.ts: formats, EXIF orientation, grey/alpha → RGB, size checks, errors, deterministic PNG writing. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { checkImageFile, ImageError, readImage, readImageSize, writeImage } from '../../data/image.js';

const bad = fileURLToPath(new URL('../fixtures/bad-data/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'tiedet-image-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const solid = (w: number, h: number, channels: 3 | 4, bg: { r: number; g: number; b: number; alpha?: number }) =>
  sharp({ create: { width: w, height: h, channels, background: bg } });

async function errorOf(p: Promise<unknown>): Promise<ImageError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ImageError);
    return e as ImageError;
  }
  throw new Error('expected an ImageError');
}

describe('readImage', () => {
  it('reads PNG, JPEG and WebP as HWC RGB', async () => {
    const bg = { r: 10, g: 200, b: 30 };
    for (const [name, enc] of [
      ['a.png', (s: Sharp) => s.png()],
      ['a.webp', (s: Sharp) => s.webp({ lossless: true })],
      ['a.jpg', (s: Sharp) => s.jpeg({ quality: 100 })],
    ] as const) {
      await enc(solid(5, 4, 3, bg)).toFile(join(tmp, name));
      const img = await readImage(join(tmp, name));
      expect([img.width, img.height, img.data.length]).toEqual([5, 4, 60]);
      const tol = name.endsWith('.jpg') ? 3 : 0;
      expect(Math.abs(img.data[0]! - 10)).toBeLessThanOrEqual(tol);
      expect(Math.abs(img.data[1]! - 200)).toBeLessThanOrEqual(tol);
      expect(Math.abs(img.data[59]! - 30)).toBeLessThanOrEqual(tol);
    }
  });
  it('expands greyscale to three equal channels and drops alpha', async () => {
    await solid(3, 2, 3, { r: 90, g: 90, b: 90 }).grayscale().png().toFile(join(tmp, 'g.png'));
    const g = await readImage(join(tmp, 'g.png'));
    expect(g.data.length).toBe(18);
    expect(new Set(g.data).size).toBe(1);
    await solid(3, 2, 4, { r: 1, g: 2, b: 3, alpha: 0.5 }).png().toFile(join(tmp, 'a.png'));
    const a = await readImage(join(tmp, 'a.png'));
    expect(Array.from(a.data.subarray(0, 6))).toEqual([1, 2, 3, 1, 2, 3]);
  });
  it('applies EXIF orientation before the size check', async () => {
    const f = join(bad, 'exif-rotated.jpg'); // stored 64×48, orientation 6
    expect(await readImageSize(f)).toEqual({ width: 48, height: 64 });
    const img = await readImage(f, { expectWidth: 48, expectHeight: 64 });
    expect([img.width, img.height]).toEqual([48, 64]);
    // stored left half is blue-ish (b = 200); rotated 90° clockwise it becomes the top half
    expect(img.data[(5 * 48 + 24) * 3 + 2]).toBeGreaterThan(150);
    expect(img.data[(58 * 48 + 24) * 3 + 2]).toBeLessThan(90);
    const e = await errorOf(readImage(f, { expectWidth: 64, expectHeight: 48 }));
    expect(e.kind).toBe('size-mismatch');
    expect(e.message).toContain('image is 48×64 (after EXIF orientation) but 64×48 was expected');
  });
  it('rejects a 20000×20000 header without decoding it', async () => {
    const f = join(bad, 'huge-header.png');
    expect(readFileSync(f).length).toBeLessThan(200);
    const e = await errorOf(readImage(f));
    expect(e.kind).toBe('too-large');
    expect(e.message).toMatch(/huge-header\.png: image header declares 20000×20000 = 400,000,000 pixels, more than the limit of 100,000,000/);
    await expect(checkImageFile(f, { maxPixels: 5e8 })).resolves.toEqual({ width: 20000, height: 20000 });
  });
  it('missing, corrupt, truncated and non-image files give one-line errors naming the file', async () => {
    const cases: [string, string, RegExp][] = [
      ['no-such-file.png', 'missing', /image file not found/],
      ['corrupt.jpg', 'unreadable', /not a readable image: .*JPEG/],
      ['truncated.png', 'corrupt', /corrupt or truncated image/],
      ['not-an-image.jpg', 'unreadable', /unsupported image format/],
    ];
    for (const [name, kind, re] of cases) {
      const e = await errorOf(readImage(join(bad, name)));
      expect(e.kind).toBe(kind);
      expect(e.file).toBe(join(bad, name));
      expect(e.message.startsWith(join(bad, name) + ': ')).toBe(true);
      expect(e.message).toMatch(re);
      expect(e.message).not.toContain('\n');
    }
  });
  it('damaged JPEG scan data: decoded by default (as OpenCV), rejected with strict', async () => {
    const f = join(bad, 'corrupt-scan.jpg');
    await expect(readImage(f)).resolves.toMatchObject({ width: 64, height: 48 });
    const e = await errorOf(readImage(f, { strict: true }));
    expect(e.message).toMatch(/corrupt-scan\.jpg: corrupt or truncated image: .*Huffman/);
  });
});

describe('writeImage', () => {
  it('PNG round-trips pixels, gives identical bytes, creates the folder', async () => {
    const data = new Uint8Array(7 * 5 * 3).map((_, i) => (i * 37) % 256);
    const img = { data, width: 7, height: 5 };
    const a = join(tmp, 'w', 'x', 'a.png');
    const b = join(tmp, 'w', 'b.png');
    await writeImage(a, img);
    await writeImage(b, img);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    const back = await readImage(a);
    expect(Array.from(back.data)).toEqual(Array.from(data));
    await writeImage(join(tmp, 'w', 'c.jpg'), img, { quality: 95 });
    expect(readFileSync(join(tmp, 'w', 'c.jpg')).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    await expect(writeImage(join(tmp, 'bad.png'), { data: new Uint8Array(5), width: 2, height: 2 })).rejects.toThrow(/expected 2×2×3 = 12/);
  });
});
