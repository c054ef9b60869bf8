/**
 * Build-level checks: the embedded WGSL is current, and the core solve path (model compiler,
 * code generators, GPU solver) bundles for a browser without Node built-ins (issue #10).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import * as embedded from '../src/codegen/wgsl-sources.generated.js';

const root = new URL('..', import.meta.url);

describe('build', () => {
  it('src/codegen/wgsl-sources.generated.ts embeds wgsl/*.wgsl as they are (npm run build regenerates it)', () => {
    const files = readdirSync(new URL('wgsl/', root)).filter((f) => f.endsWith('.wgsl'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const name = `${f.replace(/\.wgsl$/, '').toUpperCase()}_WGSL` as keyof typeof embedded;
      expect(embedded[name], `${f}: run npm run build`).toBe(readFileSync(new URL(`wgsl/${f}`, root), 'utf8'));
    }
  });

  it('the core solve path bundles for the browser (esbuild --platform=browser) with no Node built-in', async () => {
    // `webgpu` (dawn.node) is external: in a browser the runtime takes navigator.gpu and never loads it.
    const result = await build({
      stdin: {
        contents: [
          "export { parseModel } from './src/physics/model.ts';",
          "export { makeProblem } from './src/solvers/problem.ts';",
          "export { resolveOptions } from './src/solvers/options.ts';",
          "export { solveOnGpu } from './src/solvers/gpu.ts';",
          "export { buildSolverKernel } from './src/codegen/kernel.ts';",
          "export { compileF64 } from './src/codegen/compile.ts';",
        ].join('\n'),
        resolveDir: new URL('.', root).pathname, loader: 'ts', sourcefile: 'browser-entry.ts',
      },
      bundle: true, platform: 'browser', format: 'esm', write: false, external: ['webgpu'], logLevel: 'silent', metafile: true,
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile!.inputs);
    expect(inputs.filter((i) => i.startsWith('node:') || /^(fs|path|os|worker_threads|child_process)$/.test(i))).toEqual([]);
    expect(inputs.some((i) => i.includes('src/codegen/kernel.ts'))).toBe(true);
    console.log(`browser bundle of the core solve path: ${inputs.length} inputs, ${(result.outputFiles![0]!.contents.length / 1024).toFixed(0)} KiB`);
  });

  it('nothing the CLI or the API loads imports mathjs\'s ESM entry (only its single-file build, src/physics/mathjs.ts)', async () => {
    // The ESM entry evaluates hundreds of modules: one stray `import { parse } from 'mathjs'` made
    // every CLI command that reads PEtab or SBML (convert among them) start in 2.0 s instead of 0.5 s.
    const result = await build({
      entryPoints: [new URL('src/cli/main.ts', root).pathname, new URL('src/index.ts', root).pathname],
      bundle: true, platform: 'node', format: 'esm', write: false, outdir: 'out', packages: 'bundle',
      external: ['webgpu', 'esbuild'], logLevel: 'silent', metafile: true,
    });
    const inputs = Object.keys(result.metafile!.inputs);
    expect(inputs.some((i) => i.includes('mathjs/lib/browser/math.js'))).toBe(true);
    expect(inputs.filter((i) => /mathjs\/lib\/(esm|cjs)\//.test(i))).toEqual([]);
  });
});
