/**
 * The images of `tiedet infer --images DIR|GLOB`: a folder (its image files, not recursive) or a glob whose
 * wildcards (`*`, `?`, `[…]`) are in the last path component (`photos/*.jpg`), sorted by name. Image files are
 * recognised by extension (what data/image.ts reads: jpg, jpeg, png, webp, tif, tiff, gif, avif, bmp).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

const IMAGE_EXT = /\.(jpe?g|png|webp|tiff?|gif|avif|bmp)$/i;

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export interface ImageList {
  /** The folder the files are in (file names in the images JSON are relative to it). */
  root: string;
  /** File names (relative to root), sorted. */
  files: string[];
}

export function listImages(spec: string): ImageList {
  if (existsSync(spec) && statSync(spec).isDirectory()) {
    const root = resolve(spec);
    const files = readdirSync(root).filter((f) => IMAGE_EXT.test(f) && statSync(join(root, f)).isFile()).sort();
    if (files.length === 0) throw new Error(`--images: ${spec} holds no image files (jpg, png, webp, tif, gif, avif, bmp)`);
    return { root, files };
  }
  const dir = dirname(spec);
  const pattern = basename(spec);
  if (/[*?[]/.test(dir)) throw new Error(`--images: wildcards are only supported in the last path component, got ${spec}`);
  if (!/[*?[]/.test(pattern)) throw new Error(`--images: ${spec} is neither a folder nor a glob`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`--images: folder ${dir} of ${spec} does not exist`);
  const re = globToRegExp(pattern);
  const root = resolve(dir);
  const files = readdirSync(root).filter((f) => re.test(f) && statSync(join(root, f)).isFile()).sort();
  if (files.length === 0) throw new Error(`--images: no file matches ${spec}`);
  return { root, files };
}
