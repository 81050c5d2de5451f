/**
 * The benches' same-run PyTorch reference (tools/bench/reference.ts) without Python: a fake interpreter (a shell
 * script speaking tools/reference/torch_bench.py's line protocol) stands in for torch.
 *  - `findTorchPython` picks the first candidate that imports torch, and says why when none does;
 *  - `startReference` waits for "ready", `run` returns each reply, `alternate` pairs tiedet runs with reference runs
 *    turn about (order checked), and gives medians, the ratio and the spread of the pair ratios;
 *  - a reference that dies before "ready" is reported as not measured, with its last stderr line.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alternate, findTorchPython, formatRatio, startReference } from '../../tools/bench/reference.js';

const dir = mkdtempSync(join(tmpdir(), 'tiedet-ref-'));
const log = join(dir, 'calls.log');

/** A fake python: `-c …` succeeds (torch "imports"); the server answers run k with ms = 100·k. */
function fakePython(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/bash\nif [ "$1" = "-c" ]; then exit 0; fi\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

const good = fakePython(
  'python-good',
  `echo '{"ready": true, "torch": "9.9", "torchvision": "0.99", "threads": 2, "input": [8, 8]}'
k=0
while read -r cmd; do
  if [ "$cmd" = "quit" ]; then exit 0; fi
  k=$((k+1))
  echo "ref $k" >> ${JSON.stringify(log)}
  echo "{\\"ms\\": $((k*100)), \\"parts\\": {\\"a\\": $((k*40)), \\"b\\": $((k*60))}}"
done`,
);
const dying = fakePython('python-dying', `echo "RuntimeError: out of memory" >&2\nexit 1`);
const broken = join(dir, 'python-no-torch');
writeFileSync(broken, '#!/bin/bash\nexit 1\n');
chmodSync(broken, 0o755);


describe('the same-run PyTorch reference', () => {
  it('findTorchPython takes the first interpreter that imports torch, else says why', () => {
    expect(findTorchPython([broken, good])).toEqual({ python: good });
    const none = findTorchPython([broken, join(dir, 'absent-python')]);
    expect('missing' in none && none.missing).toMatch(/no python3 with torch \+ torchvision \(tried .*python-no-torch/);
  });

  it('alternates tiedet and reference runs and reports medians, ratio and spread', async () => {
    process.env.TIEDET_TORCH_PYTHON = good;
    try {
      const ref = await startReference('backbone', [8, 8], 2);
      expect('missing' in ref).toBe(false);
      if ('missing' in ref) return;
      expect(ref.info).toMatchObject({ torch: '9.9', torchvision: '0.99', threads: 2, task: 'backbone' });
      writeFileSync(log, '');
      let mine = 0;
      const tiedetMs = [50, 300, 200, 250]; // warm-up, then 3 timed runs
      const sbs = await alternate(3, async () => {
        writeFileSync(log, `${readFileSync(log, 'utf8')}tiedet ${mine}\n`);
        return tiedetMs[mine++]!;
      }, ref);
      ref.close();
      // warm-up (tiedet only), then tiedet / reference turn about
      expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['tiedet 0', 'tiedet 1', 'ref 1', 'tiedet 2', 'ref 2', 'tiedet 3', 'ref 3']);
      expect(sbs.tiedet.runsMs).toEqual([300, 200, 250]);
      expect(sbs.reference.runsMs).toEqual([100, 200, 300]);
      expect(sbs.tiedet.medianMs).toBe(250);
      expect(sbs.reference.medianMs).toBe(200);
      expect(sbs.ratio).toBeCloseTo(1.25, 12);
      expect(sbs.spread[0]).toBeCloseTo(250 / 300, 12);
      expect(sbs.spread[1]).toBeCloseTo(3, 12);
      expect(sbs.referenceParts).toEqual({ a: 80, b: 120 });
      expect(formatRatio(sbs)).toBe('1.25× (0.83–3.00)');
    } finally {
      delete process.env.TIEDET_TORCH_PYTHON;
    }
  });

  it('a reference that exits before it is ready is not measured, with its error', async () => {
    process.env.TIEDET_TORCH_PYTHON = dying;
    try {
      const ref = await startReference('retinanet', [8, 8], 1);
      expect(ref).toEqual({ missing: 'the PyTorch reference (retinanet) exited before it was ready: RuntimeError: out of memory' });
    } finally {
      delete process.env.TIEDET_TORCH_PYTHON;
    }
  });
});
