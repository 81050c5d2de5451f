/**
 * A seeded, deterministic pseudo-random number generator: every random choice in tiedet takes one of these
 * (there is no `Math.random` anywhere), so the same seed gives the same weights, samples and augmentations on
 * every machine and backend.
 *
 * Generator: xoshiro128** (Blackman & Vigna), 128 bits of state, period 2^128 − 1, 32-bit outputs, pure 32-bit
 * integer arithmetic (`Math.imul`, shifts), hence bit-identical in every JS engine. The state is seeded from a
 * 32-bit integer (or a string, hashed with FNV-1a) through SplitMix32, so nearby seeds give unrelated streams.
 *
 * Sampling:
 *  - `uniform()` returns k·2⁻³² for one 32-bit output k: a double in [0, 1) (exactly representable).
 *  - `normal()` / `fillNormal` use the Box–Muller transform on pairs of uniforms (u₁ ∈ (0, 1], u₂ ∈ [0, 1)):
 *    z₀ = √(−2 ln u₁)·cos(2πu₂), z₁ = √(−2 ln u₁)·sin(2πu₂). Arrays are filled pairwise (z₀, z₁); for an odd
 *    length the last z₁ is discarded. `normal()` returns z₀ of a fresh pair (no hidden cached spare), so a
 *    stream's future never depends on which method was called earlier except through the state itself.
 *
 * `split()` derives an independent child generator (useful to give each module or data worker its own stream);
 * `getState()` / `setState()` save and restore the exact position (for checkpoints).
 */

/** The 128-bit state of a xoshiro128** generator, as four unsigned 32-bit words. */
export type RngState = readonly [number, number, number, number];

const TWO_POW_32 = 4294967296;

/** FNV-1a hash of a string to an unsigned 32-bit integer (used for string seeds). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** One step of SplitMix32 (state advanced by the golden-ratio increment); returns [newState, output]. */
function splitMix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) >>> 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z = (z ^ (z >>> 16)) >>> 0;
  return [s, z];
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /**
   * @param seed an integer (taken modulo 2³²; must be a safe integer) or a string (hashed). Same seed → same
   *   stream.
   */
  constructor(seed: number | string = 0) {
    let s: number;
    if (typeof seed === 'string') {
      s = fnv1a(seed);
    } else {
      if (!Number.isSafeInteger(seed)) throw new Error(`Rng: seed must be a safe integer or a string, got ${seed}`);
      s = Number(BigInt.asUintN(32, BigInt(seed)));
    }
    let out: number;
    [s, out] = splitMix32(s);
    this.s0 = out;
    [s, out] = splitMix32(s);
    this.s1 = out;
    [s, out] = splitMix32(s);
    this.s2 = out;
    [, out] = splitMix32(s);
    this.s3 = out;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** A generator positioned exactly at `state` (see `getState`). */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  /** The current position of the stream, to be restored with `setState` / `Rng.fromState`. */
  getState(): RngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Restore a position returned by `getState`. */
  setState(state: RngState): void {
    if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w >= TWO_POW_32)) {
      throw new Error(`Rng.setState: expected four unsigned 32-bit integers, got [${state.join(', ')}]`);
    }
    if ((state[0] | state[1] | state[2] | state[3]) === 0) throw new Error('Rng.setState: the all-zero state is invalid');
    [this.s0, this.s1, this.s2, this.s3] = state;
  }

  /** The next unsigned 32-bit integer of the stream (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform double in [0, 1), a multiple of 2⁻³². */
  uniform(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** A uniform double in [low, high). */
  uniformIn(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** A uniform integer in [0, n), without modulo bias (rejection sampling). `n` must be in [1, 2³²]. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n); // accept k < limit, a multiple of n
    for (;;) {
      const k = this.nextUint32();
      if (k < limit) return k % n;
    }
  }

  /** One standard-normal sample (Box–Muller, the cosine branch of a fresh pair). */
  normal(mean = 0, std = 1): number {
    const u1 = (this.nextUint32() + 1) / TWO_POW_32; // (0, 1]: log is finite
    const u2 = this.uniform();
    return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /**
   * Fill `out` with uniform samples in [low, high). Into a Float32Array the doubles are rounded to float32, so a
   * sample within half a float32 ulp of `high` may equal `high` (as with any float32 uniform).
   */
  fillUniform<T extends Float32Array | Float64Array>(out: T, low = 0, high = 1): T {
    const span = high - low;
    for (let i = 0; i < out.length; i++) out[i] = low + span * this.uniform();
    return out;
  }

  /** Fill `out` with normal samples N(mean, std²), pairwise Box–Muller (see the file comment). */
  fillNormal<T extends Float32Array | Float64Array>(out: T, mean = 0, std = 1): T {
    for (let i = 0; i < out.length; i += 2) {
      const u1 = (this.nextUint32() + 1) / TWO_POW_32;
      const u2 = this.uniform();
      const r = Math.sqrt(-2 * Math.log(u1));
      const theta = 2 * Math.PI * u2;
      out[i] = mean + std * r * Math.cos(theta);
      if (i + 1 < out.length) out[i + 1] = mean + std * r * Math.sin(theta);
    }
    return out;
  }

  /** `n` uniform float32 samples in [low, high). */
  uniformArray(n: number, low = 0, high = 1): Float32Array {
    return this.fillUniform(new Float32Array(n), low, high);
  }

  /** `n` normal float32 samples N(mean, std²). */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    return this.fillNormal(new Float32Array(n), mean, std);
  }

  /** Shuffle `items` in place (Fisher–Yates) and return it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /**
   * An independent child generator seeded from the next four outputs of this one. Deterministic: the same parent
   * position gives the same child. The parent advances by four outputs.
   */
  split(): Rng {
    const child = new Rng(0);
    const st: [number, number, number, number] = [this.nextUint32(), this.nextUint32(), this.nextUint32(), this.nextUint32()];
    if ((st[0] | st[1] | st[2] | st[3]) === 0) st[0] = 1;
    child.setState(st);
    return child;
  }
}
