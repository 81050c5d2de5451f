/** `tiedet info`: which backend runs, with how many threads, and why the GPU backend is or is not in use. */
import { availableParallelism, cpus, totalmem } from 'node:os';
import type { CommandModule } from 'yargs';
import { engineOptions } from './cli-args.js';
import type { BackendRequest, EngineInfo } from '../src/engine/index.js';

export interface InfoArgs {
  backend?: string;
  threads?: number;
  json?: boolean;
}

export function formatInfo(info: EngineInfo): string {
  const rows: [string, string][] = [
    ['backend', info.backend + (info.requested !== info.backend ? ` (requested: ${info.requested})` : '')],
    ['threads', String(info.threads)],
    ['SIMD', info.backend === 'wasm' ? (info.simd ? 'yes' : 'no') : 'n/a'],
    ['TF.js', info.tfjsVersion],
    ['tfjs-backend-wasm', info.wasmVersion ?? 'not loaded'],
    ['Node.js', info.nodeVersion],
    ['tfjs-node-gpu', info.gpu.loaded ? 'loaded' : `not used: ${info.gpu.reason}`],
    ...webgpuRows(info),
    ['project kernels', info.projectKernels.length ? info.projectKernels.join(', ') : 'none'],
    ['machine', `${availableParallelism()} logical cores (${cpus()[0]?.model.trim() ?? '?'}), ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
  ];
  for (const f of info.fallbacks) if (f.backend !== 'tensorflow' && f.backend !== 'webgpu') rows.push([`skipped ${f.backend}`, f.reason]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

const MiB = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;

/** The webgpu adapter, or why webgpu is not in use and how to fix that. */
function webgpuRows(info: EngineInfo): [string, string][] {
  const w = info.webgpu;
  const a = w.adapter;
  const rows: [string, string][] = [];
  if (a) {
    rows.push([
      'webgpu adapter',
      `${a.vendor || '?'} / ${a.architecture || '?'} / ${a.description || '?'}${a.software ? ' (software)' : ''}`,
    ]);
    rows.push(['webgpu limits', `maxBufferSize ${MiB(a.maxBufferSize)}, maxStorageBufferBindingSize ${MiB(a.maxStorageBufferBindingSize)}`]);
  }
  if (info.backend !== 'webgpu') {
    const skipped = info.fallbacks.find((f) => f.backend === 'webgpu');
    const why = w.reason ?? skipped?.reason ?? (a ? `not requested (--backend ${info.requested})` : 'not probed');
    rows.push(['webgpu', `not used: ${why}`]);
    if (w.fix) rows.push(['webgpu fix', w.fix]);
  }
  if (w.vulkanLoader && w.vulkanLoader !== 'system') rows.push(['vulkan loader', w.vulkanLoader]);
  return rows;
}

export const infoCommand: CommandModule<object, InfoArgs> = {
  command: 'info',
  describe: 'Show the TF.js backend in use (tensorflow-gpu, webgpu, wasm or cpu), the WebGPU adapter, threads, SIMD and versions',
  builder: (y) =>
    engineOptions(y)
      .option('json', { type: 'boolean', default: false, describe: 'print JSON instead of a table' })
      .example('$0 info', 'backend, threads and versions')
      .example('$0 info --backend cpu --json', 'what the cpu backend reports, as JSON') as never,
  handler: async (args) => {
    const { initEngine } = await import('../src/engine/index.js'); // TF.js loads only for commands that need it
    const info = await initEngine({ backend: args.backend as BackendRequest | undefined, threads: args.threads });
    process.stdout.write(args.json ? `${JSON.stringify(info, null, 2)}\n` : `${formatInfo(info)}\n`);
  },
};
