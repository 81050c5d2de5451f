/**
 * The one place that chooses and prepares the TF.js backend.
 *
 * Order for `backend: 'auto'` (the default): `tensorflow` (from the optional dependency
 * `@tensorflow/tfjs-node-gpu`, used when it loads) → `webgpu` (Dawn + `@tensorflow/tfjs-backend-webgpu`, optional
 * dependencies; only on a hardware adapter — a software one such as SwiftShader is used only when `webgpu` is asked
 * for by name; ./webgpu.ts) → `wasm` (SIMD, multi-threaded, with tiedet's gradient kernels) → `cpu` (pure JS; for
 * cross-checking kernels only). `TIEDET_BACKEND` and `TIEDET_THREADS` override the defaults;
 * explicit options override the environment.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { registerWasmKernels, wasmKernelNames } from './kernels/index.js';
import { installEagerBackprop } from './eager-backprop.js';
import { loadThreadedWasmBackend, type WasmBackendModule } from './wasm-threads.js';
import { guardWasmMalloc, type WasmHeapModule } from './wasm-heap-guard.js';
import { probeWebgpu, probeWebgpuForAuto, startWebgpu, type WebgpuProbe } from './webgpu.js';

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type BackendRequest = BackendName | 'auto';

export interface EngineOptions {
  /** Which backend; default `TIEDET_BACKEND` or 'auto'. */
  backend?: BackendRequest;
  /** wasm threads; default `TIEDET_THREADS` or the number of logical cores. 1 = no worker threads. */
  threads?: number;
}

export interface EngineInfo {
  backend: BackendName;
  requested: BackendRequest;
  /** wasm only: SIMD in use. */
  simd: boolean;
  /** wasm: XNNPACK threads actually in use; tensorflow/cpu: 1 (tensorflow manages its own threads). */
  threads: number;
  tfjsVersion: string;
  wasmVersion: string | null;
  nodeVersion: string;
  /** Whether `@tensorflow/tfjs-node-gpu` loaded, and if not, why. */
  gpu: { loaded: boolean; reason: string | null };
  /** The webgpu probe: the adapter (vendor, architecture, limits) or why there is none and how to fix it. */
  webgpu: WebgpuProbe;
  /** Kernels tiedet registered for this backend (gradients that stock TF.js lacks on wasm). */
  projectKernels: string[];
  /** Backends tried before the chosen one and why each was not used. */
  fallbacks: { backend: BackendName; reason: string }[];
}

const BACKENDS: readonly BackendRequest[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

let current: EngineInfo | undefined;
let wasmModule: WasmBackendModule | undefined;
let wasmThreads = 0;
let gpuProbe: { loaded: boolean; reason: string | null } | undefined;

function parseBackend(value: string, source: string): BackendRequest {
  const v = value.trim().toLowerCase();
  if (!(BACKENDS as readonly string[]).includes(v)) {
    throw new Error(`${source}: unknown backend "${value}"; expected one of ${BACKENDS.join(', ')}`);
  }
  return v as BackendRequest;
}

function parseThreads(value: unknown, source: string): number {
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new Error(`${source} must be an integer from 1 to 64, got "${String(value)}"`);
  }
  return n;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.trim();
}

async function probeGpu(): Promise<{ loaded: boolean; reason: string | null }> {
  if (gpuProbe) return gpuProbe;
  try {
    // A variable specifier keeps TypeScript from requiring the optional package's types at build time.
    const name = '@tensorflow/tfjs-node-gpu';
    await import(name);
    gpuProbe = tf.findBackend('tensorflow')
      ? { loaded: true, reason: null }
      : { loaded: false, reason: 'the package loaded but registered no "tensorflow" backend' };
  } catch (e) {
    const code = (e as { code?: string }).code;
    gpuProbe = {
      loaded: false,
      reason:
        code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
          ? '@tensorflow/tfjs-node-gpu is not installed (its install step downloads libtensorflow; it is an ' +
            'optional dependency and was skipped)'
          : `@tensorflow/tfjs-node-gpu failed to load: ${firstLine(e)}`,
    };
  }
  return gpuProbe;
}

async function useWasm(threads: number): Promise<void> {
  if (!wasmModule) {
    wasmModule = loadThreadedWasmBackend(threads);
    wasmThreads = threads;
    // The stock flag is hard-wired to false in Node; our loader makes threads work, so say what we want.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threads > 1);
    wasmModule.setThreadsCount(threads);
  } else if (threads !== wasmThreads) {
    throw new Error(
      `tiedet engine: the wasm backend was already started with ${wasmThreads} thread(s) in this process; ` +
        `cannot change to ${threads}`,
    );
  }
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('tf.setBackend("wasm") returned false');
  await tf.ready();
}

/**
 * The cpu backend prints a banner recommending tfjs-node on its first use in Node. tiedet says which backend runs
 * and how to get the GPU one (`tiedet info`, README), and tests use cpu as a reference: mark the banner as shown.
 */
function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}

/**
 * Choose, initialise and prepare the backend. Safe to call more than once: the same request returns the same
 * engine; a different backend switches to it (tensors made before do not move).
 */
export async function initEngine(options: EngineOptions = {}): Promise<EngineInfo> {
  const requested =
    options.backend ?? (process.env.TIEDET_BACKEND ? parseBackend(process.env.TIEDET_BACKEND, 'TIEDET_BACKEND') : 'auto');
  if (!BACKENDS.includes(requested)) {
    throw new Error(`initEngine: unknown backend "${String(requested)}"; expected one of ${BACKENDS.join(', ')}`);
  }
  const threads =
    options.threads !== undefined
      ? parseThreads(options.threads, 'threads (--threads)')
      : process.env.TIEDET_THREADS
        ? parseThreads(process.env.TIEDET_THREADS, 'TIEDET_THREADS')
        : availableParallelism();

  if (current && current.requested === requested && (current.backend !== 'wasm' || current.threads === threads)) {
    if (tf.getBackend() !== current.backend) await tf.setBackend(current.backend);
    return current;
  }

  const fallbacks: { backend: BackendName; reason: string }[] = [];
  const order: BackendName[] = requested === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [requested];
  let chosen: BackendName | undefined;
  const gpu = await probeGpu();
  // Dawn is loaded only where webgpu could be chosen or is asked for (probeWebgpuForAuto: not on GPU-less Linux)
  const webgpu = requested === 'webgpu' ? await probeWebgpu() : await probeWebgpuForAuto();
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        if (!gpu.loaded) throw new Error(gpu.reason ?? 'not loaded');
        if (!(await tf.setBackend('tensorflow'))) throw new Error('tf.setBackend("tensorflow") returned false');
      } else if (name === 'webgpu') {
        const a = webgpu.adapter;
        if (!webgpu.available) throw new Error(`${webgpu.reason ?? 'no webgpu adapter'}${webgpu.fix ? `; to use it: ${webgpu.fix}` : ''}`);
        if (requested === 'auto' && a?.software) {
          throw new Error(
            `software adapter skipped (${a.description || a.architecture}; auto uses webgpu only on a GPU — ` +
              'ask for it with --backend webgpu / TIEDET_BACKEND=webgpu)',
          );
        }
        await startWebgpu();
      } else if (name === 'wasm') {
        await useWasm(threads);
      } else {
        if (!(await tf.setBackend('cpu'))) throw new Error('tf.setBackend("cpu") returned false');
      }
      chosen = name;
      break;
    } catch (e) {
      fallbacks.push({ backend: name, reason: firstLine(e) });
    }
  }
  if (!chosen) {
    throw new Error(
      `tiedet engine: no usable backend for "${requested}": ` +
        fallbacks.map((f) => `${f.backend}: ${f.reason}`).join('; '),
    );
  }
  await tf.ready();
  silenceCpuBanner();
  installEagerBackprop();
  if (chosen === 'wasm') {
    registerWasmKernels();
    guardWasmMalloc((tf.backend() as unknown as { wasm: WasmHeapModule }).wasm);
  }
  const projectKernels = chosen === 'wasm' ? wasmKernelNames() : [];
  current = {
    backend: chosen,
    requested,
    simd: chosen === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : false,
    threads: chosen === 'wasm' && wasmModule ? wasmModule.getThreadsCount() : 1,
    tfjsVersion: tf.version.tfjs,
    wasmVersion: wasmModule ? wasmModule.version_wasm : null,
    nodeVersion: process.versions.node,
    gpu,
    webgpu,
    projectKernels,
    fallbacks,
  };
  return current;
}

/** The engine chosen by the last `initEngine`, if any. */
export function engineInfo(): EngineInfo | undefined {
  return current;
}
