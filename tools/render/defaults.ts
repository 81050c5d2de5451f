/** Drawing defaults shared by the commands that draw (kept apart from draw.ts, which loads Skia). */

/** The score threshold for drawing detections: one default for `render`, `test --render` and `infer --render`. */
export const DEFAULT_SCORE_THR = 0.3;
