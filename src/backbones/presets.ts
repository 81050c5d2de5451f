/**
 * Typed backbone presets: each factory builds one network with the backbone options of `BackboneOptions`
 * (rng / seed, frozenStages (default 1), normEval (default true), numClasses (default 1000; null → no head),
 * zeroInitResidual, init). No string registry here — import the factory you mean; the CLI keeps its own explicit
 * name → factory table (tools/params.ts).
 *
 * torchvision: resnet50, resnet101, resnext50_32x4d, resnext101_32x8d, resnext101_64x4d (exact architectures and
 * state-dict keys). SENet-style: seResNet50 (SE, r = 16), tiedSeResNet50 (TiedSE, B = 8).
 * Tied family (ARCHITECTURE.md): tiedResNet50/101 (4s × 32w), tiedResNet50S/101S (4s × 18w), tiedResNeXt50
 * (4s × 64w, 8 groups per split) and tiedResNeXt50S (4s × 36w), tiedResNet50SE / tiedResNet50TiedSE. The tied
 * factories take `tied` to override any TiedBottleneck setting (splits, width, per-split B, mixer, SE, …).
 */
import { bottleneckResNet, type BackboneOptions, type ResNet, type SEConfig } from './resnet.js';
import { TiedResNet, type TiedBottleneckConfig } from './tied-resnet.js';

export type PresetOptions = BackboneOptions;

export interface TiedPresetOptions extends BackboneOptions {
  /** Overrides of the preset's TiedBottleneck settings. */
  tied?: TiedBottleneckConfig;
}

const R50 = [3, 4, 6, 3] as const;
const R101 = [3, 4, 23, 3] as const;

/** SENet's SE block (reduction 16). */
export const SE: SEConfig = { blocks: 1, reduction: 16 };
/** The paper's TiedSE: both FC layers TFC with B = 8 (reduction 16). */
export const TIED_SE: SEConfig = { blocks: 8, reduction: 16 };

// torchvision ResNet / ResNeXt -----------------------------------------------------------------------------

export function resnet50(options: PresetOptions = {}): ResNet {
  return bottleneckResNet({ layers: R50 }, options);
}

export function resnet101(options: PresetOptions = {}): ResNet {
  return bottleneckResNet({ layers: R101 }, options);
}

export function resnext50_32x4d(options: PresetOptions = {}): ResNet {
  return bottleneckResNet({ layers: R50, groups: 32, baseWidth: 4 }, options);
}

export function resnext101_32x8d(options: PresetOptions = {}): ResNet {
  return bottleneckResNet({ layers: R101, groups: 32, baseWidth: 8 }, options);
}

export function resnext101_64x4d(options: PresetOptions = {}): ResNet {
  return bottleneckResNet({ layers: R101, groups: 64, baseWidth: 4 }, options);
}

// SE variants of ResNet-50 ---------------------------------------------------------------------------------

/** SE-ResNet-50: SE (r = 16) after every bottleneck's bn3; 2,530,992 SE parameters. */
export function seResNet50(options: PresetOptions = {}): ResNet {
  return bottleneckResNet({ layers: R50, se: SE }, options);
}

/** ResNet-50 with TiedSE (B = 8): 41,302 SE parameters (the paper's "2.53 M → 0.04 M"). */
export function tiedSeResNet50(options: PresetOptions = {}): ResNet {
  return bottleneckResNet({ layers: R50, se: TIED_SE }, options);
}

// Tied family ----------------------------------------------------------------------------------------------

function tied(layers: readonly [number, number, number, number], base: TiedBottleneckConfig, options: TiedPresetOptions): TiedResNet {
  const { tied: overrides, ...rest } = options;
  return new TiedResNet(layers, { ...base, ...overrides }, rest);
}

/** TiedResNet-50, 4s × 32w, split B = 1, 2, 4, 8, sum mixer. */
export function tiedResNet50(options: TiedPresetOptions = {}): TiedResNet {
  return tied(R50, { splits: 4, baseWidth: 32 }, options);
}

/** TiedResNet-101, 4s × 32w. */
export function tiedResNet101(options: TiedPresetOptions = {}): TiedResNet {
  return tied(R101, { splits: 4, baseWidth: 32 }, options);
}

/** TiedResNet-50-S, 4s × 18w (B fitted to the widths 18 and 36, see ARCHITECTURE.md). */
export function tiedResNet50S(options: TiedPresetOptions = {}): TiedResNet {
  return tied(R50, { splits: 4, baseWidth: 18 }, options);
}

/** TiedResNet-101-S, 4s × 18w. */
export function tiedResNet101S(options: TiedPresetOptions = {}): TiedResNet {
  return tied(R101, { splits: 4, baseWidth: 18 }, options);
}

/** TiedResNeXt-50, 4s × 64w; ResNeXt's cardinality 32 spread over the 4 splits: TGC with 8 groups per split. */
export function tiedResNeXt50(options: TiedPresetOptions = {}): TiedResNet {
  return tied(R50, { splits: 4, baseWidth: 64, groups: 8 }, options);
}

/** TiedResNeXt-50-S, 4s × 36w, 8 groups per split (fitted to the block widths). */
export function tiedResNeXt50S(options: TiedPresetOptions = {}): TiedResNet {
  return tied(R50, { splits: 4, baseWidth: 36, groups: 8 }, options);
}

/** TiedResNet-50 with SENet's SE after every bn3. */
export function tiedResNet50SE(options: TiedPresetOptions = {}): TiedResNet {
  return tied(R50, { splits: 4, baseWidth: 32, se: SE }, options);
}

/** TiedResNet-50 with TiedSE (B = 8) after every bn3. */
export function tiedResNet50TiedSE(options: TiedPresetOptions = {}): TiedResNet {
  return tied(R50, { splits: 4, baseWidth: 32, se: TIED_SE }, options);
}

// Small presets (tests, demos) ------------------------------------------------------------------------------

/**
 * TiedResNet-Tiny: one TiedBottleneck per stage, 4 splits × 8 width, expansion 1 (C2–C5 channels 64, 128, 256,
 * 512; ≈ 0.5 M parameters without the classifier). Not a paper model: a network small enough to train a detector
 * end to end in a CI test ("it learns") while keeping every tied layer kind (entry TBC, split TBCs with B = 1, 2,
 * 4, 8, the sum mixer).
 */
export function tiedResNetTiny(options: TiedPresetOptions = {}): TiedResNet {
  return tied([1, 1, 1, 1], { splits: 4, baseWidth: 8, expansion: 1 }, options);
}
