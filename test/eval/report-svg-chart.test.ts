import { describe, expect, it } from 'vitest';
/**
 * eval/report/svg-chart.ts (moved from tools/bench/): well-formed standalone SVG, one line + markers per series,
 * axis labels, log2 ticks, no NaN; and what the occlusion report needs — interval whiskers and bands, negative y
 * with a zero line, grouped bar panels, notes, inline SVG with id / class / data attributes, per-series counts.
 */
import { escapeXml, lineChart, log2Ticks, niceRange, niceTicks, tickLabel, type ChartOptions } from '../../eval/report/svg-chart.js';

/** Tags balance (a minimal well-formedness check: no XML parser in Node), and every element is closed. */
function checkBalanced(svg: string): void {
  const body = svg.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, close, name, , selfClose] = m;
    if (selfClose) continue;
    if (close) expect(stack.pop(), `closing </${name}>`).toBe(name);
    else stack.push(name!);
  }
  expect(stack).toEqual([]);
  // No stray '<' outside tags, no unescaped '&'.
  expect(body.replace(/<(\/?)([A-Za-z][\w:-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g, '')).not.toMatch(/</);
  expect(body).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
}

function count(svg: string, re: RegExp): number {
  return [...svg.matchAll(re)].length;
}

const opts: ChartOptions = {
  title: 'Run time <vs> groups & blocks',
  subtitle: 'line one\nline two',
  panels: [
    {
      title: 'Forward',
      xLabel: 'groups G (log2)',
      yLabel: 'time (ms)',
      xScale: 'log2',
      series: [
        { name: 'SC', points: [1, 2, 4, 8, 16, 32].map((x) => ({ x, y: 100 })), dash: '6 4' },
        { name: 'GC', points: [1, 2, 4, 8, 16, 32].map((x) => ({ x, y: 100 + 3 * x })) },
        { name: 'TBC', points: [1, 2, 4, 8, 16, 32].map((x) => ({ x, y: 100 / x })) },
      ],
    },
    {
      title: 'Forward + backward',
      xLabel: 'groups G (log2) again',
      yLabel: 'time (ms) again',
      xScale: 'log2',
      series: [
        { name: 'GC', points: [{ x: 1, y: 300 }, { x: 2, y: Number.NaN }, { x: 4, y: 250 }] },
        { name: 'TBC', points: [{ x: 1, y: 310 }, { x: 2, y: 160 }, { x: 4, y: Number.POSITIVE_INFINITY }] },
      ],
    },
  ],
};

describe('svg-chart', () => {
  const svg = lineChart(opts);

  it('is a balanced standalone SVG document', () => {
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(count(svg, /<svg\b/g)).toBe(1);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    checkBalanced(svg);
  });

  it('draws one line per series and one marker per finite point', () => {
    expect(count(svg, /<path\b/g)).toBe(5);
    expect(count(svg, /<path class="series-line"/g)).toBe(5);
    expect(count(svg, /class="marker"/g)).toBe(6 * 3 + 2 + 2);
    // Every series has a legend entry with its own marker.
    expect(count(svg, /class="legend-marker"/g)).toBe(5);
    // The GC line of panel 2 breaks at the NaN: two sub-paths.
    const gc2 = svg.split('data-panel="1"')[1]!.match(/data-series="GC" data-points="2">\n<path class="series-line" d="([^"]*)"/)![1]!;
    expect(count(gc2, /M/g)).toBe(2);
  });

  it('has axis labels, titles and log2 ticks, escaped text, no NaN/Infinity', () => {
    for (const label of ['groups G (log2)', 'time (ms)', 'groups G (log2) again', 'time (ms) again', 'Forward']) {
      expect(svg).toContain(`>${label}</text>`);
    }
    expect(count(svg, /class="axis-label x-label"/g)).toBe(2);
    expect(count(svg, /class="axis-label y-label"/g)).toBe(2);
    expect(svg).toContain('Run time &lt;vs&gt; groups &amp; blocks');
    expect(count(svg, /class="subtitle"/g)).toBe(2);
    for (const t of ['1', '2', '4', '8', '16', '32']) expect(svg).toContain(`text-anchor="middle">${t}</text>`);
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
    for (const m of svg.matchAll(/\b(?:x|y|x1|x2|y1|y2|cx|cy|r|width|height)="([^"]*)"/g)) {
      if (m[1] === '100%') continue;
      expect(Number.isFinite(Number(m[1])), m[0]).toBe(true);
    }
  });

  it('places markers inside the plot, ordered by x on the log2 axis', () => {
    const first = svg.split('data-panel="1"')[0]!;
    const tbc = first.split('data-series="TBC"')[1]!.split('</g>')[0]!;
    const cx = [...tbc.matchAll(/<polygon[^>]*points="([\d.]+),/g)].map((m) => Number(m[1]));
    expect(cx).toHaveLength(6);
    const steps = cx.slice(1).map((v, i) => v - cx[i]!);
    for (const s of steps) expect(s).toBeCloseTo(steps[0]!, 1); // equal spacing per doubling
  });

  it('helpers: nice ticks, log2 ticks, labels, escaping', () => {
    expect(niceTicks(1234)).toEqual([0, 250, 500, 750, 1000, 1250]);
    expect(niceTicks(0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(log2Ticks(1, 32)).toEqual([1, 2, 4, 8, 16, 32]);
    expect(log2Ticks(3, 20)).toEqual([2, 4, 8, 16, 32]);
    expect(tickLabel(2500)).toBe('2500');
    expect(tickLabel(0.30000000000000004)).toBe('0.3');
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
    expect(() => lineChart({ panels: [] })).toThrow();
  });
});

describe('svg-chart: intervals, negative values, bars, notes, inline', () => {
  const chart = lineChart({
    xmlDeclaration: false,
    id: 'c1',
    className: 'chart',
    data: { chart: 'ap', models: 2 },
    description: 'AP <vs> r',
    panels: [
      {
        title: 'with intervals',
        xLabel: 'r',
        yLabel: 'AP',
        xTicks: [0, 0.5, 1],
        xMin: 0,
        xMax: 1,
        notes: [{ x: 0.75, text: 'no images' }],
        series: [
          { name: 'A', points: [{ x: 0.25, y: 40, lo: 35, hi: 46 }, { x: 0.5, y: 42, lo: 38, hi: 47 }, { x: 0.75, y: Number.NaN }, { x: 0.9, y: 30 }] },
          { name: 'B', intervals: 'band', points: [{ x: 0.25, y: 44, lo: 40, hi: 49 }, { x: 0.5, y: 45, lo: 41, hi: 50 }, { x: 0.75, y: Number.NaN }, { x: 0.9, y: 39, lo: 30, hi: 48 }] },
        ],
      },
      {
        title: 'gap',
        xLabel: 'r',
        yLabel: 'gap',
        series: [{ name: 'B − A', points: [{ x: 0.25, y: 4, lo: -1.5, hi: 9 }, { x: 0.5, y: -3, lo: -7, hi: 1 }] }],
      },
      {
        kind: 'bar',
        title: 'histogram',
        xLabel: 'bin',
        yLabel: 'images',
        categories: ['0–0.5', '0.5–1'],
        series: [{ name: 'images', points: [{ x: 0, y: 30 }, { x: 1, y: 0 }] }, { name: 'other', points: [{ x: 0, y: 5 }, { x: 1, y: 7 }] }],
      },
    ],
  });

  it('is an inline, balanced <svg> with id, class, data attributes and a title', () => {
    expect(chart.startsWith('<svg ')).toBe(true);
    checkBalanced(chart);
    expect(chart).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" id="c1" class="chart" data-chart="ap" data-models="2" role="img"/);
    expect(chart).toContain('<title>AP &lt;vs&gt; r</title>');
    expect(chart).not.toMatch(/NaN|Infinity|undefined/);
    expect(() => lineChart({ data: { 'Bad Name': 1 }, panels: [{ xLabel: 'x', yLabel: 'y', series: [] }] })).toThrow(/bad data attribute/);
  });

  it('series carry their point counts; markers and bars their values', () => {
    const p0 = chart.split('data-panel="1"')[0]!;
    expect(p0).toContain('data-series="A" data-points="3"');
    expect(p0).toContain('data-series="B" data-points="3"');
    expect(count(p0, /class="marker"/g)).toBe(6);
    expect(p0).toMatch(/class="marker"[^>]*data-x="0.25" data-y="40"/);
    const bars = chart.split('data-panel="2"')[1]!;
    expect(count(bars, /class="bar"/g)).toBe(4);
    expect(bars).toContain('data-series="images" data-points="2"');
    expect(bars).toMatch(/class="bar"[^>]*data-x="1" data-y="0"/);
    expect(bars).toContain('>0–0.5</text>');
  });

  it('whiskers for A, one band per unbroken stretch for B, a note where a point is missing', () => {
    const p0 = chart.split('data-panel="1"')[0]!;
    expect(count(p0, /class="errorbar"/g)).toBe(2);
    expect(p0).toMatch(/class="errorbar"[^>]*data-lo="35" data-hi="46"/);
    expect(count(p0, /class="band"/g)).toBe(2); // 0.25–0.5, then 0.9 alone
    expect(p0).toMatch(/class="note"[^>]*>no images<\/text>/);
  });

  it('negative values: the y axis extends below 0 with a zero line', () => {
    const p1 = chart.split('data-panel="1"')[1]!.split('data-panel="2"')[0]!;
    expect(p1).toContain('class="zero-line"');
    expect(p1).toContain('text-anchor="end">-10</text>'); // ticks −10 … 10 for the data range −7 … 9
    expect(chart.split('data-panel="1"')[0]).not.toContain('zero-line');
    expect(niceRange(-7, 9)).toEqual([-10, -5, 0, 5, 10]);
    expect(niceRange(0, 9)).toEqual(niceTicks(9));
    expect(niceRange(-0.3, 0.1)).toEqual([-0.3, -0.2, -0.1, 0, 0.1]);
    expect(() => lineChart({ panels: [{ kind: 'bar', xLabel: 'x', yLabel: 'y', series: [] }] })).toThrow(/needs categories/);
  });
});
