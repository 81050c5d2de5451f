/**
 * The WebGPU backend in Node: Dawn (`dawn.node` from the optional npm package `webgpu`) + TF.js's
 * `@tensorflow/tfjs-backend-webgpu` (optional as well). Used by ./index.ts; nothing here chooses a backend.
 *
 * - `probeWebgpu()` loads Dawn, asks for an adapter and describes it (vendor, architecture, description, the two
 *   limits that bound a batch) — or says why there is none and what to install. A software adapter (SwiftShader,
 *   llvmpipe/lavapipe, WARP, or anything Dawn marks as a fallback adapter) is flagged: `auto` skips it, it is only
 *   used when `webgpu` is asked for by name.
 * - Linux: Dawn opens the Vulkan loader `libvulkan.so.1` by name. When the system has none (Debian: package
 *   `libvulkan1`), the copy Debian's `chromium` ships in /usr/lib/chromium is preloaded (or `TIEDET_VULKAN_LOADER`);
 *   the dynamic linker then resolves Dawn's `dlopen("libvulkan.so.1")` to it by its soname.
 * - `startWebgpu()` registers the `webgpu` TF.js backend on the probed adapter's device (our own factory instead of
 *   the package's, so the device's `lost` promise and uncaptured errors — out of memory, a buffer over
 *   `maxBufferSize` — are recorded: `webgpuFault()` / `assertWebgpuHealthy()` turn them into one clear error).
 * - Synchronous reads: the backend's `readSync` of a tensor whose values are not on the CPU needs `OffscreenCanvas`,
 *   which Node lacks. tiedet never reads synchronously on webgpu (it awaits `tensor.data()`, which also caches the
 *   values on the CPU, after which `dataSync()` is free — see ./async-read.ts); `readSync` is wrapped so that a read
 *   that would hit the GPU fails with a message saying so instead of "OffscreenCanvas is not defined".
 */
import { existsSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';

/** The adapter Dawn offers, as `tiedet info` shows it. */
export interface WebgpuAdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  /** Dawn marks CPU implementations (SwiftShader) as fallback adapters. */
  isFallbackAdapter: boolean;
  /** A software rasteriser (SwiftShader, llvmpipe/lavapipe, WARP) or a fallback adapter. */
  software: boolean;
  /** Bytes; the largest single tensor. */
  maxBufferSize: number;
  /** Bytes; the largest tensor one kernel binds. */
  maxStorageBufferBindingSize: number;
}

export interface WebgpuProbe {
  /** Dawn loaded and gave an adapter. */
  available: boolean;
  adapter: WebgpuAdapterInfo | null;
  /** Why webgpu cannot be used (null when an adapter was found). */
  reason: string | null;
  /** What to install or set to make it work (null when nothing is missing). */
  fix: string | null;
  /** Linux: which Vulkan loader Dawn uses ('system', a preloaded path, or null when none was found). */
  vulkanLoader: string | null;
}

/** The ICD file of the SwiftShader Vulkan driver in Debian's `chromium` package. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const CHROMIUM_VULKAN_LOADER = '/usr/lib/chromium/libvulkan.so.1';
/** glibc's RTLD_NODELETE (Node's os.constants.dlopen does not list it): the library stays after a failed load. */
const RTLD_NOW = 2;
const RTLD_GLOBAL = 256;
const RTLD_NODELETE = 0x1000;

interface GpuLike {
  requestAdapter(o?: { powerPreference?: string; forceFallbackAdapter?: boolean }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  info?: Record<string, unknown>;
  isFallbackAdapter?: boolean;
  limits: Record<string, number>;
  features: { has(f: string): boolean };
  requestDevice(d?: unknown): Promise<DeviceLike>;
}
interface DeviceLike {
  lost: Promise<{ reason: string; message: string }>;
  onuncapturederror: ((ev: { error: { message: string; constructor: { name: string } } }) => void) | null;
  limits: Record<string, number>;
}

let probed: WebgpuProbe | undefined;
let adapter: AdapterLike | null = null;
let fault: string | null = null;
let started = false;

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
}

function isMissingModule(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** Linux: make sure Dawn can open a Vulkan loader (see the file comment). Returns which one, or null. */
function ensureVulkanLoader(): string | null {
  if (process.platform !== 'linux') return 'system';
  const tryOpen = (path: string): 'ok' | 'missing' | string => {
    try {
      process.dlopen({ exports: {} }, path, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE);
      return 'ok';
    } catch (e) {
      const msg = firstLine(e);
      // Not a Node addon: it loaded (and stays loaded, RTLD_NODELETE), which is all we want.
      if (/did not self-register/.test(msg)) return 'ok';
      return /cannot open shared object file|No such file/.test(msg) ? 'missing' : msg;
    }
  };
  const forced = process.env.TIEDET_VULKAN_LOADER;
  if (forced) return tryOpen(forced) === 'ok' ? forced : null;
  if (tryOpen('libvulkan.so.1') === 'ok') return 'system';
  if (existsSync(CHROMIUM_VULKAN_LOADER) && tryOpen(CHROMIUM_VULKAN_LOADER) === 'ok') return CHROMIUM_VULKAN_LOADER;
  return null;
}

/** Linux: is any Vulkan driver (ICD manifest) configured? Without one Dawn finds nothing (and prints warnings). */
function vulkanIcdPresent(): boolean {
  if (process.platform !== 'linux') return true;
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES || process.env.VK_ADD_DRIVER_FILES) return true;
  const dirs = [
    ...(process.env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':').map((d) => `${d}/vulkan/icd.d`),
    '/etc/vulkan/icd.d',
    `${process.env.HOME ?? ''}/.local/share/vulkan/icd.d`,
  ];
  return dirs.some((d) => {
    try {
      return readdirSync(d).some((f) => f.endsWith('.json'));
    } catch {
      return false;
    }
  });
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

function describe(a: AdapterLike): WebgpuAdapterInfo {
  const info = a.info ?? {};
  const str = (k: string) => (typeof info[k] === 'string' ? (info[k] as string) : '');
  const isFallbackAdapter = Boolean(info.isFallbackAdapter ?? a.isFallbackAdapter ?? false);
  const vendor = str('vendor');
  const architecture = str('architecture');
  const description = str('description');
  return {
    vendor,
    architecture,
    description,
    isFallbackAdapter,
    software: isFallbackAdapter || SOFTWARE.test(`${vendor} ${architecture} ${description} ${str('device')}`),
    maxBufferSize: a.limits.maxBufferSize ?? 0,
    maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize ?? 0,
  };
}

const INSTALL_HINT =
  'npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0 (optional dependencies of tiedet; `npm ci` installs them where they build)';

function vulkanHint(): string {
  return (
    'a GPU with a Vulkan driver: Debian/Ubuntu `apt-get install libvulkan1` plus the driver\'s ICD ' +
    '(NVIDIA: the driver\'s nvidia_icd.json, e.g. VK_DRIVER_FILES=/usr/share/vulkan/icd.d/nvidia_icd.json; ' +
    'AMD/Intel: mesa-vulkan-drivers). Without a GPU, for tests only: ' +
    `VK_ICD_FILENAMES=${SWIFTSHADER_ICD} (Debian's chromium package) with --backend webgpu`
  );
}

/**
 * The GPU device nodes of this Linux machine (`/dev/dri/renderD*`, `/dev/nvidia*`, WSL's `/dev/dxg`); [] elsewhere
 * is not meaningful (other platforms are always probed).
 */
export function gpuDeviceNodes(): string[] {
  const found: string[] = [];
  try {
    found.push(...readdirSync('/dev/dri').filter((f) => f.startsWith('renderD')).map((f) => `/dev/dri/${f}`));
  } catch {
    // no /dev/dri
  }
  try {
    found.push(...readdirSync('/dev').filter((f) => /^nvidia\d+$/.test(f) || f === 'dxg').map((f) => `/dev/${f}`));
  } catch {
    // no /dev listing
  }
  return found;
}

/**
 * `probeWebgpu` for the automatic backend choice, which wants webgpu only on a GPU: on Linux without a GPU device
 * node (and no `VK_ICD_FILENAMES` naming a driver) Dawn is not loaded at all — loading it there only finds software
 * Vulkan drivers (Mesa's lavapipe, SwiftShader), whose enumeration prints Dawn warnings on stderr with native
 * source locations, on every command. `--backend webgpu` still probes.
 */
export async function probeWebgpuForAuto(): Promise<WebgpuProbe> {
  if (probed) return probed;
  if (process.platform === 'linux' && !process.env.VK_ICD_FILENAMES && gpuDeviceNodes().length === 0) {
    return {
      available: false,
      adapter: null,
      reason: 'no GPU on this machine (no /dev/dri/renderD*, /dev/nvidia*, /dev/dxg): webgpu not probed',
      fix: vulkanHint(),
      vulkanLoader: null,
    };
  }
  return probeWebgpu();
}

/** Load Dawn and find an adapter (cached). Never throws; the result says why webgpu is unavailable. */
export async function probeWebgpu(): Promise<WebgpuProbe> {
  if (probed) return probed;
  const none = (reason: string, fix: string, vulkanLoader: string | null = null): WebgpuProbe =>
    (probed = { available: false, adapter: null, reason, fix, vulkanLoader });
  const vulkanLoader = ensureVulkanLoader();
  let dawn: { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
  try {
    const name = 'webgpu'; // a variable specifier: the optional package's types are not needed to build
    dawn = (await import(name)) as typeof dawn;
  } catch (e) {
    return isMissingModule(e)
      ? none('the npm package "webgpu" (Dawn for Node) is not installed', INSTALL_HINT, vulkanLoader)
      : none(`Dawn (npm "webgpu") failed to load: ${firstLine(e)}`, INSTALL_HINT, vulkanLoader);
  }
  if (!vulkanIcdPresent()) return none('no Vulkan driver (ICD) is installed on this machine', vulkanHint(), vulkanLoader);
  Object.assign(globalThis, dawn.globals); // GPUBufferUsage, GPUShaderStage, … which the TF.js backend reads
  const gpu = dawn.create([]);
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  let a: AdapterLike | null = null;
  try {
    a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return none(`Dawn found no adapter: ${firstLine(e)}`, vulkanHint(), vulkanLoader);
  }
  if (!a) {
    const why =
      vulkanLoader === null
        ? 'no Vulkan loader (libvulkan.so.1) on this machine'
        : 'Dawn found no GPU adapter (no Vulkan/Metal/D3D12 driver; Dawn prints the details on stderr)';
    return none(why, vulkanHint(), vulkanLoader);
  }
  adapter = a;
  probed = { available: true, adapter: describe(a), reason: null, fix: null, vulkanLoader };
  return probed;
}

/** The TF.js webgpu backend class (the package's export). */
type BackendCtor = new (device: DeviceLike, adapterInfo: unknown) => tf.KernelBackend;

/**
 * Register and select the `webgpu` TF.js backend on the probed adapter. Throws with the reason and the fix when
 * there is no adapter or the TF.js package is missing.
 */
export async function startWebgpu(): Promise<void> {
  const p = await probeWebgpu();
  if (!p.available || !adapter) throw new Error(`${p.reason}; to use it: ${p.fix}`);
  if (!started) {
    let mod: { WebGPUBackend: BackendCtor };
    try {
      const name = '@tensorflow/tfjs-backend-webgpu';
      mod = (await import(name)) as { WebGPUBackend: BackendCtor };
    } catch (e) {
      throw new Error(
        isMissingModule(e)
          ? `@tensorflow/tfjs-backend-webgpu is not installed; to use it: ${INSTALL_HINT}`
          : `@tensorflow/tfjs-backend-webgpu failed to load: ${firstLine(e)}`,
      );
    }
    const chosen = adapter;
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend(
      'webgpu',
      async () => {
        // The limits the package's own factory asks for: the adapter's, so big batches are not capped by defaults.
        const l = chosen.limits;
        const requiredLimits: Record<string, number> = {};
        for (const k of [
          'maxComputeWorkgroupStorageSize',
          'maxComputeWorkgroupsPerDimension',
          'maxStorageBufferBindingSize',
          'maxBufferSize',
          'maxComputeWorkgroupSizeX',
          'maxComputeInvocationsPerWorkgroup',
        ]) {
          if (typeof l[k] === 'number') requiredLimits[k] = l[k]!;
        }
        const requiredFeatures = ['timestamp-query'].filter((f) => chosen.features.has(f));
        const device = await chosen.requestDevice({ requiredFeatures, requiredLimits });
        void device.lost.then((info) => {
          if (info.reason !== 'destroyed') fault ??= `the GPU device was lost (${info.reason}): ${info.message}`;
        });
        device.onuncapturederror = (ev) => {
          const kind = ev.error.constructor?.name ?? 'GPUError';
          fault ??= `${kind === 'GPUOutOfMemoryError' ? 'GPU out of memory' : kind}: ${firstLine(ev.error.message)}`;
        };
        return new mod.WebGPUBackend(device, chosen.info);
      },
      1,
    );
    started = true;
  }
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false (see the error above)');
  guardSyncReads(tf.backend());
}

/**
 * A sticky error of the GPU device (lost, out of memory, a validation error), or null. After one, results on this
 * device are not trustworthy: stop and say so.
 */
export function webgpuFault(): string | null {
  return fault;
}

/** Throw `what` + the device error when the device has reported one. */
export function assertWebgpuHealthy(what: string): void {
  if (fault) throw new Error(`${what}: ${fault}`);
}

/** Tests only: forget a recorded fault. */
export function clearWebgpuFault(): void {
  fault = null;
}

/** Tests only: record a fault as the device would (to check how callers report it). */
export function injectWebgpuFault(message: string): void {
  fault = message;
}

interface ReadableBackend {
  readSync(dataId: object): unknown;
  tensorMap: { get(id: object): { values: unknown; shape: number[]; dtype: string } | undefined };
  tiedetSyncGuard?: true;
}

/** Wrap the backend's readSync: a read that needs the GPU throws a message naming the tensor (see the file comment). */
function guardSyncReads(backend: tf.KernelBackend): void {
  const b = backend as unknown as ReadableBackend;
  if (b.tiedetSyncGuard) return;
  const stock = b.readSync.bind(b);
  b.readSync = (dataId: object) => {
    const d = b.tensorMap.get(dataId);
    if (d && d.values == null && d.dtype !== 'string') {
      throw new Error(
        `synchronous read of a GPU tensor [${d.shape.join(', ')}] ${d.dtype} on webgpu: Node has no synchronous GPU ` +
          'read; await tensor.data() (or readAll() in src/engine/async-read.ts) first',
      );
    }
    return stock(dataId);
  };
  b.tiedetSyncGuard = true;
}
