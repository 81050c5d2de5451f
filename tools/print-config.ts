/**
 * `tiedet print-config CONFIG [--cfg-options a.b=c …] [--json]`: the resolved config — the file that was loaded,
 * `--cfg-options` applied and validated, the class count it will train with — without building the model or
 * touching the engine (mmdetection's tools/misc/print_config.py).
 */
import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { readJsonFile } from '../eval/json.js';
import { CliError, toCliError } from './cli-error.js';

export interface PrintConfigArgs {
  config: string;
  'cfg-options'?: string[];
  json?: boolean;
}

/** The category count of an annotation file, or a note why it is not known. */
function categoriesOf(annFile: string): { count: number | null; note: string } {
  if (!existsSync(annFile)) return { count: null, note: `${annFile} does not exist yet` };
  try {
    const json = readJsonFile(annFile, 'annotation file') as { categories?: unknown };
    if (Array.isArray(json.categories)) return { count: json.categories.length, note: `${json.categories.length} categories in ${annFile}` };
    return { count: null, note: `${annFile} has no 'categories' list` };
  } catch (e) {
    return { count: null, note: (e as Error).message.split('\n')[0]! };
  }
}

export async function runPrintConfig(args: PrintConfigArgs, out: (s: string) => void): Promise<void> {
  const { loadConfig } = await import('../configs/load.js');
  let cfg: Awaited<ReturnType<typeof loadConfig>>;
  try {
    cfg = await loadConfig(args.config, { cfgOptions: (args['cfg-options'] ?? []).map(String) });
  } catch (e) {
    throw toCliError(e);
  }
  const pinned = cfg.data.numClasses ?? 'auto';
  const train = categoriesOf(cfg.data.data.train.annFile);
  const numClasses =
    pinned !== 'auto'
      ? { value: pinned, how: `pinned by the config${train.count !== null && train.count !== pinned ? ` — but ${train.note}: training would stop` : ''}` }
      : { value: train.count, how: `'auto': follows the training set (${train.note})` };
  if (args.json) {
    out(`${JSON.stringify({ name: cfg.name, file: cfg.file, cfgOptions: cfg.cfgOptions, numClasses, config: cfg.data }, null, 2)}\n`);
    return;
  }
  out(`config: ${cfg.name} (${cfg.file})\n`);
  for (const n of cfg.notes) out(`note: ${n}\n`);
  if (cfg.cfgOptions.length) out(`overrides: ${cfg.cfgOptions.join(' ')}\n`);
  out(`numClasses: ${numClasses.value ?? 'auto'} — ${numClasses.how}\n`);
  out(`${JSON.stringify(cfg.data, null, 2)}\n`);
}

export const printConfigCommand: CommandModule<object, PrintConfigArgs> = {
  command: 'print-config <config>',
  describe: 'Show a config as it resolves (file, --cfg-options applied and checked, numClasses) without training',
  builder: (y) =>
    y
      .positional('config', { type: 'string', demandOption: true, describe: 'a config file (.ts/.js) or the name of one in configs/' })
      .option('cfg-options', { type: 'string', array: true, describe: 'override config fields: a.b=c (e.g. train.lr=0.005 numClasses=8)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .example('$0 print-config mask-rcnn_tiedresnet_synthetic_tiny', 'the demo config, resolved')
      .example('$0 print-config retinanet_tiedresnet_synthetic_small --cfg-options train.lr=0.002 --json', 'with an override, as JSON') as never,
  handler: async (args) => {
    try {
      await runPrintConfig(args, (s) => process.stdout.write(s));
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw toCliError(e);
    }
  },
};
