/**
 * The `index.html` gallery written next to rendered images (`tiedet render`, `tiedet browse-dataset`): one
 * self-contained page (inline CSS and JS, no network, no external files besides the rendered images it links by
 * relative paths) with a table of thumbnails and per-image figures — instances, detections, per-image AP and the
 * occlusion ratio r — sortable by clicking a column header (again to reverse; missing values always last) and
 * filtered by "r ≥ x". The rows are written as HTML, so the page lists every image even with scripts disabled.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GalleryRow {
  /** Path of the rendered file relative to the gallery (forward slashes). */
  href: string;
  /** The source image's `file_name`. */
  fileName: string;
  imageId: number;
  width: number;
  height: number;
  /** Non-crowd ground-truth instances. */
  gt: number;
  /** Crowd regions. */
  crowd: number;
  /** Detections drawn (score ≥ threshold); undefined for a dataset browse. */
  det?: number;
  /** All detections of the image. */
  detTotal?: number;
  /** Per-image AP (COCO AP@[.5:.95]); null when the image has no ground truth to score against. */
  ap?: number | null;
  /** Occlusion ratio of the image's ground-truth boxes (eval/occlusion.ts). */
  occlusion: number;
}

export interface SkippedItem {
  what: string;
  reason: string;
}

export interface GalleryOptions {
  title: string;
  /** Lines under the title (sources, threshold, totals). */
  info: string[];
  /** Show the detection and AP columns (render) or not (browse-dataset). */
  predictions: boolean;
  /** Label of the AP column, e.g. "segm AP". */
  apLabel?: string;
  skipped?: SkippedItem[];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A relative file path as a URL path: each segment percent-encoded, joined by '/'. */
export function hrefOf(relPath: string): string {
  return relPath.split(/[\\/]/).map(encodeURIComponent).join('/');
}

const fmt3 = (x: number) => x.toFixed(3);

const CSS = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 4px}
.info{color:#555;margin:0 0 12px}
.controls{display:flex;gap:16px;align-items:center;flex-wrap:wrap;margin:8px 0 12px}
.controls input{width:5em}
table{border-collapse:collapse;background:#fff}
th,td{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right;vertical-align:middle}
th{position:sticky;top:0;background:#eee;user-select:none}
th.sortable{cursor:pointer}
th.sortable:hover{background:#ddd}
th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}
td.name,th.name{text-align:left}
table{width:100%}
td.thumb{width:50%;text-align:left}
th:first-child{text-align:left}
td.thumb img{width:100%;height:auto;max-height:80vh;object-fit:contain;object-position:left;display:block}
td.thumb img.small{image-rendering:pixelated}
td.na{color:#999}
tr.hidden{display:none}
.skipped{margin-top:16px;color:#a33}
`;

const JS = `
(function () {
  var tbody = document.querySelector('#rows tbody');
  var rows = Array.prototype.slice.call(tbody.querySelectorAll('tr'));
  var heads = document.querySelectorAll('th.sortable');
  var state = { key: null, dir: 1 };
  var shown = document.getElementById('shown');
  var rmin = document.getElementById('rmin');
  function val(tr, key) {
    var v = tr.getAttribute('data-' + key);
    if (v === null || v === '') return null;
    var n = Number(v);
    return isNaN(n) ? v : n;
  }
  function sortBy(key, dir) {
    state.key = key; state.dir = dir;
    rows.sort(function (a, b) {
      var x = val(a, key), y = val(b, key);
      if (x === null && y === null) return val(a, 'index') - val(b, 'index');
      if (x === null) return 1;
      if (y === null) return -1;
      var c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return c !== 0 ? c * dir : val(a, 'index') - val(b, 'index');
    });
    rows.forEach(function (tr) { tbody.appendChild(tr); });
    Array.prototype.forEach.call(heads, function (th) {
      if (th.getAttribute('data-key') === key) th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
  }
  function filter() {
    var x = Number(rmin.value);
    var n = 0;
    rows.forEach(function (tr) {
      var r = val(tr, 'r');
      var hide = rmin.value !== '' && !isNaN(x) && (r === null || r < x);
      tr.classList.toggle('hidden', hide);
      if (!hide) n++;
    });
    shown.textContent = String(n);
  }
  Array.prototype.forEach.call(heads, function (th) {
    th.addEventListener('click', function () {
      var key = th.getAttribute('data-key');
      sortBy(key, state.key === key ? -state.dir : 1);
    });
  });
  rmin.addEventListener('input', filter);
  var worst = document.getElementById('worst');
  if (worst) worst.addEventListener('click', function () { rmin.value = '0.6'; filter(); sortBy('ap', 1); });
  filter();
})();
`;

/** The gallery page. Rows appear in the given order (the "index" the page falls back to). */
export function galleryHtml(rows: readonly GalleryRow[], opts: GalleryOptions): string {
  const pred = opts.predictions;
  const apLabel = opts.apLabel ?? 'AP';
  const th = (key: string, label: string, title: string, cls = '') =>
    `<th class="sortable${cls ? ` ${cls}` : ''}" data-key="${key}" title="${escapeHtml(title)}">${escapeHtml(label)}</th>`;
  const head = [
    '<th>image</th>',
    th('name', 'file', 'sort by file name', 'name'),
    th('id', 'id', 'sort by image id'),
    th('gt', 'GT', 'non-crowd ground-truth instances (+ crowd regions)'),
    ...(pred ? [th('det', 'detections', 'drawn (score ≥ threshold) / all detections of the image'), th('ap', apLabel, 'per-image COCO AP@[.5:.95]; – where the image has no ground truth')] : []),
    th('r', 'occlusion r', 'occlusion ratio of the ground-truth boxes'),
  ].join('');
  const body = rows
    .map((r, i) => {
      const attrs = [
        `data-index="${i}"`,
        `data-name="${escapeHtml(r.fileName)}"`,
        `data-id="${r.imageId}"`,
        `data-gt="${r.gt}"`,
        `data-r="${r.occlusion}"`,
        ...(pred ? [`data-det="${r.det ?? ''}"`, `data-ap="${r.ap === null || r.ap === undefined ? '' : r.ap}"`] : []),
      ].join(' ');
      const href = hrefOf(r.href);
      const cells = [
        `<td class="thumb"><a href="${href}"><img${r.width < 400 ? ' class="small"' : ''} src="${href}" loading="lazy" alt="${escapeHtml(r.fileName)}"></a></td>`,
        `<td class="name">${escapeHtml(r.fileName)}<br><small>${r.width}×${r.height}</small></td>`,
        `<td>${r.imageId}</td>`,
        `<td>${r.gt}${r.crowd > 0 ? ` <small>+${r.crowd} crowd</small>` : ''}</td>`,
        ...(pred
          ? [
              `<td>${r.det ?? 0} / ${r.detTotal ?? 0}</td>`,
              r.ap === null || r.ap === undefined ? '<td class="na">–</td>' : `<td>${fmt3(r.ap)}</td>`,
            ]
          : []),
        `<td>${fmt3(r.occlusion)}</td>`,
      ];
      return `<tr ${attrs}>${cells.join('')}</tr>`;
    })
    .join('\n');
  const skipped = opts.skipped ?? [];
  const skippedHtml =
    skipped.length === 0
      ? ''
      : `<div class="skipped"><h2>Skipped (${skipped.length})</h2><ul>${skipped
          .map((s) => `<li>${escapeHtml(s.what)}: ${escapeHtml(s.reason)}</li>`)
          .join('')}</ul></div>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(opts.title)}</h1>
<div class="info">${opts.info.map(escapeHtml).join('<br>')}</div>
<div class="controls">
<label>occlusion r ≥ <input id="rmin" type="number" min="0" max="1" step="0.05" placeholder="any"></label>
${pred ? '<button id="worst" type="button">worst AP at r ≥ 0.6</button>' : ''}
<span>showing <span id="shown">${rows.length}</span> of ${rows.length} image(s); click a column to sort</span>
</div>
<table id="rows">
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table>
${skippedHtml}
<script>${JS}</script>
</body>
</html>
`;
}

/** Writes `index.html` into `dir` and returns its path. */
export function writeGallery(dir: string, rows: readonly GalleryRow[], opts: GalleryOptions): string {
  const file = join(dir, 'index.html');
  writeFileSync(file, galleryHtml(rows, opts));
  return file;
}
