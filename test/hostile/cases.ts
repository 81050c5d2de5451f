/**
 * The hostile-input cases (issue 22), generated — not committed as bulk data: `buildCases(dir)` writes a small set
 * of valid inputs into `dir` (a COCO ground truth, results, two images, a training log, a generated synthetic
 * dataset) and derives from them, family by family, the inputs a careless or unlucky user gives tiedet: every
 * record field of a COCO file with each wrong type or absurd magnitude, broken JSON of every kind, files that are
 * folders, devices or missing, every single-valued option given twice or empty, outputs that would overwrite
 * inputs, destructive `--overwrite`s, out-of-range numbers, huge but valid logs.
 *
 * Each case says what must happen: the exit code and a pattern the last stderr line must match (file, record and
 * field for data errors; the option for usage errors). test/hostile/hostile.test.ts runs them and also checks, for
 * every case, that no stack trace or internal error text is printed, that no input file changed (hashes), that it
 * finishes in time and that memory stays bounded.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

export interface HostileCase {
  /** Family / what is wrong. */
  name: string;
  argv: string[];
  /** 0, or the non-zero code expected (2 = usage error, 1 = bad input / refused). */
  code: number;
  /** What the last line of stderr must match (for code ≠ 0) or what stdout/stderr must contain (for code 0). */
  expect?: RegExp;
  /** Files and folders whose contents must be unchanged afterwards (the inputs are always added). */
  keep?: string[];
  /** Wall-time limit, ms (default 10 s). */
  timeoutMs?: number;
  /** Prepares the case (runs right before it, after the cases before it). */
  setup?: () => void;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Bare JSON tokens that JSON.stringify cannot write: Python's NaN / Infinity. */
const NAN = '@@NaN@@';
const INF = '@@Infinity@@';
const stringifyLoose = (v: unknown) => JSON.stringify(v).replaceAll(`"${NAN}"`, 'NaN').replaceAll(`"${INF}"`, 'Infinity');
const MISSING = Symbol('missing');
type Val = unknown | typeof MISSING;

const valueName = (v: Val): string =>
  v === MISSING ? 'missing' : v === NAN ? 'NaN' : v === INF ? 'Infinity' : JSON.stringify(v).slice(0, 24);

function gtObject() {
  return {
    images: [
      { id: 1, width: 64, height: 48, file_name: 'a.png' },
      { id: 2, width: 32, height: 32, file_name: 'b.png' },
    ],
    categories: [
      { id: 1, name: 'circle' },
      { id: 2, name: 'square' },
    ],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, bbox: [4, 4, 20, 16], area: 320, iscrowd: 0, segmentation: [[4, 4, 24, 4, 24, 20, 4, 20]] },
      { id: 2, image_id: 1, category_id: 2, bbox: [30, 10, 20, 20], area: 400, iscrowd: 0, segmentation: [[30, 10, 50, 10, 50, 30, 30, 30]] },
      { id: 3, image_id: 2, category_id: 1, bbox: [2, 2, 10, 10], area: 100, iscrowd: 0, segmentation: [[2, 2, 12, 2, 12, 12, 2, 12]] },
    ],
  };
}

function resultsArray() {
  return [
    { image_id: 1, category_id: 1, bbox: [5, 5, 19, 15], score: 0.9 },
    { image_id: 1, category_id: 2, bbox: [31, 11, 18, 18], score: 0.8 },
    { image_id: 2, category_id: 1, bbox: [2, 3, 10, 9], score: 0.7 },
  ];
}

/** A PNG of w×h (solid grey), written without tiedet's own code. */
function png(w: number, h: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const raw = Buffer.alloc((w * 3 + 1) * h, 128);
  for (let y = 0; y < h; y++) raw[y * (w * 3 + 1)] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Sets obj[path] (path like ['annotations', 0, 'bbox']) to v, or deletes it for MISSING. */
function mutate<T>(obj: T, path: (string | number)[], v: Val): T {
  const copy = structuredClone(obj) as Record<string | number, unknown>;
  let o = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (v === MISSING) delete o[last];
  else o[last] = v;
  return copy as T;
}

export interface CaseSet {
  cases: HostileCase[];
  /** Files that every case must leave as they were. */
  inputs: string[];
}

export function buildCases(dir: string): CaseSet {
  const p = (...xs: string[]) => join(dir, ...xs);
  mkdirSync(p('images'), { recursive: true });
  mkdirSync(p('gen'), { recursive: true });
  writeFileSync(p('images', 'a.png'), png(64, 48));
  writeFileSync(p('images', 'b.png'), png(32, 32));
  const gt = p('gt.json');
  const res = p('res.json');
  writeFileSync(gt, JSON.stringify(gtObject()));
  writeFileSync(res, JSON.stringify(resultsArray()));
  const log = p('log.jsonl');
  writeFileSync(
    log,
    Array.from({ length: 20 }, (_, i) => JSON.stringify({ mode: 'train', iter: i + 1, loss: 2 / (i + 1), time: 0.1, data_time: 0.01 })).join('\n') + '\n',
  );
  symlinkSync('/dev/zero', p('zero.json'));
  symlinkSync('/dev/zero', p('images', 'zero.png'));
  symlinkSync(gt, p('gt-link.json'));
  const inputs = [gt, res, log, p('images', 'a.png'), p('images', 'b.png')];
  const cases: HostileCase[] = [];
  const add = (c: HostileCase) => cases.push(c);
  let fileNo = 0;
  const write = (text: string | Buffer, ext = 'json') => {
    const f = p('gen', `f${String(++fileNo).padStart(4, '0')}.${ext}`);
    writeFileSync(f, text);
    inputs.push(f);
    return f;
  };

  // ---- 1. COCO ground truth: every record field with each wrong type or absurd magnitude (eval --iou bbox) ----
  const gtFieldCases: [string, (string | number)[], Val[], string][] = [
    ['images[0]', ['images', 0, 'id'], [MISSING, null, '1', true, [], {}, NAN], 'id'],
    ['images[0]', ['images', 0, 'width'], [MISSING, 0, -5, 1.5, '64', null, NAN, INF, 1e9, 2 ** 40], 'width'],
    ['images[0]', ['images', 0, 'height'], [MISSING, 0, -1, 2.5, '48', null, INF, 1e12], 'height'],
    ['categories[0]', ['categories', 0, 'id'], [MISSING, null, '1', [], NAN], 'id'],
    ['categories[0]', ['categories', 0, 'name'], [MISSING, 5, null, []], 'name'],
    ['annotations[0]', ['annotations', 0, 'id'], [MISSING, 'x', null, INF], 'id'],
    ['annotations[0]', ['annotations', 0, 'image_id'], [MISSING, 999, '1', null], 'image_id'],
    ['annotations[0]', ['annotations', 0, 'category_id'], [MISSING, '1', null, NAN], 'category_id'],
    [
      'annotations[0]',
      ['annotations', 0, 'bbox'],
      [MISSING, [1, 2, 3], [1, 2, -3, 4], [1, '2', 3, 4], [1e200, 0, 1, 1], [0, 0, 1e200, 1], [0, -1e15, 1, 1], [NAN, 0, 1, 1], [0, INF, 1, 1], 'box', {}, null],
      'bbox',
    ],
    ['annotations[0]', ['annotations', 0, 'area'], [MISSING, -1, '5', null, NAN], 'area'],
    ['annotations[0]', ['annotations', 0, 'iscrowd'], [2, 'yes', -1, 0.5, null, [1]], 'iscrowd'],
  ];
  for (const [rec, path, values, field] of gtFieldCases) {
    for (const v of values) {
      const f = write(stringifyLoose(mutate(gtObject(), path, v)));
      add({
        name: `gt ${rec}.${field} = ${valueName(v)}`,
        argv: ['eval', '--gt', f, '--results', res, '--iou', 'bbox'],
        code: 1,
        expect: new RegExp(`^tiedet: ${esc(f)}: ${esc(rec)}[^:]*\\.${field}: `),
      });
    }
  }
  // top-level structure
  for (const [what, obj] of [
    ['no images key', { categories: [], annotations: [] }],
    ['images not an array', { images: {}, categories: [], annotations: [] }],
    ['categories a string', { images: [], categories: 'x', annotations: [] }],
    ['annotations a number', { images: [], categories: [], annotations: 3 }],
    ['a results list given as GT', resultsArray()],
    ['null', null],
  ] as const) {
    const f = write(JSON.stringify(obj));
    add({ name: `gt structure: ${what}`, argv: ['eval', '--gt', f, '--results', res, '--iou', 'bbox'], code: 1, expect: new RegExp(`^tiedet: ${esc(f)}: `) });
  }
  // empty GT: evaluates (every figure -1) with a warning, and the note lands in --json
  for (const [what, obj] of [
    ['no images', { images: [], categories: [{ id: 1, name: 'a' }], annotations: [] }],
    ['no categories', { images: [{ id: 1, width: 10, height: 10 }], categories: [], annotations: [] }],
  ] as const) {
    const f = write(JSON.stringify(obj));
    add({
      name: `gt empty: ${what} → warning`,
      argv: ['eval', '--gt', f, '--results', write('[]'), '--iou', 'bbox', '--json', p('out', `empty-${what.replace(' ', '-')}.json`)],
      code: 0,
      expect: new RegExp(`warning: ${esc(f)} has ${what}`),
    });
  }

  // ---- 2. results records ----
  const resFieldCases: [(string | number)[], Val[], string][] = [
    [[0, 'image_id'], [MISSING, 999, '1', null], 'image_id'],
    [[0, 'category_id'], [MISSING, '1', null, 77], 'category_id'],
    [[0, 'score'], [MISSING, '0.5', NAN, INF, null, []], 'score'],
    [[0, 'bbox'], [[1, 2, 3], [1, 2, -3, 4], [1e200, 0, 1, 1], [0, 0, INF, 1], [0, 0, 1, 1e300], 'x'], 'bbox'],
    [[1, 'bbox'], [MISSING, null], 'bbox'],
  ];
  for (const [path, values, field] of resFieldCases) {
    for (const v of values) {
      const f = write(stringifyLoose(mutate(resultsArray(), path, v)));
      // a first record without bbox has neither bbox nor segmentation: pycocotools picks the type from it
      const fld = path[0] === 0 && field === 'bbox' && v === MISSING ? '' : `\\.${field}`;
      add({
        name: `results[${path[0]}].${field} = ${valueName(v)}`,
        argv: ['eval', '--gt', gt, '--results', f, '--iou', 'bbox'],
        code: 1,
        expect: new RegExp(`^tiedet: ${esc(f)}: results\\[${path[0]}\\][^:]*${fld}: `),
      });
    }
  }
  for (const [what, v] of [
    ['an object', { annotations: [] }],
    ['a record that is a number', [resultsArray()[0], 5]],
    ['a string', 'dets'],
  ] as const) {
    const f = write(JSON.stringify(v));
    add({ name: `results structure: ${what}`, argv: ['eval', '--gt', gt, '--results', f, '--iou', 'bbox'], code: 1, expect: new RegExp(`^tiedet: ${esc(f)}: `) });
  }
  // segm evaluation of boxes-only results: evaluates, with a warning
  add({
    name: 'segm evaluation of a boxes-only results file → warning',
    argv: ['eval', '--gt', gt, '--results', res, '--iou', 'segm', '--json', p('out', 'segm-on-boxes.json')],
    code: 0,
    expect: /holds boxes only/,
  });

  // ---- 3. broken JSON, for the GT and for the results ----
  const good = JSON.stringify(gtObject(), null, 1);
  const broken: [string, string | Buffer, RegExp][] = [
    ['truncated early', good.slice(0, 40), /invalid JSON \(line \d+, column \d+\): unterminated string/],
    ['truncated late', good.slice(0, good.length - 3), /invalid JSON \(line \d+, column \d+\): unexpected end of input/],
    ['trailing comma', '{"images": [1,], "categories": []}', /invalid JSON \(line 1, column 15\): expected a value, got '\]' \(a trailing comma/],
    ['UTF-8 BOM', `\ufeff${good}`, /byte-order mark \(BOM\)/],
    ['empty file', '', /the file is empty/],
    ['whitespace only', '  \n\n ', /the file is empty/],
    ['single quotes', "{'images': []}", /invalid JSON \(line 1, column 2\): expected a property name/],
    ['unquoted key', '{images: []}', /invalid JSON \(line 1, column 2\)/],
    ['comment', '// gt\n{"images": []}', /invalid JSON \(line 1, column 1\)/],
    ['binary garbage', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 255, 254]), /invalid JSON \(line 1, column 1\)/],
    ['deep nesting', '['.repeat(200_000), /invalid JSON \(line 1, column 200001\): unexpected end of input/],
    ['second value after the first', '{"images": []} {"x": 1}', /invalid JSON \(line 1, column 16\): unexpected '\{' after the end/],
    ['control character in a string', '{"images": [], "categories": [{"id": 1, "name": "a\u0001b"}]}', /invalid JSON \(line 1, column \d+\): control character U\+0001/],
    ['bad escape', '{"a": "x\\qy"}', /invalid JSON \(line 1, column 10\): bad escape/],
    ['missing colon on line 3', '{\n "images": [],\n "categories" []\n}', /invalid JSON \(line 3, column 15\): expected ':'/],
  ];
  for (const [what, text, re] of broken) {
    const f = write(text);
    add({ name: `GT JSON: ${what}`, argv: ['eval', '--gt', f, '--results', res, '--iou', 'bbox'], code: 1, expect: new RegExp(`^tiedet: ${esc(f)}: .*${re.source}`) });
    const r = write(text);
    add({ name: `results JSON: ${what}`, argv: ['eval', '--gt', gt, '--results', r, '--iou', 'bbox'], code: 1, expect: new RegExp(`^tiedet: ${esc(r)}: .*${re.source}`) });
  }

  // ---- 4. files that are missing, folders, devices ----
  const badFiles: [string, string, RegExp][] = [
    ['missing', p('nope.json'), /not found/],
    ['a folder', p('images'), /is a folder/],
    ['a symlink to /dev/zero', p('zero.json'), /not a regular file/],
    ['/dev/null', '/dev/null', /not a regular file/],
  ];
  for (const [what, f, re] of badFiles) {
    const mention = new RegExp(`^tiedet: ${esc(f)}: .*${re.source}`);
    add({ name: `eval --gt ${what}`, argv: ['eval', '--gt', f, '--results', res, '--iou', 'bbox'], code: 1, expect: mention });
    add({ name: `eval --results ${what}`, argv: ['eval', '--gt', gt, '--results', f, '--iou', 'bbox'], code: 1, expect: mention });
    add({ name: `occlusion-stats --gt ${what}`, argv: ['occlusion-stats', '--gt', f], code: 1, expect: mention });
    add({
      name: `occlusion-report --gt ${what}`,
      argv: ['occlusion-report', '--gt', f, '--results', `A=${res}`, '--iou', 'bbox', '--out', p('out', 'occ-bad'), '--quiet'],
      code: 1,
      expect: mention,
    });
    add({ name: `browse-dataset --gt ${what}`, argv: ['browse-dataset', '--gt', f, '--images', p('images'), '--out', p('out', 'browse-bad')], code: 1, expect: mention });
    add({ name: `analyze-logs on ${what}`, argv: ['analyze-logs', f], code: 1, expect: mention });
  }
  add({
    name: 'render: an image that is a symlink to /dev/zero',
    argv: ['render', '--gt', write(JSON.stringify({ ...gtObject(), images: [{ id: 1, width: 64, height: 48, file_name: 'zero.png' }], annotations: [] })),
      '--results', write('[]'), '--images', p('images'), '--out', p('out', 'render-zero')],
    code: 1,
    expect: /zero\.png: is not a regular file/,
  });

  // ---- 5. every single-valued option given twice, or given an empty value ----
  const commands: [string, string[], [string, string, string][]][] = [
    ['eval', ['--gt', gt, '--results', res, '--iou', 'bbox'], [['gt', gt, gt], ['results', res, res], ['iou', 'bbox', 'segm'], ['max-dets', '1,10,100', '1,10,100'], ['json', p('out', 'x.json'), p('out', 'y.json')], ['img-ids', '1', '2']]],
    ['occlusion-stats', ['--gt', gt], [['gt', gt, gt], ['bins', '10', '5'], ['json', p('out', 'a.json'), p('out', 'b.json')], ['definition', 'box', 'mask']]],
    ['occlusion-report', ['--gt', gt, '--results', `A=${res}`, '--iou', 'bbox', '--out', p('out', 'occ')], [['gt', gt, gt], ['iou', 'bbox', 'segm'], ['out', p('out', 'o1'), p('out', 'o2')], ['bins', '10', '4'], ['bootstrap', '10', '20'], ['seed', '1', '2'], ['confidence', '0.9', '0.95'], ['definition', 'box', 'box']]],
    ['render', ['--gt', gt, '--results', res, '--images', p('images'), '--out', p('out', 'r')], [['gt', gt, gt], ['results', res, res], ['images', p('images'), p('images')], ['out', p('out', 'r1'), p('out', 'r2')], ['score-thr', '0.5', '0.3'], ['format', 'png', 'jpeg']]],
    ['browse-dataset', ['--gt', gt, '--images', p('images'), '--out', p('out', 'b')], [['gt', gt, gt], ['images', p('images'), p('images')], ['out', p('out', 'b1'), p('out', 'b2')], ['max-images', '1', '2']]],
    ['make-synthetic', ['--out', p('out', 'syn-x')], [['out', p('out', 's1'), p('out', 's2')], ['preset', 'tiny', 'small'], ['images', '10', '20'], ['size', '32', '64'], ['seed', '1', '2']]],
    ['analyze-logs', [log], [['keys', 'loss', 'time'], ['out', p('out', 'l1.svg'), p('out', 'l2.svg')], ['legend', 'a', 'b'], ['max-points', '10', '20']]],
    ['params', [], [['input', '64x64', '32x32'], ['presets', 'resnet18', 'resnet50']]],
    ['train', ['configs/retinanet_tiedresnet_synthetic_tiny.ts'], [['work-dir', p('out', 'w1'), p('out', 'w2')], ['seed', '1', '2'], ['max-iters', '1', '2']]],
    ['test', ['configs/retinanet_tiedresnet_synthetic_tiny.ts', p('nope.ckpt'), '--out', p('out', 't0.json')], [['out', p('out', 't1.json'), p('out', 't2.json')], ['eval', 'bbox', 'segm'], ['score-thr', '0.3', '0.5']]],
  ];
  for (const [cmd, base, opts] of commands) {
    for (const [opt, v1, v2] of opts) {
      const rest = withoutOption(base, opt);
      add({
        name: `${cmd} --${opt} twice`,
        argv: [cmd, ...rest, `--${opt}`, v1, `--${opt}`, v2],
        code: 2,
        expect: new RegExp(`^tiedet: --${esc(opt)} was given 2 times`),
      });
    }
  }
  const stringOptions: [string, string[], string[]][] = [
    ['eval', ['--gt', gt, '--results', res, '--iou', 'bbox'], ['gt', 'results', 'json', 'max-dets', 'img-ids']],
    ['occlusion-stats', ['--gt', gt], ['gt', 'json']],
    ['occlusion-report', ['--gt', gt, '--results', `A=${res}`, '--iou', 'bbox', '--out', p('out', 'occ')], ['gt', 'out', 'results']],
    ['render', ['--gt', gt, '--results', res, '--images', p('images'), '--out', p('out', 'r')], ['gt', 'results', 'images', 'out', 'img-ids']],
    ['browse-dataset', ['--gt', gt, '--images', p('images'), '--out', p('out', 'b')], ['gt', 'images', 'out']],
    ['make-synthetic', ['--out', p('out', 'syn-y')], ['out']],
    ['analyze-logs', [log], ['keys', 'out', 'legend', 'title']],
    ['params', [], ['input', 'presets']],
    ['train', ['configs/retinanet_tiedresnet_synthetic_tiny.ts'], ['work-dir']],
    ['test', ['configs/retinanet_tiedresnet_synthetic_tiny.ts', p('nope.ckpt'), '--out', p('out', 't.json')], ['out', 'eval', 'render', 'occlusion-report']],
  ];
  for (const [cmd, base, opts] of stringOptions) {
    for (const opt of opts) {
      add({
        name: `${cmd} --${opt} ''`,
        argv: [cmd, ...withoutOption(base, opt), `--${opt}`, ''],
        code: 2,
        expect: new RegExp(`^tiedet: --${esc(opt)}: empty value`),
      });
    }
  }

  // ---- 6. outputs that would overwrite inputs ----
  const refuse = (what: string, argv: string[], re: RegExp) => add({ name: `no clobber: ${what}`, argv, code: 1, expect: re });
  refuse('eval --json = --gt', ['eval', '--gt', gt, '--results', res, '--iou', 'bbox', '--json', gt], /--json .*: that is the input file given with --gt/);
  refuse('eval --json = --results', ['eval', '--gt', gt, '--results', res, '--iou', 'bbox', '--json', res], /that is the input file given with --results/);
  refuse('eval --json = a symlink to --gt', ['eval', '--gt', gt, '--results', res, '--iou', 'bbox', '--json', p('gt-link.json')], /given with --gt/);
  refuse('eval --json = --gt spelled with ./..', ['eval', '--gt', gt, '--results', res, '--iou', 'bbox', '--json', p('images', '..', 'gt.json')], /given with --gt/);
  refuse('occlusion-stats --json = --gt', ['occlusion-stats', '--gt', gt, '--json', gt], /given with --gt/);
  const occGt = p('occdir', 'report.json');
  mkdirSync(p('occdir'), { recursive: true });
  writeFileSync(occGt, JSON.stringify(gtObject()));
  inputs.push(occGt);
  refuse('occlusion-report --out holds --gt as report.json', ['occlusion-report', '--gt', occGt, '--results', `A=${res}`, '--iou', 'bbox', '--out', p('occdir'), '--quiet'], /given with --gt/);
  mkdirSync(p('csvdir'), { recursive: true });
  writeFileSync(p('csvdir', 'bins.csv'), '[]');
  inputs.push(p('csvdir', 'bins.csv'));
  refuse('occlusion-report --out holds a results file as bins.csv', ['occlusion-report', '--gt', gt, '--results', `A=${p('csvdir', 'bins.csv')}`, '--iou', 'bbox', '--out', p('csvdir'), '--quiet'], /bins\.csv: that is the input file given with --results A=/);
  refuse('analyze-logs --out = the log', ['analyze-logs', log, '--out', log], /given with the log/);
  refuse('render --out = --images', ['render', '--gt', gt, '--results', res, '--images', p('images'), '--out', p('images')], /folder given with --images/);
  refuse('browse-dataset --out = --images', ['browse-dataset', '--gt', gt, '--images', p('images'), '--out', p('images')], /folder given with --images/);
  const idxGt = p('idx', 'index.html');
  mkdirSync(p('idx'), { recursive: true });
  writeFileSync(idxGt, JSON.stringify(gtObject()));
  inputs.push(idxGt);
  refuse('browse-dataset --out holds --gt as index.html', ['browse-dataset', '--gt', idxGt, '--images', p('images'), '--out', p('idx')], /given with --gt/);
  refuse('render --out holds --results as index.html', ['render', '--gt', gt, '--results', idxGt, '--images', p('images'), '--out', p('idx')], /given with --results/);

  // ---- 7. make-synthetic: never deletes what it did not write ----
  const userDir = p('user');
  mkdirSync(p('user', 'train'), { recursive: true });
  writeFileSync(p('user', 'README.md'), '# my notes\n');
  writeFileSync(p('user', 'train', 'photo.png'), png(8, 8));
  inputs.push(p('user', 'README.md'), p('user', 'train', 'photo.png'));
  const syn = ['make-synthetic', '--images', '10', '--size', '32', '--quiet'];
  add({ name: 'make-synthetic --overwrite on a folder with a user README.md and train/', argv: [...syn, '--out', userDir, '--overwrite'], code: 1, expect: /not written by make-synthetic/ });
  add({ name: 'make-synthetic on a folder with a user README.md (no --overwrite)', argv: [...syn, '--out', userDir], code: 1, expect: /not written by make-synthetic/ });
  add({ name: "make-synthetic --out . (the current folder)", argv: [...syn, '--out', '.', '--overwrite'], code: 1, expect: /is the current folder/ });
  add({ name: 'make-synthetic --out .. (a parent)', argv: [...syn, '--out', '..', '--overwrite'], code: 1, expect: /is a parent of the current folder/ });
  add({ name: 'make-synthetic --out /', argv: [...syn, '--out', '/', '--overwrite'], code: 1, expect: /is (a parent of the current folder|the root folder)/ });
  add({ name: 'make-synthetic --out $HOME', argv: [...syn, '--out', process.env.HOME ?? '/root', '--overwrite'], code: 1, expect: /is (the home folder|a parent of the current folder)/ });
  add({ name: 'make-synthetic --out a file', argv: [...syn, '--out', gt], code: 1, expect: /exists and is not a folder/ });
  // a dataset make-synthetic wrote, plus one foreign file: --overwrite is refused and lists it
  const own = p('own');
  add({ name: 'make-synthetic writes a small dataset', argv: [...syn, '--out', own], code: 0, expect: /wrote the tiny synthetic dataset/ });
  add({ name: 'make-synthetic again without --overwrite is refused', argv: [...syn, '--out', own], code: 1, expect: /already holds a dataset \(written by make-synthetic\); pass --overwrite/ });
  add({ name: 'make-synthetic --overwrite of its own dataset works', argv: [...syn, '--out', own, '--overwrite', '--seed', '3'], code: 0, expect: /wrote the tiny synthetic dataset/ });
  const ownForeign = p('own', 'train', 'mine.txt');
  add({
    name: 'make-synthetic --overwrite with a foreign file inside is refused',
    argv: [...syn, '--out', own, '--overwrite'],
    code: 1,
    expect: /1 file\(s\) make-synthetic did not write \(train\/mine\.txt\)/,
    keep: [ownForeign],
    setup: () => writeFileSync(ownForeign, 'my file\n'),
  });
  for (const [opt, v, re] of [
    ['images', '-5', /--images/],
    ['images', '0', /--images/],
    ['images', '1.5', /--images/],
    ['images', '1e12', /--images/],
    ['size', '0', /--size/],
    ['size', '-32', /--size/],
    ['size', '1e9', /--size/],
    ['seed', '-1', /--seed/],
    ['seed', '1.5', /--seed/],
    ['seed', '1099511627776', /--seed/],
    ['preset', 'huge', /--preset|Invalid values.*preset/],
  ] as const) {
    add({ name: `make-synthetic --${opt} ${v}`, argv: ['make-synthetic', '--out', p('out', `syn-${opt}-${v}`), `--${opt}`, v, '--quiet'], code: 2, expect: re });
  }

  // ---- 8. numbers out of range (negative values are values, not flags) ----
  const occ = ['occlusion-report', '--gt', gt, '--results', `A=${res}`, '--iou', 'bbox', '--out', p('out', 'occ-n'), '--quiet'];
  const num: [string, string[], RegExp][] = [
    ['occlusion-report --bootstrap 1000000000', [...occ, '--bootstrap', '1000000000'], /^tiedet: --bootstrap: expected an integer from 0/],
    ['occlusion-report --bootstrap -1', [...occ, '--bootstrap', '-1'], /^tiedet: --bootstrap: /],
    ['occlusion-report --bootstrap 1.5', [...occ, '--bootstrap', '1.5'], /^tiedet: --bootstrap: /],
    ['occlusion-report --bins 0', [...occ, '--bins', '0'], /^tiedet: --bins: /],
    ['occlusion-report --bins -3', [...occ, '--bins', '-3'], /^tiedet: --bins: /],
    ['occlusion-report --bins 1000000000', [...occ, '--bins', '1000000000'], /^tiedet: --bins: /],
    ['occlusion-report --confidence 1', [...occ, '--confidence', '1'], /^tiedet: --confidence: /],
    ['occlusion-report --confidence -0.5', [...occ, '--confidence', '-0.5'], /^tiedet: --confidence: /],
    ['occlusion-report --seed 1.5', [...occ, '--seed', '1.5'], /^tiedet: --seed: /],
    ['occlusion-report --results without =', ['occlusion-report', '--gt', gt, '--results', res, '--iou', 'bbox', '--out', p('out', 'o')], /^tiedet: --results '.*': expected NAME=FILE/],
    ['occlusion-report duplicate model names', ['occlusion-report', '--gt', gt, '--results', `A=${res}`, '--results', `A=${res}`, '--iou', 'bbox', '--out', p('out', 'o')], /duplicate model name 'A'/],
    ['occlusion-stats --bins 1e9', ['occlusion-stats', '--gt', gt, '--bins', '1e9'], /^tiedet: --bins: /],
    ['eval --max-dets -1,10,100', ['eval', '--gt', gt, '--results', res, '--iou', 'bbox', '--max-dets', '-1,10,100'], /^tiedet: --max-dets: '-1' is not a non-negative integer/],
    ['eval --max-dets 1,10', ['eval', '--gt', gt, '--results', res, '--iou', 'bbox', '--max-dets', '1,10'], /^tiedet: --max-dets: give at least 3 values/],
    ['eval --max-dets a,b,c', ['eval', '--gt', gt, '--results', res, '--iou', 'bbox', '--max-dets', 'a,b,c'], /^tiedet: --max-dets: 'a' is not/],
    ['eval --img-ids 1,x', ['eval', '--gt', gt, '--results', res, '--iou', 'bbox', '--img-ids', '1,x'], /^tiedet: --img-ids: 'x' is not/],
    ['eval --img-ids 999', ['eval', '--gt', gt, '--results', res, '--iou', 'bbox', '--img-ids', '999'], /^tiedet: --img-ids: image 999 is not in/],
    ['eval --img-ids -4', ['eval', '--gt', gt, '--results', res, '--iou', 'bbox', '--img-ids', '-4'], /^tiedet: --img-ids: image -4 is not in/],
    ['eval --iou keypoints', ['eval', '--gt', gt, '--results', res, '--iou', 'keypoints'], /Invalid values: .*iou.*keypoints.*Choices: "bbox", "segm"/],
    ['eval --use-cats 2', ['eval', '--gt', gt, '--results', res, '--iou', 'bbox', '--use-cats', '2'], /Invalid values: .*use-cats/],
    ['eval unknown option', ['eval', '--gt', gt, '--results', res, '--iou', 'bbox', '--bogus', '1'], /^tiedet: unknown argument --bogus — `tiedet eval --help` lists the options/],
    ['eval near-miss option', ['eval', '--gt', gt, '--results', res, '--iou', 'bbox', '--per-clas'], /unknown argument --per-clas \(did you mean --per-class\?\)/],
    ['train --max-iter (near miss)', ['train', 'x', '--max-iter', '5'], /unknown argument --max-iter \(did you mean --max-iters\?\)/],
    ['bare tiedet', [], /name a command/],
    ['tiedet demo', ['demo'], /npm run demo/],
    ['unknown command far from any', ['nosuchcommand'], /^tiedet: unknown command 'nosuchcommand'/],
    ['unknown command', ['evl'], /unknown command 'evl' — did you mean `tiedet eval`/],
    ['train without a config', ['train'], /train needs CONFIG; CONFIG is a config file or a shipped config \(.*mask-rcnn_tiedresnet_synthetic_tiny/],
    ['render --score-thr -1', ['render', '--gt', gt, '--results', res, '--images', p('images'), '--out', p('out', 'rn'), '--score-thr', '-1'], /^tiedet: --score-thr/],
    ['render --score-thr 2', ['render', '--gt', gt, '--results', res, '--images', p('images'), '--out', p('out', 'rn'), '--score-thr', '2'], /^tiedet: --score-thr/],
    ['render --max-images -1', ['render', '--gt', gt, '--results', res, '--images', p('images'), '--out', p('out', 'rn'), '--max-images', '-1'], /^tiedet: --max-images/],
    ['render --img-ids 1,,x', ['render', '--gt', gt, '--results', res, '--images', p('images'), '--out', p('out', 'rn'), '--img-ids', '1,,x'], /^tiedet: --img-ids/],
    ['analyze-logs --max-points 1', ['analyze-logs', log, '--max-points', '1'], /^tiedet: --max-points/],
    ['analyze-logs --max-points 1e9', ['analyze-logs', log, '--max-points', '1000000000'], /^tiedet: --max-points/],
    ['analyze-logs --keys ,,', ['analyze-logs', log, '--keys', ',,'], /^tiedet: --keys/],
    ['analyze-logs --legend count mismatch', ['analyze-logs', log, '--legend', 'a,b'], /^tiedet: --legend/],
    ['params --input 0x0', ['params', '--input', '0x0'], /^tiedet: --input/],
    ['params --input abc', ['params', '--input', 'abc'], /^tiedet: --input/],
    ['params --input -64x64', ['params', '--input', '-64x64'], /^tiedet: --input/],
    ['params --presets bogus', ['params', '--presets', 'bogus'], /^tiedet: --presets/],
  ];
  for (const [name, argv, re] of num) add({ name, argv, code: 2, expect: re });

  // ---- 9. logs: bad lines, huge-but-valid ----
  const bigLog = write(
    Array.from({ length: 150_000 }, (_, i) => `{"mode":"train","iter":${i + 1},"loss":${(1 / (i + 1)).toFixed(6)},"time":0.1}`).join('\n') + '\n',
    'jsonl',
  );
  add({ name: 'analyze-logs on a 150k-line log', argv: ['analyze-logs', bigLog, '--out', p('out', 'big.svg')], code: 0, expect: /wrote .*big\.svg/, timeoutMs: 20_000 });
  add({ name: 'analyze-logs on a 150k-line log, 100k points', argv: ['analyze-logs', bigLog, '--max-points', '100000'], code: 0, expect: /150000/, timeoutMs: 20_000 });
  const badLine = write('{"mode":"train","iter":1,"loss":1}\n{oops\n', 'jsonl');
  add({ name: 'analyze-logs: a line that is not JSON', argv: ['analyze-logs', badLine], code: 1, expect: new RegExp(`^tiedet: ${esc(badLine)}: line 2: not JSON`) });
  add({ name: 'analyze-logs: a bad line skipped with --on-bad skip', argv: ['analyze-logs', badLine, '--on-bad', 'skip'], code: 0, expect: /skipped 1 bad line/ });
  add({ name: 'analyze-logs --keys unknown', argv: ['analyze-logs', log, '--keys', 'nope'], code: 1, expect: /no train or val record has the key 'nope'/ });
  const emptyLog = write('', 'jsonl');
  add({ name: 'analyze-logs: an empty log', argv: ['analyze-logs', emptyLog], code: 1, expect: new RegExp(`^tiedet: ${esc(emptyLog)}: `) });
  const binLog = write(Buffer.from([0, 1, 2, 255, 10, 200, 201]), 'jsonl');
  add({ name: 'analyze-logs: a binary file', argv: ['analyze-logs', binLog], code: 1, expect: new RegExp(`^tiedet: ${esc(binLog)}: `) });

  // ---- 10. training / testing configuration (data: the small synthetic set written above) ----
  const tiny = 'configs/retinanet_tiedresnet_synthetic_tiny.ts';
  const data = [
    `data.train.annFile=${own}/annotations/instances_train.json`,
    `data.train.imageDir=${own}/train`,
    `data.val.annFile=${own}/annotations/instances_val.json`,
    `data.val.imageDir=${own}/val`,
  ];
  const cfg: [string, string[], number, RegExp][] = [
    ['train: unknown config name', ['train', 'no_such_config'], 2, /CONFIG 'no_such_config': no such file, and no config of that name/],
    ['train: data.batchSize=1000000000', ['train', tiny, '--cfg-options', 'data.batchSize=1000000000'], 2, /data\.batchSize: .*≤ 1024, got 1000000000/],
    ['train: train.lr=-1', ['train', tiny, '--cfg-options', 'train.lr=-1'], 2, /train\.lr: /],
    ['train: train.lr=abc', ['train', tiny, '--cfg-options', 'train.lr=abc'], 2, /train\.lr: expected a number, got 'abc'/],
    ['train: unknown key', ['train', tiny, '--cfg-options', 'train.nope=1'], 2, /train\.nope/],
    ['train: cfg-options without =', ['train', tiny, '--cfg-options', 'train.lr'], 2, /'train\.lr': expected KEY=VALUE/],
    ['train: data.workers=1e6', ['train', tiny, '--cfg-options', 'data.workers=1000000'], 2, /data\.workers: /],
    ['train: test.batchSize=0', ['train', tiny, '--cfg-options', 'test.batchSize=0'], 2, /test\.batchSize: /],
    ['train: train.seed=-1', ['train', tiny, '--cfg-options', 'train.seed=-1'], 2, /train\.seed: /],
    ['train: --max-iters -1', ['train', tiny, '--max-iters', '-1', '--work-dir', p('out', 'w-neg')], 2, /--max-iters/],
    ['train: --seed 1.5', ['train', tiny, '--seed', '1.5', '--work-dir', p('out', 'w-seed')], 2, /--seed/],
    ['train: missing data', ['train', tiny, '--cfg-options', `data.train.annFile=${p('nope.json')}`, '--work-dir', p('out', 'w-nd')], 1, /data\.train\.annFile: .*nope\.json does not exist/],
    ['train: --work-dir is a file', ['train', tiny, '--cfg-options', ...data, '--work-dir', gt, '--max-iters', '1'], 1, /gt\.json/],
    ['train: --resume of a missing checkpoint', ['train', tiny, '--cfg-options', ...data, '--resume', p('nope.ckpt'), '--work-dir', p('out', 'w-res')], 1, /nope\.ckpt/],
    ['test: missing checkpoint', ['test', tiny, p('nope.ckpt'), '--out', p('out', 'tt.json'), '--cfg-options', ...data], 1, /nope\.ckpt/],
    ['test: a checkpoint that is a JSON of something else', ['test', tiny, gt, '--out', p('out', 'tt.json'), '--cfg-options', ...data], 1, /gt\.json/],
    ['test: --eval keypoints', ['test', tiny, p('nope.ckpt'), '--out', p('out', 'tt.json'), '--eval', 'keypoints'], 2, /--eval/],
    ['test: --render-count 0', ['test', tiny, p('nope.ckpt'), '--out', p('out', 'tt.json'), '--render-count', '0'], 2, /--render-count/],
    ['test: --bootstrap 1e9', ['test', tiny, p('nope.ckpt'), '--out', p('out', 'tt.json'), '--bootstrap', '1000000000'], 2, /--bootstrap/],
    ['test: --score-thr 7', ['test', tiny, p('nope.ckpt'), '--out', p('out', 'tt.json'), '--score-thr', '7'], 2, /--score-thr/],
  ];
  for (const [name, argv, code, re] of cfg) add({ name, argv, code, expect: re, timeoutMs: 20_000 });
  // the training data pipeline validates magnitudes too (file, record, field)
  for (const [what, path, v, field] of [
    ['bbox 1e200', ['annotations', 0, 'bbox'], [1e200, 0, 1, 1], 'bbox'],
    ['bbox width 1e300', ['annotations', 0, 'bbox'], [0, 0, 1e300, 1], 'bbox'],
    ['iscrowd 2', ['annotations', 0, 'iscrowd'], 2, 'iscrowd'],
  ] as const) {
    const f = write(JSON.stringify(mutate(gtObject(), [...path], v)));
    add({
      name: `train data: ${what}`,
      argv: ['train', tiny, '--cfg-options', `data.train.annFile=${f}`, `data.train.imageDir=${p('images')}`, ...data.slice(2), '--work-dir', p('out', `w-${fileNo}`)],
      code: 1,
      expect: new RegExp(`${esc(f)}: (images|annotations)\\[0\\][^:]*\\.${field}: `),
      timeoutMs: 20_000,
    });
  }
  add({
    name: 'occlusion-report --iou segm on boxes-only results → warning',
    argv: ['occlusion-report', '--gt', gt, '--results', `A=${res}`, '--iou', 'segm', '--out', p('out', 'occ-segm'), '--bootstrap', '0'],
    code: 0,
    expect: /holds boxes only/,
  });

  // ---- 11. tiedet convert (.pth → .safetensors) ----
  const fx = (f: string) => join(process.cwd(), 'test', 'fixtures', 'io', 'pth', f);
  const pthCopy = p('gen', 'model.pth');
  writeFileSync(pthCopy, readFileSync(fx('dtypes.pth')));
  const pthAsSt = p('gen', 'model.safetensors');
  writeFileSync(pthAsSt, readFileSync(fx('dtypes.pth')));
  inputs.push(pthCopy, pthAsSt);
  const conv: [string, string[], number, RegExp][] = [
    ['convert: output = input', ['convert', pthAsSt, pthAsSt], 2, /model\.safetensors: refusing to overwrite the input file/],
    ['convert: output not .safetensors', ['convert', pthCopy, p('gt-link.json')], 2, /gt-link\.json: the output must be a \.safetensors file/],
    ['convert: missing input', ['convert', p('nope.pth'), p('out', 'a.safetensors')], 2, /nope\.pth: no such file/],
    ['convert: input is a folder', ['convert', p('images'), p('out', 'b.safetensors')], 1, /images/],
    ['convert: input is JSON, not a .pth', ['convert', gt, p('out', 'c.safetensors')], 1, /gt\.json/],
    ['convert: a legacy (pre-1.6) file', ['convert', fx('legacy.pth'), p('out', 'd.safetensors')], 1, /legacy\.pth: .*_use_new_zipfile_serialization/],
    ['convert: a storage is missing', ['convert', fx('missing_storage.pth'), p('out', 'e.safetensors')], 1, /missing_storage\.pth/],
    ['convert: an unknown global a tensor depends on', ['convert', fx('unknown_global.pth'), p('out', 'f.safetensors')], 1, /unknown_global\.pth/],
    ['convert: a truncated archive', ['convert', write(readFileSync(fx('dtypes.pth')).subarray(0, 300), 'pth'), p('out', 'g.safetensors')], 1, /\.pth: /],
    ['convert: /dev/zero', ['convert', p('zero.json'), p('out', 'h.safetensors')], 1, /zero\.json/],
    ['convert: output given twice', ['convert', pthCopy, p('out', 'i.safetensors'), '--all', '--all'], 0, /./],
    ['convert: empty output', ['convert', pthCopy, ''], 2, /output|empty/],
    ['test: --weights missing', ['test', tiny, '--weights', p('nope.pth'), '--out', p('out', 'tw.json'), '--cfg-options', ...data], 1, /nope\.pth/],
    ['test: --weights of another model (strict)', ['test', tiny, '--weights', fx('mmdet3_mask_rcnn_micro.pth'), '--out', p('out', 'tw2.json'), '--cfg-options', ...data], 1, /mmdet3_mask_rcnn_micro\.pth/],
  ];
  for (const [name, argv, code, re] of conv) add({ name, argv, code, expect: re, timeoutMs: 20_000 });

  return { cases, inputs };
}

/** The base arguments without `--opt VALUE` (so the case adds its own). */
function withoutOption(argv: readonly string[], opt: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${opt}`) {
      i++;
      continue;
    }
    out.push(argv[i]!);
  }
  return out;
}
