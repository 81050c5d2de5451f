/**
 * The one drawing module of tiedet (used by `tiedet render` and `tiedet browse-dataset`): instance masks, contours,
 * boxes and labels on an 8-bit RGB image, plus the side-by-side composition with a caption strip.
 *
 * What is drawn, and exactly how (so that tests can predict every pixel):
 * - **Mask fill**: every pixel of the mask is blended with the instance colour,
 *   `out = round(src + (colour − src) · alpha)` per channel (round half up), masks in the order given.
 * - **Contour**: the pixels of the mask that have a 4-neighbour outside the mask (or outside the image) take the
 *   instance colour, after all fills.
 * - **Box**: COCO `[x, y, w, h]` (float) drawn on the pixels it touches, `x0 = floor(x) … x1 = ceil(x + w) − 1`
 *   (clamped to the image), lines `boxWidth` pixels thick going inwards, solid or dashed (`boxDash` = on/off
 *   lengths counted along each edge). Pixel-aligned, no anti-aliasing: nothing outside these lines changes.
 * - **Label**: "category score" on an opaque plate in the instance colour (text black or white, whichever reads
 *   better), above the box's top-left corner, or just inside the box when there is no room above; the plate is
 *   shifted to lie inside the image and clipped to it when it is wider or taller than the image. Text is rendered
 *   with @napi-rs/canvas (Skia, system fonts) on a scratch canvas and copied in, so anti-aliasing stays inside the
 *   plate.
 * - **Colours**: a categorical palette of {@link PALETTE_SIZE} colours; category ids 1…12 take its entries in order
 *   (neighbouring ids never look alike), other ids golden-angle hues; per instance the entry is the instance's rank
 *   in the image.
 * - **Label placement**: each plate goes to the first of (above the box, inside its top, below it, inside its
 *   bottom) that overlaps no plate placed before; failing that it slides down in plate-height steps to a free row;
 *   only when the image has no free place left do plates overlap.
 * - **Captions** (side by side): wrapped into as many lines as the panel width needs.
 *
 * Ground truth and predictions differ by style ({@link GT_STYLE}: lighter fill and dashed boxes;
 * {@link PREDICTION_STYLE}: stronger fill and solid boxes).
 */
import { createCanvas, GlobalFonts, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';
import { decode, toBbox, type Rle } from '../../src/structures/rle.js';
import type { RgbImage } from '../../data/image.js';

export type Color = readonly [number, number, number];

export interface DrawStyle {
  /** Opacity of the mask fill in [0, 1]; 0 draws no fill. */
  fillAlpha: number;
  /** Draw the mask contour (mask pixels with a 4-neighbour outside the mask). */
  contour: boolean;
  /** Box line thickness in pixels; 0 draws no box. */
  boxWidth: number;
  /** Dashed box: [on, off] lengths in pixels along each edge; null draws solid lines. */
  boxDash: readonly [number, number] | null;
  /** Draw the instance labels. */
  labels: boolean;
  /** Label font size in pixels (default: {@link defaultFontSize} of the image). */
  fontSize?: number;
}

/** Predictions: half-transparent fill, contour, solid 2-pixel boxes, labels. */
export const PREDICTION_STYLE: Readonly<DrawStyle> = Object.freeze({ fillAlpha: 0.5, contour: true, boxWidth: 2, boxDash: null, labels: true });

/** Ground truth: lighter fill, contour, dashed 2-pixel boxes, labels. */
export const GT_STYLE: Readonly<DrawStyle> = Object.freeze({ fillAlpha: 0.3, contour: true, boxWidth: 2, boxDash: [6, 4] as const, labels: true });

/** One thing to draw: a mask and/or a box, with its colour and an optional label. */
export interface Instance {
  color: Color;
  /** COCO box [x, y, width, height] in pixels. */
  box?: readonly [number, number, number, number];
  /** Mask as a COCO RLE of the image's size (h = image height, w = image width). */
  mask?: Rle;
  label?: string;
}

/** An axis-aligned pixel rectangle: columns x … x + w − 1, rows y … y + h − 1. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface DrawResult {
  image: RgbImage;
  /** The label plates, in drawing order, as drawn (inside the image). */
  plates: Rect[];
}

// ---------------------------------------------------------------------------------------------------------------
// colours

function hslToRgb(hDeg: number, s: number, l: number): Color {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const hp = (((hDeg % 360) + 360) % 360) / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  const [r1, g1, b1] =
    hp < 1 ? [c, x, 0] : hp < 2 ? [x, c, 0] : hp < 3 ? [0, c, x] : hp < 4 ? [0, x, c] : hp < 5 ? [x, 0, c] : [c, 0, x];
  const m = l - c / 2;
  const to8 = (v: number) => Math.round((v + m) * 255);
  return [to8(r1), to8(g1), to8(b1)];
}

/**
 * The categorical palette: 12 colours (hue, lightness) chosen so that neighbouring entries are far apart in hue and
 * every pair is at least 75 apart in RGB. Category ids 1…12 (the usual 1-based COCO ids of a small dataset) take
 * entries 1…12 in order, so the classes of a small dataset never share or nearly share a colour; other ids take
 * golden-angle hues (137.5° apart for consecutive ids) at alternating lightness.
 */
const QUALITATIVE: readonly (readonly [number, number])[] = [
  [4, 0.5], [212, 0.45], [130, 0.4], [32, 0.55], [280, 0.5], [178, 0.4],
  [55, 0.55], [330, 0.62], [95, 0.55], [240, 0.72], [18, 0.3], [195, 0.65],
];

export const PALETTE: readonly Color[] = Object.freeze(QUALITATIVE.map(([h, l]) => hslToRgb(h, 0.85, l)));
export const PALETTE_SIZE = PALETTE.length;

const GOLDEN_ANGLE = 137.50776405003785;

const goldenCache = new Map<number, Color>();

/** A colour for any integer: golden-angle hue steps, lightness cycling through three levels (one object per id). */
function goldenColor(n: number): Color {
  let c = goldenCache.get(n);
  if (!c) {
    const k = Math.abs(Math.trunc(n));
    c = Object.freeze(hslToRgb(k * GOLDEN_ANGLE + 20, 0.8, [0.5, 0.38, 0.64][k % 3]!)) as Color;
    if (goldenCache.size < 100_000) goldenCache.set(n, c);
  }
  return c;
}

/** The colour of a category: stable for an id across images and runs; ids 1…12 get the palette in order. */
export function categoryColor(categoryId: number): Color {
  if (Number.isInteger(categoryId) && categoryId >= 1 && categoryId <= PALETTE_SIZE) return PALETTE[categoryId - 1]!;
  return goldenColor(categoryId);
}

/** The colour of the k-th instance of an image (k = 0, 1, …): neighbours in rank never share a colour. */
export function instanceColor(k: number): Color {
  return PALETTE[((k % PALETTE_SIZE) + PALETTE_SIZE) % PALETTE_SIZE]!;
}

/** Black or white, whichever contrasts more with `bg` (Rec. 601 luma threshold 150). */
export function textColorOn(bg: Color): Color {
  return 0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2] > 150 ? [0, 0, 0] : [255, 255, 255];
}

/** The blended value of one channel: round(src + (color − src) · alpha), the rule of the mask fill. */
export function blendValue(src: number, color: number, alpha: number): number {
  return Math.round(src + (color - src) * alpha);
}

/** Default label font size for an image: min(width, height) / 36, between 9 and 28 pixels. */
export function defaultFontSize(width: number, height: number): number {
  return Math.max(9, Math.min(28, Math.round(Math.min(width, height) / 36)));
}

/** Whether Skia found any font (labels are drawn as plates without text when there is none). */
export function fontsAvailable(): boolean {
  return GlobalFonts.families.length > 0;
}

// ---------------------------------------------------------------------------------------------------------------
// pixels

function copyImage(img: RgbImage): RgbImage {
  return { data: img.data.slice(), width: img.width, height: img.height };
}

function checkImage(img: RgbImage): void {
  const { width, height, data } = img;
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0) || data.length !== width * height * 3) {
    throw new RangeError(`draw: image must be width × height × 3 bytes, got ${width}×${height} with ${data.length} bytes`);
  }
}

/** Pixel bounds of a COCO box on the image, clamped; null when the box lies entirely outside it. */
export function boxPixels(box: readonly [number, number, number, number], width: number, height: number): { x0: number; y0: number; x1: number; y1: number } | null {
  const [bx, by, bw, bh] = box;
  const x0 = Math.floor(bx);
  const y0 = Math.floor(by);
  const x1 = Math.max(x0, Math.ceil(bx + bw) - 1);
  const y1 = Math.max(y0, Math.ceil(by + bh) - 1);
  if (x1 < 0 || y1 < 0 || x0 >= width || y0 >= height) return null;
  return { x0: Math.max(0, x0), y0: Math.max(0, y0), x1: Math.min(width - 1, x1), y1: Math.min(height - 1, y1) };
}

interface DecodedMask {
  bits: Uint8Array; // row-major, width × height
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function decodeMask(rle: Rle, width: number, height: number): DecodedMask | null {
  if (rle.h !== height || rle.w !== width) {
    throw new RangeError(`draw: mask is ${rle.h}x${rle.w} (h×w) but the image is ${height}x${width}`);
  }
  const [bx, by, bw, bh] = toBbox(rle);
  if (!(bw > 0 && bh > 0)) return null;
  return { bits: decode(rle, 'row'), x0: bx, y0: by, x1: Math.min(width, bx + bw) - 1, y1: Math.min(height, by + bh) - 1 };
}

function fillMask(out: Uint8Array, width: number, m: DecodedMask, color: Color, alpha: number): void {
  const lr = new Uint8Array(256);
  const lg = new Uint8Array(256);
  const lb = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    lr[v] = blendValue(v, color[0], alpha);
    lg[v] = blendValue(v, color[1], alpha);
    lb[v] = blendValue(v, color[2], alpha);
  }
  const bits = m.bits;
  for (let y = m.y0; y <= m.y1; y++) {
    const row = y * width;
    for (let x = m.x0; x <= m.x1; x++) {
      if (bits[row + x] === 0) continue;
      const p = (row + x) * 3;
      out[p] = lr[out[p]!]!;
      out[p + 1] = lg[out[p + 1]!]!;
      out[p + 2] = lb[out[p + 2]!]!;
    }
  }
}

/** Row-major indices of the mask pixels that have a 4-neighbour outside the mask or outside the image. */
export function contourPixels(bits: Uint8Array, width: number, height: number, bounds?: { x0: number; y0: number; x1: number; y1: number }): number[] {
  const { x0, y0, x1, y1 } = bounds ?? { x0: 0, y0: 0, x1: width - 1, y1: height - 1 };
  const out: number[] = [];
  for (let y = y0; y <= y1; y++) {
    const row = y * width;
    for (let x = x0; x <= x1; x++) {
      const i = row + x;
      if (bits[i] === 0) continue;
      if (x === 0 || x === width - 1 || y === 0 || y === height - 1 || bits[i - 1] === 0 || bits[i + 1] === 0 || bits[i - width] === 0 || bits[i + width] === 0) {
        out.push(i);
      }
    }
  }
  return out;
}

function setPixel(out: Uint8Array, i: number, c: Color): void {
  const p = i * 3;
  out[p] = c[0];
  out[p + 1] = c[1];
  out[p + 2] = c[2];
}

function drawBox(out: Uint8Array, width: number, height: number, box: readonly [number, number, number, number], color: Color, thickness: number, dash: readonly [number, number] | null): void {
  const b = boxPixels(box, width, height);
  if (!b) return;
  const { x0, y0, x1, y1 } = b;
  const t = Math.max(1, Math.round(thickness));
  const period = dash ? dash[0] + dash[1] : 0;
  const on = (k: number) => period === 0 || k % period < dash![0];
  const hLine = (y: number) => {
    for (let x = x0; x <= x1; x++) if (on(x - x0)) setPixel(out, y * width + x, color);
  };
  const vLine = (x: number) => {
    for (let y = y0; y <= y1; y++) if (on(y - y0)) setPixel(out, y * width + x, color);
  };
  for (let k = 0; k < t; k++) {
    if (y0 + k <= y1) hLine(y0 + k);
    if (y1 - k >= y0) hLine(y1 - k);
    if (x0 + k <= x1) vLine(x0 + k);
    if (x1 - k >= x0) vLine(x1 - k);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// text (Skia via @napi-rs/canvas, on a reusable scratch canvas)

const FONT_FAMILY = '"DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif';
let scratch: { canvas: Canvas; ctx: SKRSContext2D } | undefined;

function scratchContext(w: number, h: number): SKRSContext2D {
  if (!scratch || scratch.canvas.width < w || scratch.canvas.height < h) {
    const canvas = createCanvas(Math.max(w, scratch?.canvas.width ?? 0, 256), Math.max(h, scratch?.canvas.height ?? 0, 64));
    scratch = { canvas, ctx: canvas.getContext('2d') };
    currentFont = '';
    return scratch.ctx;
  }
  return scratch.ctx;
}

let currentFont = '';
function setFont(ctx: SKRSContext2D, fontSize: number): void {
  const font = `${fontSize}px ${FONT_FAMILY}`;
  if (font !== currentFont) {
    ctx.font = font;
    currentFont = font;
  }
}

/** Ascent and descent of the font at a size, measured on "Ag" (so every label of a size shares one baseline). */
const verticalMetrics = new Map<number, { asc: number; desc: number }>();
function fontVerticalMetrics(ctx: SKRSContext2D, fontSize: number): { asc: number; desc: number } {
  let m = verticalMetrics.get(fontSize);
  if (!m) {
    setFont(ctx, fontSize);
    const t = ctx.measureText('Ag');
    m = { asc: t.actualBoundingBoxAscent || fontSize * 0.75, desc: t.actualBoundingBoxDescent || fontSize * 0.2 };
    verticalMetrics.set(fontSize, m);
  }
  return m;
}

/** Width in pixels of `text` at `fontSize` (0 when no font is available). */
export function textWidth(text: string, fontSize: number): number {
  const ctx = scratchContext(1, 1);
  setFont(ctx, fontSize);
  return ctx.measureText(text).width;
}

/** Size of the plate for `text`: text width + 2·padX by fontSize + 2·padY (integers). */
export function plateSize(text: string, fontSize: number): { w: number; h: number } {
  const pad = Math.max(2, Math.round(fontSize / 4));
  return { w: Math.ceil(textWidth(text, fontSize)) + 2 * pad, h: fontSize + 2 * pad };
}

/**
 * Draws `text` on an opaque plate of colour `bg` whose top-left corner is (x, y) and size w × h, clipped to the
 * image. Every pixel of the visible part of the plate is written; nothing else.
 */
function drawPlate(out: Uint8Array, width: number, height: number, rect: Rect, text: string, bg: Color, fg: Color, fontSize: number, align: 'left' | 'center' = 'left'): void {
  const { x, y, w, h } = rect;
  if (w <= 0 || h <= 0) return;
  const ctx = scratchContext(w, h);
  const { asc, desc } = fontVerticalMetrics(ctx, fontSize);
  setFont(ctx, fontSize);
  ctx.fillStyle = `rgb(${bg[0]},${bg[1]},${bg[2]})`;
  ctx.fillRect(0, 0, w, h);
  // No clip needed: only the w × h corner of the scratch canvas is copied out, which cuts any overflowing glyph.
  ctx.fillStyle = `rgb(${fg[0]},${fg[1]},${fg[2]})`;
  ctx.textBaseline = 'alphabetic';
  ctx.textAlign = align;
  const pad = Math.max(2, Math.round(fontSize / 4));
  // Centre the font's ascent + descent.
  ctx.fillText(text, align === 'center' ? w / 2 : pad, Math.round((h - asc - desc) / 2 + asc));
  const px = ctx.getImageData(0, 0, w, h).data;
  const cx0 = Math.max(0, x);
  const cy0 = Math.max(0, y);
  const cx1 = Math.min(width, x + w);
  const cy1 = Math.min(height, y + h);
  for (let yy = cy0; yy < cy1; yy++) {
    for (let xx = cx0; xx < cx1; xx++) {
      const s = ((yy - y) * w + (xx - x)) * 4;
      const d = (yy * width + xx) * 3;
      // The plate is opaque: text pixels are already composited on it by Skia.
      out[d] = px[s]!;
      out[d + 1] = px[s + 1]!;
      out[d + 2] = px[s + 2]!;
    }
  }
}

/**
 * Where a label plate of size w × h goes for an anchor pixel rectangle (the box): above its top-left corner if that
 * fits, else just inside its top; then shifted into the image and clipped to it.
 */
export function placePlate(anchor: { x0: number; y0: number }, w: number, h: number, width: number, height: number): Rect {
  let x = anchor.x0;
  let y = anchor.y0 - h >= 0 ? anchor.y0 - h : anchor.y0;
  x = Math.max(0, Math.min(x, width - w));
  y = Math.max(0, Math.min(y, height - h));
  return { x, y, w: Math.min(w, width - x), h: Math.min(h, height - y) };
}

const overlaps = (a: Rect, b: Rect) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/**
 * A plate position that overlaps none of `taken`: above the box's top-left corner, inside its top, below its
 * bottom, inside its bottom (each shifted into the image); failing those, the first candidate slid down row by row;
 * and when the image is full, the first candidate (overlapping).
 */
export function placeFreePlate(
  anchor: { x0: number; y0: number },
  box: { x0: number; y0: number; x1: number; y1: number } | null,
  w: number,
  h: number,
  width: number,
  height: number,
  taken: readonly Rect[],
): Rect {
  const first = placePlate(anchor, w, h, width, height);
  const free = (r: Rect) => !taken.some((t) => overlaps(r, t));
  if (free(first)) return first;
  const candidates: Rect[] = [];
  const at = (x: number, y: number): Rect => {
    const cx = Math.max(0, Math.min(x, width - w));
    const cy = Math.max(0, Math.min(y, height - h));
    return { x: cx, y: cy, w: Math.min(w, width - cx), h: Math.min(h, height - cy) };
  };
  candidates.push(at(anchor.x0, anchor.y0));
  if (box) {
    candidates.push(at(box.x0, box.y1 + 1));
    candidates.push(at(box.x0, box.y1 + 1 - h));
  }
  for (const c of candidates) if (free(c)) return c;
  for (let y = first.y + h; y + h <= height; y += h) {
    const c = at(first.x, y);
    if (free(c)) return c;
  }
  for (let y = first.y - h; y >= 0; y -= h) {
    const c = at(first.x, y);
    if (free(c)) return c;
  }
  return first;
}

/** Greedy word wrap of `text` into lines at most `maxWidth` pixels wide at `fontSize` (a long word gets a line). */
export function wrapText(text: string, maxWidth: number, fontSize: number): string[] {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const next = line ? `${line} ${word}` : word;
    if (line && textWidth(next, fontSize) > maxWidth) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line || lines.length === 0) lines.push(line);
  return lines;
}

// ---------------------------------------------------------------------------------------------------------------
// public drawing

/**
 * Draws `instances` on a copy of `img` (the input is not modified): all mask fills in order, then all contours,
 * then all boxes, then all labels — so labels of later instances lie on top. Masks must have the image's size.
 */
export function drawInstances(img: RgbImage, instances: readonly Instance[], style: DrawStyle): DrawResult {
  checkImage(img);
  const { width, height } = img;
  const out = copyImage(img);
  const data = out.data;
  const alpha = style.fillAlpha;
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`draw: fillAlpha must be in [0, 1], got ${alpha}`);
  const masks: (DecodedMask | null)[] = instances.map((inst) => (inst.mask ? decodeMask(inst.mask, width, height) : null));
  if (alpha > 0) {
    instances.forEach((inst, k) => {
      const m = masks[k];
      if (m) fillMask(data, width, m, inst.color, alpha);
    });
  }
  if (style.contour) {
    instances.forEach((inst, k) => {
      const m = masks[k];
      if (!m) return;
      for (const i of contourPixels(m.bits, width, height, m)) setPixel(data, i, inst.color);
    });
  }
  if (style.boxWidth > 0) {
    for (const inst of instances) if (inst.box) drawBox(data, width, height, inst.box, inst.color, style.boxWidth, style.boxDash);
  }
  const plates: Rect[] = [];
  if (style.labels) {
    const fontSize = style.fontSize ?? defaultFontSize(width, height);
    instances.forEach((inst, k) => {
      if (!inst.label) return;
      let anchor: { x0: number; y0: number } | null = null;
      if (inst.box) anchor = boxPixels(inst.box, width, height);
      else if (masks[k]) anchor = masks[k];
      if (!anchor) return;
      const size = plateSize(inst.label, fontSize);
      const box = inst.box ? boxPixels(inst.box, width, height) : null;
      const rect = placeFreePlate(anchor, box, size.w, size.h, width, height, plates);
      drawPlate(data, width, height, rect, inst.label, inst.color, textColorOn(inst.color), fontSize);
      plates.push(rect);
    });
  }
  return { image: out, plates };
}

export interface SideBySideOptions {
  /** Pixels between the panels (default 4). */
  gap?: number;
  /** Caption font size (default: {@link defaultFontSize} of the larger panel). */
  fontSize?: number;
  /** Background of the gap and the caption strip (default dark grey). */
  background?: Color;
}

/**
 * `left` and `right` next to each other (top-aligned, `gap` pixels apart) above a caption strip; `captions[0]` is
 * centred under the left panel, `captions[1]` under the right one, each wrapped into as many lines as its panel's
 * width needs (the strip is as tall as the longer caption).
 */
export function sideBySide(left: RgbImage, right: RgbImage, captions: readonly [string, string], opts: SideBySideOptions = {}): RgbImage {
  checkImage(left);
  checkImage(right);
  const gap = opts.gap ?? 4;
  const bg = opts.background ?? ([38, 38, 38] as const);
  const fontSize = opts.fontSize ?? defaultFontSize(Math.max(left.width, right.width), Math.max(left.height, right.height));
  const lineH = plateSize('Ag', fontSize).h;
  const pad = Math.max(2, Math.round(fontSize / 4));
  const leftLines = wrapText(captions[0], left.width - 2 * pad, fontSize);
  const rightLines = wrapText(captions[1], right.width - 2 * pad, fontSize);
  const stripH = lineH * Math.max(leftLines.length, rightLines.length);
  const width = left.width + gap + right.width;
  const panelH = Math.max(left.height, right.height);
  const height = panelH + stripH;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) setPixel(data, i, bg);
  const blit = (src: RgbImage, dx: number) => {
    for (let y = 0; y < src.height; y++) {
      data.set(src.data.subarray(y * src.width * 3, (y + 1) * src.width * 3), (y * width + dx) * 3);
    }
  };
  blit(left, 0);
  blit(right, left.width + gap);
  const fg = textColorOn(bg);
  leftLines.forEach((line, i) => drawPlate(data, width, height, { x: 0, y: panelH + i * lineH, w: left.width, h: lineH }, line, bg, fg, fontSize, 'center'));
  rightLines.forEach((line, i) =>
    drawPlate(data, width, height, { x: left.width + gap, y: panelH + i * lineH, w: right.width, h: lineH }, line, bg, fg, fontSize, 'center'),
  );
  return { data, width, height };
}
