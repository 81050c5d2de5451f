/**
 * `tiedet params`: a Table-1-style comparison of every backbone preset — parameters, GMACs at an input size and
 * both as ratios to torchvision's ResNet-50 — as text or JSON.
 *
 * Counting (src/backbones/complexity.ts): parameters are the module's own count (1000-class fc included, as in
 * the paper's Table 1; `backboneParams` leaves the fc out); MACs are conv + linear multiply–accumulates only
 * (fvcore / torchvision convention: ResNet-50 at 224×224 = 4.09 G), computed analytically — nothing runs, and
 * weights are created zero-filled (`init: 'zeros'`), so the whole table takes a few seconds.
 *
 * The name → factory table of the presets is tools/backbone-presets.ts (shared with the benchmarks).
 */
import type { CommandModule } from 'yargs';
import { engineOptions } from './cli-args.js';

import type { BackendRequest } from '../src/engine/index.js';
import { loadPresets, parseInput, PRESETS, selectPresets, type PresetEntry, type PresetsModule } from './backbone-presets.js';

export const MAC_CONVENTION =
  'MACs = conv + linear multiply-accumulates only (fvcore/torchvision convention; BN, ReLU, pooling and adds not counted), batch 1';

export interface PresetCount {
  name: string;
  label: string;
  /** All parameters (1000-class fc included). */
  params: number;
  /** Parameters without the classifier (what a detector keeps). */
  backboneParams: number;
  macs: number;
  paramsM: number;
  gmacs: number;
  /** params / ResNet-50's. */
  paramsRatio: number;
  /** MACs / ResNet-50's at the same input. */
  macsRatio: number;
}

export interface ParamsReport {
  input: { height: number; width: number };
  convention: string;
  reference: string;
  presets: PresetCount[];
}

type ComplexityFn = typeof import('../src/backbones/complexity.js').complexity;

function count(
  m: PresetsModule,
  complexity: ComplexityFn,
  entry: PresetEntry,
  input: [number, number],
): { params: number; backboneParams: number; macs: number } {
  const model = entry.pick(m)({ init: 'zeros', frozenStages: -1 });
  try {
    const c = complexity(model, input);
    return { params: c.params, backboneParams: c.params - (model.fc?.numParameters() ?? 0), macs: c.macs };
  } finally {
    model.dispose();
  }
}

/** Count the selected presets at `input` (ratios against ResNet-50 at the same input). */
export async function paramsReport(entries: readonly PresetEntry[], input: [number, number]): Promise<ParamsReport> {
  const [m, { complexity }] = await Promise.all([loadPresets(), import('../src/backbones/complexity.js')]);
  const reference = PRESETS[0]!;
  const ref = count(m, complexity, reference, input);
  const rows = entries.map((e) => {
    const c = e === reference ? ref : count(m, complexity, e, input);
    return {
      name: e.name,
      label: e.label,
      ...c,
      paramsM: c.params / 1e6,
      gmacs: c.macs / 1e9,
      paramsRatio: c.params / ref.params,
      macsRatio: c.macs / ref.macs,
    };
  });
  return { input: { height: input[0], width: input[1] }, convention: MAC_CONVENTION, reference: reference.name, presets: rows };
}

export function formatParams(report: ParamsReport): string {
  const header = ['preset', 'model', 'params (M)', 'vs R50', 'backbone (M)', 'GMACs', 'vs R50'];
  const rows = report.presets.map((p) => [
    p.name,
    p.label,
    p.paramsM.toFixed(2),
    p.paramsRatio.toFixed(3),
    (p.backboneParams / 1e6).toFixed(2),
    p.gmacs.toFixed(2),
    p.macsRatio.toFixed(3),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    `Backbones at ${report.input.height}×${report.input.width} — params include the 1000-class fc ("backbone": without it);`,
    `${report.convention}; ratios vs ResNet-50 at the same input.`,
    '',
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

export interface ParamsArgs {
  backend?: string;
  threads?: number;
  input: string;
  json: boolean;
  presets?: string;
}

export const paramsCommand: CommandModule<object, ParamsArgs> = {
  command: 'params',
  describe: 'Parameters and GMACs of every backbone preset (a Table-1-style comparison with ResNet-50)',
  builder: (y) =>
    engineOptions(y)
      .option('input', { type: 'string', default: '224x224', describe: 'input size HEIGHTxWIDTH (e.g. 224x224, 800x1333)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON instead of a table' })
      .option('presets', { type: 'string', describe: `comma-separated subset (default: all): ${PRESETS.map((p) => p.name).join(', ')}` })
      .example('$0 params', 'all presets at 224×224')
      .example('$0 params --input 800x1333 --presets resnet50,tiedResNet50 --json', 'detection-size input, JSON') as never,
  handler: async (args) => {
    const input = parseInput(args.input);
    const entries = selectPresets(args.presets);
    const { initEngine } = await import('../src/engine/index.js');
    await initEngine({ backend: args.backend as BackendRequest | undefined, threads: args.threads });
    const report = await paramsReport(entries, input);
    process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatParams(report)}\n`);
  },
};
