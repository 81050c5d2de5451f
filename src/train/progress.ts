/**
 * Training progress on the terminal. On a TTY: one line redrawn in place (carriage return + erase), e.g.
 *
 *   epoch 3/24 ▕██████▍        ▏ 1234/28800  4.3%  2.10 it/s  ETA 3h38m  loss 1.234 loss_cls 0.812 lr 2.00e-2
 *
 * cut to the terminal width and redrawn at most every `minIntervalMs`; `log(line)` prints a permanent line above
 * it (evaluation results, warnings). Not a TTY (CI, a file): no bar; a plain line per `every` iterations and every
 * `log(line)`. Speed is measured over the last `window` updates of this session (a resumed run does not count
 * the time before it), ETA = remaining iterations / speed. The clock is injectable for tests.
 */

/** Where progress goes: `process.stderr` or anything with `write` (and `isTTY` / `columns` for the bar). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Total iterations of the run. */
  total: number;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Plain-line interval in iterations when not a TTY; default 50. */
  every?: number;
  /** Minimum time between TTY redraws; default 100 ms. */
  minIntervalMs?: number;
  /** Updates the speed is averaged over; default 20. */
  window?: number;
  /** Milliseconds clock; default `performance.now`. */
  now?: () => number;
}

export interface ProgressUpdate {
  /** Completed iterations (1-based count). */
  iteration: number;
  /** 1-based epoch and the number of epochs (not shown when absent, e.g. for inference). */
  epoch?: number;
  epochs?: number;
  /** Learning rate (not shown when absent, e.g. for inference). */
  lr?: number;
  /** Loss terms to show (the total `loss` first if present). */
  losses: Readonly<Record<string, number>>;
}

/** "45s", "3m05s", "2h07m", "3d04h". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** A loss value with 4 significant digits (NaN and ±Infinity spelled out). */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : String(Number.parseFloat(v.toPrecision(4)));
}

const BLOCKS = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];

/** A bar of `width` cells filled to `fraction` with eighth-block resolution. */
export function renderBar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const eighths = Math.round(f * width * 8);
  const full = Math.floor(eighths / 8);
  const rest = eighths % 8;
  const cells = '█'.repeat(full) + (full < width ? BLOCKS[rest]! : '') + ' '.repeat(Math.max(0, width - full - 1));
  return `▕${cells.slice(0, width)}▏`;
}

/** The status text after the bar: counts, speed, ETA, losses, lr. */
export function statusText(u: ProgressUpdate, total: number, itPerSec: number | null): string {
  const pct = total > 0 ? ((100 * u.iteration) / total).toFixed(1) : '100.0';
  const eta = itPerSec && itPerSec > 0 ? formatDuration((total - u.iteration) / itPerSec) : '--';
  // always it/s (a unit that flips to s/it mid-run reads as a jump): two decimals, or two significant digits below 0.1
  const speed = itPerSec === null ? '-- it/s' : `${itPerSec >= 0.1 ? itPerSec.toFixed(2) : itPerSec.toPrecision(2)} it/s`;
  const keys = Object.keys(u.losses).sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : 0));
  const losses = keys.map((k) => `${k} ${formatValue(u.losses[k]!)}`).join(' ');
  return `${u.iteration}/${total} ${pct}% ${speed} ETA ${eta}${losses ? `  ${losses}` : ''}${u.lr === undefined ? '' : `  lr ${u.lr.toExponential(2)}`}`;
}

function epochText(u: ProgressUpdate): string {
  return u.epoch === undefined ? '' : `epoch ${u.epoch}/${u.epochs} `;
}

export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly total: number;
  private readonly every: number;
  private readonly minIntervalMs: number;
  private readonly window: number;
  private readonly now: () => number;
  private readonly times: Array<{ t: number; iteration: number }> = [];
  private lastDraw = -Infinity;
  private drawn = false;
  private last: ProgressUpdate | null = null;

  constructor(o: ProgressOptions) {
    this.total = o.total;
    this.stream = o.stream ?? process.stderr;
    this.every = o.every ?? 50;
    this.minIntervalMs = o.minIntervalMs ?? 100;
    this.window = o.window ?? 20;
    this.now = o.now ?? (() => performance.now());
  }

  get isTTY(): boolean {
    return this.stream.isTTY === true;
  }

  /** Mark the start of this session (the first iteration's time is measured from here). */
  start(iteration: number): void {
    this.times.length = 0;
    this.times.push({ t: this.now(), iteration });
  }

  /** Iterations per second over the recent window, or null before any has completed. */
  speed(): number | null {
    if (this.times.length < 2) return null;
    const a = this.times[0]!;
    const b = this.times[this.times.length - 1]!;
    const dt = (b.t - a.t) / 1000;
    return dt > 0 ? (b.iteration - a.iteration) / dt : null;
  }

  update(u: ProgressUpdate): void {
    const t = this.now();
    this.times.push({ t, iteration: u.iteration });
    while (this.times.length > this.window + 1) this.times.shift();
    this.last = u;
    if (this.isTTY) {
      if (t - this.lastDraw >= this.minIntervalMs || u.iteration >= this.total) {
        this.lastDraw = t;
        this.draw(u);
      }
    } else if (u.iteration % this.every === 0 || u.iteration >= this.total) {
      this.stream.write(`${epochText(u)}${statusText(u, this.total, this.speed())}\n`);
    }
  }

  private draw(u: ProgressUpdate): void {
    const cols = this.stream.columns && this.stream.columns > 20 ? this.stream.columns : 100;
    const head = epochText(u);
    const barWidth = Math.max(5, Math.min(30, Math.floor(cols / 5)));
    let line = `${head}${renderBar(this.total > 0 ? u.iteration / this.total : 1, barWidth)} ${statusText(u, this.total, this.speed())}`;
    if (line.length > cols - 1) line = line.slice(0, cols - 1);
    this.stream.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }

  /** Print a permanent line (above the bar on a TTY, which is redrawn after it). */
  log(line: string): void {
    if (this.isTTY && this.drawn) {
      this.stream.write(`\r\x1b[2K${line}\n`);
      if (this.last) this.draw(this.last);
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  /** Leave the bar's last state on its own line. */
  done(): void {
    if (this.isTTY && this.drawn) {
      if (this.last) this.draw(this.last);
      this.stream.write('\n');
      this.drawn = false;
    }
  }
}
