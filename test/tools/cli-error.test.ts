/** tools/cli-error.ts: the one-line messages the CLI prints for unexpected errors. */
import { describe, expect, it } from 'vitest';
import { describeError } from '../../tools/cli-error.js';

describe('describeError', () => {
  it('explains a wasm abort (a failed allocation inside the backend) and says what to do', () => {
    const m = describeError(new Error('Aborted(). Build with -sASSERTIONS for more info.'));
    expect(m).toMatch(/^Aborted\(\)/);
    expect(m).toMatch(/4 GiB heap is exhausted/);
    expect(m).toMatch(/withCp: true/);
    expect(m).toMatch(/tfjs-node-gpu/);
  });

  it('passes other messages through, non-Errors as strings', () => {
    expect(describeError(new Error('data.train.annFile: no such file'))).toBe('data.train.annFile: no such file');
    expect(describeError('plain')).toBe('plain');
  });
});
