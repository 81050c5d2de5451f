/**
 * `onBad: 'skip'` bookkeeping: bad records and files that were left out, counted by reason, with the first few
 * full messages kept as examples, so that nothing is dropped silently (DESIGN.md: errors name file, record and
 * field; skipping needs a flag and is reported).
 */

/** What to do with bad input: stop with an error naming file, record and field (default), or skip and count it. */
export type OnBad = 'error' | 'skip';

export interface SkipSummary {
  /** Number of skipped items. */
  total: number;
  /** Count per reason (e.g. `'duplicate annotation id'`, `'missing image file'`), in first-seen order. */
  byReason: Record<string, number>;
  /** The first few full error messages. */
  examples: string[];
}

export class SkipLog {
  private readonly counts = new Map<string, number>();
  private readonly first: string[] = [];
  private n = 0;

  constructor(private readonly maxExamples = 5) {}

  add(reason: string, message: string): void {
    this.n++;
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    if (this.first.length < this.maxExamples) this.first.push(message);
  }

  get total(): number {
    return this.n;
  }

  summary(): SkipSummary {
    return { total: this.n, byReason: Object.fromEntries(this.counts), examples: this.first.slice() };
  }
}

/** One line per reason, e.g. `skipped 3 bad items: 2 missing image file, 1 duplicate annotation id`. */
export function formatSkipSummary(s: SkipSummary, what = 'bad items'): string {
  if (s.total === 0) return `skipped 0 ${what}`;
  const parts = Object.entries(s.byReason).map(([reason, n]) => `${n} ${reason}`);
  return `skipped ${s.total} ${what}: ${parts.join(', ')}`;
}
