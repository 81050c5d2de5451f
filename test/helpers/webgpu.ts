/**
 * WebGPU in tests: SwiftShader (Debian chromium's CPU Vulkan driver) when the machine has no GPU. `webgpuForTests()`
 * points the Vulkan loader at SwiftShader's ICD (when the file exists and no driver is set), probes Dawn, and says
 * whether webgpu runs here. Without an adapter a test file skips with the reason printed — except under CI
 * (`process.env.CI` set), where it fails: CI installs chromium, so a missing adapter there is a broken set-up.
 */
import { existsSync } from 'node:fs';
import { probeWebgpu, SWIFTSHADER_ICD, type WebgpuProbe } from '../../src/engine/webgpu.js';

export interface WebgpuForTests {
  /** true: run the webgpu tests. */
  available: boolean;
  /** Why not (printed when skipping). */
  reason: string | null;
  probe: WebgpuProbe;
}

let cached: WebgpuForTests | undefined;

export async function webgpuForTests(): Promise<WebgpuForTests> {
  if (cached) return cached;
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const probe = await probeWebgpu();
  const reason = probe.available ? null : `webgpu: ${probe.reason} (${probe.fix})`;
  if (!probe.available) {
    if (process.env.CI) throw new Error(`CI: no WebGPU adapter for the webgpu tests — ${reason}`);
    console.warn(`skipping webgpu tests: ${reason}`);
  }
  cached = { available: probe.available, reason, probe };
  return cached;
}
