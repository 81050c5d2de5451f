/**
 * The CLI's explicit name → factory table of the backbone presets (the library has no string registry), and the
 * command-line helpers that pick from it: `--presets` names, `--input` sizes. Used by `tiedet params` and the
 * benchmarks.
 */
import type { BackboneOptions, ResNet } from '../src/backbones/resnet.js';
import { CliError } from './cli-error.js';

/** The presets module; loaded on demand so that other commands start without TF.js. */
export type PresetsModule = typeof import('../src/backbones/presets.js');

export interface PresetEntry {
  /** The factory's name in src/backbones/presets.ts (what `--presets` takes). */
  name: string;
  /** Display name, with the paper's setting. */
  label: string;
  /** The factory, picked from the presets module (`loadPresets()`). */
  pick: (m: PresetsModule) => (options: BackboneOptions) => ResNet;
}

/** Every preset, in table order. ResNet-50 (`resnet50`) is the reference of the ratios. */
export const PRESETS: readonly PresetEntry[] = [
  { name: 'resnet50', label: 'ResNet-50', pick: (m) => m.resnet50 },
  { name: 'resnet101', label: 'ResNet-101', pick: (m) => m.resnet101 },
  { name: 'resnext50_32x4d', label: 'ResNeXt-50 32×4d', pick: (m) => m.resnext50_32x4d },
  { name: 'resnext101_32x8d', label: 'ResNeXt-101 32×8d', pick: (m) => m.resnext101_32x8d },
  { name: 'resnext101_64x4d', label: 'ResNeXt-101 64×4d', pick: (m) => m.resnext101_64x4d },
  { name: 'seResNet50', label: 'SE-ResNet-50', pick: (m) => m.seResNet50 },
  { name: 'tiedSeResNet50', label: 'ResNet-50 + TiedSE (B=8)', pick: (m) => m.tiedSeResNet50 },
  { name: 'tiedResNet50', label: 'TiedResNet-50 (4s×32w)', pick: (m) => m.tiedResNet50 },
  { name: 'tiedResNet101', label: 'TiedResNet-101 (4s×32w)', pick: (m) => m.tiedResNet101 },
  { name: 'tiedResNet50S', label: 'TiedResNet-50-S (4s×18w)', pick: (m) => m.tiedResNet50S },
  { name: 'tiedResNet101S', label: 'TiedResNet-101-S (4s×18w)', pick: (m) => m.tiedResNet101S },
  { name: 'tiedResNeXt50', label: 'TiedResNeXt-50 (4s×64w, 8g)', pick: (m) => m.tiedResNeXt50 },
  { name: 'tiedResNeXt50S', label: 'TiedResNeXt-50-S (4s×36w, 8g)', pick: (m) => m.tiedResNeXt50S },
  { name: 'tiedResNet50SE', label: 'TiedResNet-50 + SE', pick: (m) => m.tiedResNet50SE },
  { name: 'tiedResNet50TiedSE', label: 'TiedResNet-50 + TiedSE (B=8)', pick: (m) => m.tiedResNet50TiedSE },
];

/** Parse `--input`: "HxW" (e.g. 224x224, 800x1333) or one number for a square. */
export function parseInput(value: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:[x×,]\s*(\d+))?\s*$/i.exec(value);
  const h = m ? Number(m[1]) : NaN;
  const w = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || !Number.isSafeInteger(h) || !Number.isSafeInteger(w) || h < 32 || w < 32 || h > 16384 || w > 16384) {
    throw new CliError(`--input: expected HEIGHTxWIDTH with sides from 32 to 16384 (e.g. 224x224 or 800x1333), got "${value}"`, 2);
  }
  return [h, w];
}

/** Select presets by name (comma-separated); undefined = all. */
export function selectPresets(list: string | undefined): PresetEntry[] {
  if (list === undefined || list.trim() === '') return [...PRESETS];
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !PRESETS.some((p) => p.name === n));
  if (unknown.length) {
    throw new CliError(`--presets: unknown preset(s) ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${PRESETS.map((p) => p.name).join(', ')}`, 2);
  }
  return names.map((n) => PRESETS.find((p) => p.name === n)!);
}

/** Load the presets module (TF.js with it). */
export function loadPresets(): Promise<PresetsModule> {
  return import('../src/backbones/presets.js');
}

