/**
 * Pixel tests of tools/render/draw.ts on synthetic images: the exact blended value inside a mask, nothing changed
 * outside the drawn marks, the contour on the mask border, pixel-exact boxes (solid / dashed), label plates inside
 * the image even at its edges, palette properties, side-by-side composition.
 */
import { describe, expect, it } from 'vitest';
import { encode } from '../../src/structures/rle.js';
import type { RgbImage } from '../../data/image.js';
import {
  blendValue,
  categoryColor,
  drawInstances,
  fontsAvailable,
  GT_STYLE,
  instanceColor,
  PALETTE,
  PREDICTION_STYLE,
  placeFreePlate,
  sideBySide,
  wrapText,
  textWidth,
  textColorOn,
  type Color,
  type DrawStyle,
  type Rect,
} from '../../tools/render/draw.js';

const W = 64;
const H = 48;

/** A test image whose pixels vary in every channel. */
function pattern(w = W, h = H): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 3;
      data[p] = (x * 4 + 7) & 255;
      data[p + 1] = (y * 5 + 11) & 255;
      data[p + 2] = ((x + y) * 3) & 255;
    }
  }
  return { data, width: w, height: h };
}

/** Row-major 0/1 bitmap of a disc. */
function disc(cx: number, cy: number, r: number, w = W, h = H): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) m[y * w + x] = 1;
  return m;
}

const px = (img: RgbImage, i: number) => [img.data[3 * i], img.data[3 * i + 1], img.data[3 * i + 2]];
const changed = (a: RgbImage, b: RgbImage) => {
  const out = new Set<number>();
  for (let i = 0; i < a.width * a.height; i++) {
    if (a.data[3 * i] !== b.data[3 * i] || a.data[3 * i + 1] !== b.data[3 * i + 1] || a.data[3 * i + 2] !== b.data[3 * i + 2]) out.add(i);
  }
  return out;
};
const inRect = (i: number, r: Rect, w = W) => {
  const x = i % w;
  const y = Math.floor(i / w);
  return x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
};

/** Mask pixels with a 4-neighbour outside the mask or the image (the definition, written out independently). */
function border(m: Uint8Array, w = W, h = H): Set<number> {
  const s = new Set<number>();
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= w || y >= h ? 0 : m[y * w + x]);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (m[y * w + x] && (!at(x - 1, y) || !at(x + 1, y) || !at(x, y - 1) || !at(x, y + 1))) s.add(y * w + x);
    }
  }
  return s;
}

const ONLY_FILL: DrawStyle = { fillAlpha: 0.4, contour: false, boxWidth: 0, boxDash: null, labels: false };
const RED: Color = [230, 20, 40];

describe('mask fill', () => {
  it('blends with the documented rule', () => {
    expect(blendValue(100, 200, 0.5)).toBe(150);
    expect(blendValue(0, 255, 0.3)).toBe(77); // 76.5 rounds up
    expect(blendValue(200, 0, 0.25)).toBe(150);
    expect(blendValue(17, 240, 0)).toBe(17);
    expect(blendValue(17, 240, 1)).toBe(240);
  });

  it('sets every mask pixel to the exact blended value and leaves every other pixel unchanged', () => {
    const img = pattern();
    const before = img.data.slice();
    const m = disc(30, 20, 9);
    const { image } = drawInstances(img, [{ color: RED, mask: encode(m, H, W, 'row') }], ONLY_FILL);
    expect(img.data).toEqual(before); // input untouched
    let inside = 0;
    for (let i = 0; i < W * H; i++) {
      const src = px(img, i);
      const out = px(image, i);
      if (m[i]) {
        inside++;
        for (let c = 0; c < 3; c++) expect(out[c]).toBe(Math.round(src[c]! + (RED[c]! - src[c]!) * 0.4));
      } else {
        expect(out).toEqual(src);
      }
    }
    expect(inside).toBeGreaterThan(200);
  });

  it('blends overlapping masks one after the other', () => {
    const img = pattern();
    const a = disc(20, 20, 8);
    const b = disc(26, 20, 8);
    const blue: Color = [10, 40, 220];
    const { image } = drawInstances(img, [{ color: RED, mask: encode(a, H, W, 'row') }, { color: blue, mask: encode(b, H, W, 'row') }], ONLY_FILL);
    const i = 20 * W + 23; // in both
    expect(a[i] && b[i]).toBeTruthy();
    const src = px(img, i);
    const once = src.map((v, c) => blendValue(v!, RED[c]!, 0.4));
    expect(px(image, i)).toEqual(once.map((v, c) => blendValue(v, blue[c]!, 0.4)));
  });

  it('rejects a mask of another size', () => {
    expect(() => drawInstances(pattern(), [{ color: RED, mask: encode(new Uint8Array(10 * 10), 10, 10) }], ONLY_FILL)).toThrow(/mask is 10x10/);
  });
});

describe('contour', () => {
  it('is exactly the mask pixels with a 4-neighbour outside, including pixels on the image border', () => {
    const img = pattern();
    const m = disc(4, 10, 7); // cut by the left edge of the image
    const style: DrawStyle = { fillAlpha: 0, contour: true, boxWidth: 0, boxDash: null, labels: false };
    const color: Color = [1, 2, 3];
    const { image } = drawInstances(img, [{ color, mask: encode(m, H, W, 'row') }], style);
    const expected = border(m);
    expect([...expected].some((i) => i % W === 0)).toBe(true); // some contour pixels lie on the image edge
    for (let i = 0; i < W * H; i++) {
      if (expected.has(i)) expect(px(image, i)).toEqual([...color]);
      else expect(px(image, i)).toEqual(px(img, i));
    }
  });

  it('lies on top of the fill, and the interior keeps the blended value', () => {
    const img = pattern();
    const m = disc(30, 24, 10);
    const style: DrawStyle = { fillAlpha: 0.5, contour: true, boxWidth: 0, boxDash: null, labels: false };
    const { image } = drawInstances(img, [{ color: RED, mask: encode(m, H, W, 'row') }], style);
    const edge = border(m);
    for (let i = 0; i < W * H; i++) {
      if (edge.has(i)) expect(px(image, i)).toEqual([...RED]);
      else if (m[i]) expect(px(image, i)).toEqual(px(img, i).map((v, c) => blendValue(v!, RED[c]!, 0.5)));
      else expect(px(image, i)).toEqual(px(img, i));
    }
  });
});

describe('boxes', () => {
  const outline = (x0: number, y0: number, x1: number, y1: number, t: number) => {
    const s = new Set<number>();
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) if (x < x0 + t || x > x1 - t || y < y0 + t || y > y1 - t) s.add(y * W + x);
    }
    return s;
  };

  it('draws a solid box on exactly the pixels it touches, lines going inwards', () => {
    const img = pattern();
    const style: DrawStyle = { fillAlpha: 0, contour: false, boxWidth: 2, boxDash: null, labels: false };
    const { image } = drawInstances(img, [{ color: RED, box: [10.5, 5.2, 20, 10] }], style);
    // x: floor(10.5) = 10 … ceil(30.5) − 1 = 30; y: 5 … ceil(15.2) − 1 = 15
    expect(changed(img, image)).toEqual(outline(10, 5, 30, 15, 2));
    for (const i of outline(10, 5, 30, 15, 2)) expect(px(image, i)).toEqual([...RED]);
  });

  it('clamps a box that leaves the image to the image border', () => {
    const img = pattern();
    const style: DrawStyle = { fillAlpha: 0, contour: false, boxWidth: 1, boxDash: null, labels: false };
    const { image } = drawInstances(img, [{ color: RED, box: [-5, -5, 20, 100] }, { color: RED, box: [100, 100, 5, 5] }], style);
    expect(changed(img, image)).toEqual(outline(0, 0, 14, H - 1, 1));
  });

  it('GT style dashes the box: a subset of the solid outline, with gaps', () => {
    const img = pattern();
    const solid = drawInstances(img, [{ color: RED, box: [4, 4, 50, 30] }], { ...GT_STYLE, boxDash: null, fillAlpha: 0, contour: false, labels: false }).image;
    const dashed = drawInstances(img, [{ color: RED, box: [4, 4, 50, 30] }], { ...GT_STYLE, fillAlpha: 0, contour: false, labels: false }).image;
    const s = changed(img, solid);
    const d = changed(img, dashed);
    for (const i of d) expect(s.has(i)).toBe(true);
    expect(d.size).toBeGreaterThan(s.size * 0.4);
    expect(d.size).toBeLessThan(s.size * 0.8);
  });
});

describe('labels', () => {
  const style: DrawStyle = { ...PREDICTION_STYLE, fillAlpha: 0, contour: false, boxWidth: 0 };

  it('puts the plate above the box when there is room, else inside its top', () => {
    const img = pattern(200, 120);
    const { plates } = drawInstances(img, [{ color: RED, box: [50, 60, 40, 30], label: 'cat 0.91' }, { color: RED, box: [50, 0, 40, 30], label: 'dog 0.50' }], style);
    expect(plates[0]!.y + plates[0]!.h).toBe(60);
    expect(plates[0]!.x).toBe(50);
    expect(plates[1]!.y).toBe(0);
  });

  it('keeps the plate inside the image for boxes at every edge and corner, and clips a plate wider than the image', () => {
    const img = pattern();
    const boxes: [number, number, number, number][] = [
      [W - 3, 0, 3, 3], // top-right corner
      [W - 4, H - 4, 4, 4], // bottom-right corner
      [0, H - 2, 10, 2], // bottom edge
      [-10, -10, 12, 12], // partly outside, top-left
    ];
    const instances = [
      ...boxes.map((box) => ({ color: RED, box, label: 'person 0.99' })),
      { color: RED, box: [5, 20, 10, 10] as const, label: 'a label far wider than this small image of 64 pixels' },
    ];
    const { image, plates } = drawInstances(img, instances, style);
    expect(plates).toHaveLength(instances.length);
    for (const p of plates) {
      expect(p.x).toBeGreaterThanOrEqual(0);
      expect(p.y).toBeGreaterThanOrEqual(0);
      expect(p.w).toBeGreaterThan(0);
      expect(p.h).toBeGreaterThan(0);
      expect(p.x + p.w).toBeLessThanOrEqual(W);
      expect(p.y + p.h).toBeLessThanOrEqual(H);
    }
    const wide = plates[plates.length - 1]!;
    expect(wide.x).toBe(0);
    expect(wide.w).toBe(W);
    // Only plate pixels changed (no box, fill or contour in this style); the plate's corner has the plate colour.
    for (const i of changed(img, image)) expect(plates.some((p) => inRect(i, p))).toBe(true);
    const p0 = plates[0]!;
    expect(px(image, p0.y * W + p0.x)).toEqual([...RED]);
  });

  it.runIf(fontsAvailable())('writes legible text on the plate (text colour contrasts with the plate)', () => {
    const img = pattern(200, 120);
    const { image, plates } = drawInstances(img, [{ color: RED, box: [50, 60, 40, 30], label: 'cat 0.91' }], style);
    const fg = textColorOn(RED);
    expect(fg).toEqual([255, 255, 255]);
    const p = plates[0]!;
    let text = 0;
    // The plate is RED (green 20); text pixels are white, or anti-aliased towards white.
    for (let y = p.y; y < p.y + p.h; y++) for (let x = p.x; x < p.x + p.w; x++) if (px(image, y * 200 + x)[1]! > 140) text++;
    expect(text).toBeGreaterThan(20);
    // Vertically centred: the text rows sit in the middle of the plate, not against an edge.
    const rows = new Set<number>();
    for (let y = p.y; y < p.y + p.h; y++) for (let x = p.x; x < p.x + p.w; x++) if (px(image, y * 200 + x)[1]! > 140) rows.add(y);
    expect(Math.min(...rows) - p.y).toBeGreaterThanOrEqual(1);
    expect(p.y + p.h - 1 - Math.max(...rows)).toBeGreaterThanOrEqual(1);
  });
});

describe('the prediction style as a whole', () => {
  it('changes only mask, box and plate pixels; mask interior away from marks has the exact blend', () => {
    const img = pattern();
    const m = disc(32, 28, 10);
    const box = [22, 18, 21, 21] as const;
    const { image, plates } = drawInstances(img, [{ color: RED, mask: encode(m, H, W, 'row'), box, label: 'cat 0.77' }], PREDICTION_STYLE);
    const edge = border(m);
    const boxPx = (i: number) => {
      const x = i % W;
      const y = Math.floor(i / W);
      return x >= 22 && x <= 42 && y >= 18 && y <= 38 && (x <= 23 || x >= 41 || y <= 19 || y >= 37);
    };
    let interior = 0;
    for (let i = 0; i < W * H; i++) {
      const marked = boxPx(i) || plates.some((p) => inRect(i, p));
      if (!m[i] && !marked) expect(px(image, i)).toEqual(px(img, i));
      if (m[i] && !edge.has(i) && !marked) {
        interior++;
        expect(px(image, i)).toEqual(px(img, i).map((v, c) => blendValue(v!, RED[c]!, PREDICTION_STYLE.fillAlpha)));
      }
    }
    expect(interior).toBeGreaterThan(150);
  });
});

describe('colours', () => {
  it('has distinguishable palette entries and stable per-category colours', () => {
    expect(new Set(PALETTE.map((c) => c.join(','))).size).toBe(PALETTE.length);
    let minDist = Infinity;
    for (let i = 0; i < PALETTE.length; i++) {
      for (let j = i + 1; j < PALETTE.length; j++) {
        const d = Math.hypot(PALETTE[i]![0] - PALETTE[j]![0], PALETTE[i]![1] - PALETTE[j]![1], PALETTE[i]![2] - PALETTE[j]![2]);
        minDist = Math.min(minDist, d);
      }
    }
    expect(minDist).toBeGreaterThan(70);
    expect(categoryColor(17)).toBe(categoryColor(17));
    const used = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((id) => PALETTE.indexOf(categoryColor(id))));
    expect(used.size).toBe(10); // ids 1…12 take the palette in order: no two classes of a small dataset alike
    for (let id = 1; id < 40; id++) {
      const [a, b] = [categoryColor(id), categoryColor(id + 1)];
      expect(Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]), `ids ${id}, ${id + 1}`).toBeGreaterThan(70);
    }
    for (let k = 0; k < 30; k++) expect(instanceColor(k)).not.toEqual(instanceColor(k + 1));
  });
});

describe('side by side', () => {
  it('puts the panels next to each other above a caption strip', () => {
    const left = pattern(40, 30);
    const right = pattern(50, 20);
    const out = sideBySide(left, right, ['ground truth: 2', 'AP 0.500'], { gap: 4, fontSize: 10 });
    expect(out.width).toBe(94);
    expect(out.height).toBeGreaterThan(30);
    for (let y = 0; y < 30; y++) {
      for (let x = 0; x < 40; x++) expect(px(out, y * 94 + x)).toEqual(px(left, y * 40 + x));
    }
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 50; x++) expect(px(out, y * 94 + 44 + x)).toEqual(px(right, y * 50 + x));
    }
    expect(px(out, 10 * 94 + 41)).toEqual([38, 38, 38]); // the gap
    expect(px(out, (out.height - 1) * 94)).toEqual([38, 38, 38]); // the strip
  });
});

describe('legible on small images', () => {
  it('label plates of boxes at the same place do not overlap while the image has room', () => {
    const taken: { x: number; y: number; w: number; h: number }[] = [];
    const box = { x0: 40, y0: 40, x1: 70, y1: 70 };
    for (let i = 0; i < 6; i++) taken.push(placeFreePlate(box, box, 50, 13, 128, 128, taken));
    for (let i = 0; i < taken.length; i++) {
      const a = taken[i]!;
      expect(a.x >= 0 && a.y >= 0 && a.x + a.w <= 128 && a.y + a.h <= 128).toBe(true);
      for (let j = 0; j < i; j++) {
        const b = taken[j]!;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `plates ${j} and ${i}`).toBe(false);
      }
    }
    // the first one goes where it always did: above the box's top-left corner
    expect(taken[0]).toEqual({ x: 40, y: 27, w: 50, h: 13 });
  });

  it.runIf(fontsAvailable())('captions wrap to the panel width; the strip grows instead of cutting them', () => {
    const caption = '5 detections ≥ 0.3 · segm AP 1.000 · occlusion r 0.50';
    const lines = wrapText(caption, 124, 9); // the panel width less the plate padding (2 × 2 px at 9 px)
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.join(' ')).toBe(caption);
    for (const l of lines) expect(textWidth(l, 9)).toBeLessThanOrEqual(124);
    const panel: RgbImage = { width: 128, height: 128, data: new Uint8Array(128 * 128 * 3) };
    const one = sideBySide(panel, panel, ['gt', 'pred'], { fontSize: 9 });
    const two = sideBySide(panel, panel, ['ground truth: 5 instances', caption], { fontSize: 9 });
    expect(two.height - 128).toBe((one.height - 128) * lines.length);
  });
});
