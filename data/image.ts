/**
 * Image files ↔ 8-bit RGB pixel buffers, with sharp (libvips).
 *
 * Matches mmcv's `LoadImageFromFile` + `imfrombytes(..., channel_order='rgb')` as used by mmdetection, except that
 * EXIF orientation is always applied (mmcv's default `imread_backend` also applies it for the 'color' flag):
 * JPEG / PNG / WebP / TIFF / GIF / AVIF (whatever sharp reads) → HWC row-major RGB, 3 bytes per pixel.
 * Grayscale is expanded to RGB, CMYK converted to sRGB, 16-bit reduced to 8-bit, an alpha channel dropped (not
 * composited). The header is read first, so an image whose declared size exceeds `maxPixels` is rejected without
 * decoding; missing, corrupt or truncated files raise an `ImageError` that names the file, with libvips' message
 * condensed to one line.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp, { type Metadata, type OutputInfo } from 'sharp';

/** HWC row-major RGB, 3 bytes per pixel: pixel (x, y) channel c is `data[(y * width + x) * 3 + c]`. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** What went wrong with an image file (used to count skipped files by cause). */
export type ImageErrorKind = 'missing' | 'unreadable' | 'too-large' | 'size-mismatch' | 'corrupt';

/** A file that cannot be read as an image (or is not the expected size). The message starts with the file. */
export class ImageError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly kind: ImageErrorKind = 'unreadable',
  ) {
    super(`${file}: ${reason}`);
    this.name = 'ImageError';
  }
}

export interface ReadImageOptions {
  /** Width the caller expects (e.g. the annotation file's), compared after EXIF orientation. */
  expectWidth?: number;
  /** Height the caller expects, compared after EXIF orientation. */
  expectHeight?: number;
  /** Largest accepted width × height, checked on the header before decoding (default 100 MP). */
  maxPixels?: number;
  /**
   * Also reject files for which the decoder only warns (e.g. a JPEG with damaged entropy-coded data, which decodes
   * to garbage pixels; sharp `failOn: 'warning'`). Default false: like OpenCV, such files are decoded, and only
   * decoder errors and truncation fail (`failOn: 'error'`) — real datasets contain JPEGs with harmless warnings
   * such as extraneous bytes before a marker.
   */
  strict?: boolean;
}

export interface WriteImageOptions {
  /** Default: from the file extension (`.jpg` / `.jpeg` → jpeg), else png. */
  format?: 'png' | 'jpeg';
  /** JPEG quality 1–100 (default 90). */
  quality?: number;
  /** PNG zlib level 0–9 (default 6). Lower is faster and larger: the renderer uses 2 (about 2× faster). */
  compressionLevel?: number;
}

/** Default `maxPixels`: 100 megapixels (a 20000×20000 header is refused). */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** sharp/libvips messages can span lines ("VipsJpeg: …\nvips2png: …"): one line, bounded length. */
function condense(message: string): string {
  const lines = message
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const one = [...new Set(lines)].join('; ');
  return one.length > 300 ? `${one.slice(0, 297)}...` : one;
}

/** The largest image file read (bytes): a 100-megapixel PNG is far below it; a device or pipe is refused outright. */
export const MAX_IMAGE_FILE_BYTES = 1024 * 1024 * 1024;

async function readBytes(file: string): Promise<Buffer> {
  try {
    const st = await stat(file);
    if (st.isFile() && st.size > MAX_IMAGE_FILE_BYTES) {
      throw new ImageError(file, `file of ${st.size.toLocaleString('en-US')} bytes is over the ${MAX_IMAGE_FILE_BYTES.toLocaleString('en-US')}-byte limit for an image`);
    }
    if (!st.isFile() && !st.isDirectory()) throw new ImageError(file, 'is not a regular file (a device or pipe?), not an image file');
    return await readFile(file);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ImageError(file, 'image file not found', 'missing');
    if (code === 'EISDIR') throw new ImageError(file, 'is a directory, not an image file');
    if (code === 'EACCES') throw new ImageError(file, 'permission denied');
    throw new ImageError(file, `cannot read: ${condense((e as Error).message)}`);
  }
}

/** Size after EXIF orientation, from the header only (no pixel decoding). */
async function headerSize(file: string, bytes: Buffer): Promise<{ width: number; height: number }> {
  if (bytes.length === 0) throw new ImageError(file, 'empty file (0 bytes)');
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new ImageError(file, `not a readable image: ${condense((e as Error).message)}`);
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!(width > 0 && height > 0)) throw new ImageError(file, `image header has no valid size (${width}×${height})`);
  return { width, height };
}

/** Width and height of an image file after EXIF orientation, read from the header without decoding the pixels. */
export async function readImageSize(file: string): Promise<{ width: number; height: number }> {
  return headerSize(file, await readBytes(file));
}

function checkHeader(file: string, size: { width: number; height: number }, opts: ReadImageOptions): void {
  const { width, height } = size;
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (width * height > maxPixels) {
    throw new ImageError(
      file,
      `image header declares ${width}×${height} = ${(width * height).toLocaleString('en-US')} pixels, more than the limit of ${maxPixels.toLocaleString('en-US')} (not decoded)`,
      'too-large',
    );
  }
  const expectW = opts.expectWidth;
  const expectH = opts.expectHeight;
  if ((expectW !== undefined && expectW !== width) || (expectH !== undefined && expectH !== height)) {
    throw new ImageError(
      file,
      `image is ${width}×${height} (after EXIF orientation) but ${expectW ?? '?'}×${expectH ?? '?'} was expected`,
      'size-mismatch',
    );
  }
}

/**
 * The checks of {@link readImage} that need only the header: the file exists and is an image, its size is within
 * `maxPixels` and equals `expectWidth` × `expectHeight`. Returns the size (after EXIF orientation). Pixel data is
 * not decoded, so a truncated or corrupt body is only found by `readImage`.
 */
export async function checkImageFile(file: string, opts: ReadImageOptions = {}): Promise<{ width: number; height: number }> {
  const size = await headerSize(file, await readBytes(file));
  checkHeader(file, size, opts);
  return size;
}

/**
 * Decodes an image file to RGB. Throws `ImageError` for a missing / empty / corrupt / truncated file, a header over
 * `maxPixels`, or a size (after EXIF orientation) different from `expectWidth` × `expectHeight`.
 */
export async function readImage(file: string, opts: ReadImageOptions = {}): Promise<RgbImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const bytes = await readBytes(file);
  const { width, height } = await headerSize(file, bytes);
  checkHeader(file, { width, height }, opts);
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await sharp(bytes, { autoOrient: true, failOn: opts.strict ? 'warning' : 'error', limitInputPixels: maxPixels })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageError(file, `corrupt or truncated image: ${condense((e as Error).message)}`, 'corrupt');
  }
  const { info, data } = out;
  if (info.channels !== 3 || info.width !== width || info.height !== height) {
    throw new ImageError(
      file,
      `decoded to ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×3 (unsupported colour layout)`,
      'corrupt',
    );
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
}

/** Checks that `img.data` holds width × height × 3 bytes; throws a plain Error naming `what` otherwise. */
export function checkRgbImage(img: RgbImage, what = 'image'): void {
  if (!(Number.isInteger(img.width) && img.width > 0 && Number.isInteger(img.height) && img.height > 0)) {
    throw new Error(`${what}: invalid size ${img.width}×${img.height}`);
  }
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(`${what}: data has ${img.data.length} bytes, expected ${img.width}×${img.height}×3 = ${img.width * img.height * 3}`);
  }
}

/**
 * Encodes `img` as PNG (lossless; the same pixels give the same bytes — no timestamps or metadata are written) or
 * JPEG, creating the parent folder.
 */
export async function writeImage(file: string, img: RgbImage, opts: WriteImageOptions = {}): Promise<void> {
  checkRgbImage(img, file);
  const format = opts.format ?? (/\.jpe?g$/i.test(file) ? 'jpeg' : 'png');
  const raw = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  const s = sharp(raw, { raw: { width: img.width, height: img.height, channels: 3 } });
  const encoded =
    format === 'jpeg'
      ? s.jpeg({ quality: opts.quality ?? 90, chromaSubsampling: '4:2:0' })
      : s.png({ compressionLevel: opts.compressionLevel ?? 6, adaptiveFiltering: false, palette: false });
  const bytes = await encoded.toBuffer();
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes);
}
