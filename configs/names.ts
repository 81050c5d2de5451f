/**
 * The shipped configs' folder and names, apart from load.ts so that the CLI can list them (usage errors) without
 * loading TF.js at start-up.
 */
import { readdirSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of the shipped config files (configs/ in the source tree, dist/configs when built). */
export const CONFIG_DIR = dirname(fileURLToPath(import.meta.url));

/** Files in configs/ that are not experiment configs. */
export const HELPER = /^(_|load\.|names\.)|\.d\.ts$|\.map$/;
export const EXTENSIONS = ['.ts', '.js', '.mts', '.mjs'];

/** Names of the shipped configs (file names without extension), sorted. */
export function listConfigs(dir = CONFIG_DIR): string[] {
  const names = new Set<string>();
  for (const f of readdirSync(dir)) {
    if (HELPER.test(f)) continue;
    const ext = extname(f);
    if (EXTENSIONS.includes(ext)) names.add(f.slice(0, -ext.length));
  }
  return [...names].sort();
}
