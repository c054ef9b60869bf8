/**
 * Dawn prints two adapter warnings straight to the process's stderr (native fprintf, so no JS hook
 * sees them) on every run on lavapipe:
 *   "Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 …"
 * They say nothing a user can act on (nor do the Vulkan loader's lines on a machine with no driver). When a command may touch the GPU, `ctwin` runs itself once
 * more as a child with stderr piped through `filterDawnWarnings`; `ctwin doctor --verbose` shows them.
 */
import { spawn } from 'node:child_process';

const DAWN_WARNINGS = [
  /^Warning: max\w+ artificially reduced from \d+ to \d+/,
  // Without any Vulkan driver (no GPU, scripts/setup-webgpu.sh not run) the loader and Dawn say so
  // in three lines and a native stack frame; the engine then runs on the CPU and says that itself.
  /^Warning: (loader_get_json: Failed to open JSON file|vkCreateInstance: Found no drivers!|vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER)/,
  /^\s+at CheckVkSuccessImpl \(/,
];
const PREFIXES = ['Warning: ', '    at CheckVkSuccessImpl'];

/** A stream filter: complete lines matching Dawn's warnings are dropped, everything else passes at once. */
export function filterDawnWarnings(write: (text: string) => void): { push(chunk: string): void; end(): void } {
  let pending = '';
  const flush = (final: boolean) => {
    const lines = pending.split('\n');
    pending = lines.pop()!;
    let out = '';
    for (const line of lines) if (!DAWN_WARNINGS.some((w) => w.test(line))) out += line + '\n';
    // A partial line is held only while it could still become one of Dawn's warnings (progress
    // lines ending in \r pass through at once).
    const couldBeDawn = PREFIXES.some((p) => p.startsWith(pending) || pending.startsWith(p));
    if (final || (pending && !couldBeDawn)) { out += pending; pending = ''; }
    if (out) write(out);
  };
  return { push: (chunk) => { pending += chunk; flush(false); }, end: () => flush(true) };
}

/** Re-runs this CLI as a child with stderr filtered; resolves with the child's exit code. */
export function runFiltered(script: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
      stdio: ['inherit', 'inherit', 'pipe'],
      env: { ...process.env, CTWIN_STDERR_FILTERED: '1' },
    });
    const filter = filterDawnWarnings((text) => process.stderr.write(text));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => filter.push(chunk));
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
    child.on('close', (code, signal) => {
      filter.end();
      resolve(code ?? (signal ? 128 + 15 : 1));
    });
  });
}
