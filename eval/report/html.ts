/**
 * report.html of the occlusion report: one self-contained page — inline CSS, inline SVG charts
 * (eval/report/charts.ts), no script, no external request (not even a favicon) — that reads on a 1366×768 laptop
 * screen: the setting, how r is defined, AP and AP75 against r per model (Fig. 7 style), the gap to the baseline,
 * the histogram of images per bin and the tables of eval/report/tables.ts. Table cells that show a report.json
 * number carry it as `data-key` / `data-value`.
 */
import { escapeXml as esc } from './svg-chart.js';
import { reportCharts } from './charts.js';
import { settingLines } from './markdown.js';
import type { OcclusionReport } from './model.js';
import { reportTables, type ReportTable } from './tables.js';

const CSS = `
:root { color-scheme: light; }
body { margin: 0; background: #f6f6f4; color: #222; font: 15px/1.45 "DejaVu Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 18px 24px 40px; background: #fff; }
h1 { font-size: 24px; margin: 6px 0 10px; }
h2 { font-size: 18px; margin: 26px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
ul.setting { margin: 0; padding-left: 20px; color: #444; }
code { background: #f0f0ec; padding: 1px 4px; border-radius: 3px; }
.formula { font-size: 17px; margin: 8px 0; }
figure { margin: 10px 0 4px; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption, .note { color: #555; font-size: 13.5px; margin: 4px 0 8px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13.5px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 9px; border-bottom: 1px solid #e4e4e0; text-align: right; white-space: nowrap; }
th { background: #f0f0ec; font-weight: 600; }
td.label, th:first-child { text-align: left; }
td.empty { color: #999; font-style: italic; }
footer { margin-top: 28px; color: #777; font-size: 12.5px; }
`;

function tableHtml(t: ReportTable): string {
  const out: string[] = [`<section class="table" id="table-${esc(t.id)}">`, `<h2>${esc(t.title)}</h2>`];
  if (t.note) out.push(`<p class="note">${esc(t.note)}</p>`);
  out.push(`<div class="table-wrap"><table data-table="${esc(t.id)}">`);
  out.push(`<thead><tr>${t.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>`);
  for (const row of t.rows) {
    const cells = row.map((c) => {
      const cls = [c.label ? 'label' : '', c.text === 'no images' || c.text === 'n/a' ? 'empty' : ''].filter(Boolean).join(' ');
      const attrs = [
        cls ? `class="${cls}"` : '',
        c.key !== undefined ? `data-key="${esc(c.key)}"` : '',
        c.key !== undefined ? `data-value="${c.value === null || c.value === undefined ? '' : String(c.value)}"` : '',
      ].filter(Boolean);
      return `<td${attrs.length ? ` ${attrs.join(' ')}` : ''}>${esc(c.text)}</td>`;
    });
    out.push(`<tr>${cells.join('')}</tr>`);
  }
  out.push('</tbody></table></div></section>');
  return out.join('\n');
}

export function reportHtml(report: OcclusionReport): string {
  const d = report.definition;
  const charts = reportCharts(report);
  const parts: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Occlusion report (${esc(report.iouType)}) — ${esc(report.models.map((m) => m.name).join(' vs '))}</title>`,
    '<link rel="icon" href="data:,">',
    `<style>${CSS}</style>`,
    '</head>',
    '<body><main>',
    `<h1>Occlusion report (${esc(report.iouType)}): ${esc(report.models.map((m) => m.name).join(' vs '))}</h1>`,
    `<ul class="setting">${settingLines(report).map((l) => `<li>${esc(l)}</li>`).join('')}</ul>`,
    '<section id="definition">',
    '<h2>How the occlusion ratio r is defined</h2>',
    `<p class="formula">Definition <code>${esc(d.name)}</code>: <code>${esc(d.formula)}</code></p>`,
    `<p>${esc(d.text)}</p>`,
    `<p class="note">Over these images: mean r ${report.distribution.mean.toFixed(3)}, median ${report.distribution.median.toFixed(3)}, max ${report.distribution.max.toFixed(3)}; ${report.distribution.imagesWithTwoOrMore} of ${report.gt.images} images have two or more instances (the others have r = 0).</p>`,
    '</section>',
  ];
  for (const ch of charts) {
    parts.push(`<figure id="chart-${ch.id}">`, `<h2>${esc(ch.title)}</h2>`, ch.svg.trim(), `<figcaption>${esc(ch.caption)}</figcaption>`, '</figure>');
  }
  if (report.models.length < 2) parts.push('<p class="note">One model only: no gap to a baseline to show.</p>');
  for (const t of reportTables(report)) parts.push(tableHtml(t));
  parts.push(`<footer>Written by tiedet occlusion-report on ${esc(report.created)}. Numbers: report.json, bins.csv.</footer>`);
  parts.push('</main></body>', '</html>', '');
  return parts.join('\n');
}
