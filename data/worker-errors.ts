/**
 * Errors across the worker boundary: a data worker sends a plain object, the main thread rebuilds the same class
 * (`ImageError`, src/structures/segmentation.ts `SegmentationError`, else a generic Error with the worker's name and message), so
 * `onBad` handling is identical with and without workers.
 */
import { SegmentationError } from '../src/structures/segmentation.js';
import { ImageError, type ImageErrorKind } from './image.js';

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  file?: string;
  reason?: string;
  kind?: ImageErrorKind;
  path?: string;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof ImageError) return { name: e.name, message: e.message, file: e.file, reason: e.reason, kind: e.kind };
  if (e instanceof SegmentationError) return { name: e.name, message: e.message, path: e.path, reason: e.reason };
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

export function deserializeError(s: SerializedError): Error {
  if (s.name === 'ImageError' && s.file !== undefined && s.reason !== undefined) return new ImageError(s.file, s.reason, s.kind);
  if (s.name === 'SegmentationError' && s.path !== undefined && s.reason !== undefined) return new SegmentationError(s.path, s.reason);
  const e = new Error(`data worker: ${s.message}`);
  e.name = s.name;
  if (s.stack) e.stack = `${e.name}: ${e.message}\n(in the data worker)\n${s.stack}`;
  return e;
}
