/**
 * Every function the public API exports (src/index.ts) has JSDoc with an @example, and every
 * @example in src/ type-checks against the real API (issue #10). The examples are collected into
 * .examples/examples.ts (git-ignored), each in its own async function, after a prelude that
 * declares the names examples may assume (a problem, a solution, data…), and compiled with tsc.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const sources = (dir: string): string[] => readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : []);
const files = sources('src').map((f) => ({ file: f, text: readFileSync(join(root, f), 'utf8') }));

/** The JSDoc block right before `export (async )?function name` / `export const name =`, or undefined. */
function docOf(name: string): { file: string; doc: string | undefined } | undefined {
  for (const { file, text } of files) {
    const m = new RegExp(`(/\\*\\*(?:(?!\\*/)[\\s\\S])*\\*/\\s*)?export (?:async )?(?:function\\*? ${name}\\b|const ${name}\\s*=\\s*(?:async\\s*)?\\()`).exec(text);
    if (m) return { file, doc: m[1] };
  }
  return undefined;
}

/** Value names exported by src/index.ts that are functions (constants, classes and types aside). */
function publicFunctions(): string[] {
  const index = readFileSync(join(root, 'src/index.ts'), 'utf8');
  const names = [...index.matchAll(/^export \{([^}]*)\}/gm)].flatMap((m) => m[1]!.split(',').map((n) => n.trim()))
    .filter((n) => n && !n.startsWith('type ')).map((n) => n.split(' as ').pop()!.trim());
  return names.filter((n) => /^[a-z]/.test(n) && docOf(n) !== undefined);
}

describe('documentation examples', () => {
  it('every public function has JSDoc with an @example', () => {
    const fns = publicFunctions();
    expect(fns.length).toBeGreaterThan(20);
    const missing = fns.filter((n) => !/@example/.test(docOf(n)!.doc ?? '')).map((n) => `${n} (${docOf(n)!.file})`);
    expect(missing, 'public functions without an @example').toEqual([]);
  });

  it('every @example in src/ type-checks against the API', () => {
    const examples: string[] = [];
    for (const { file, text } of files) {
      for (const m of text.matchAll(/@example\n((?:\s*\*(?!\/).*\n)+)/g)) {
        const code = m[1]!.split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n').trim();
        examples.push(`// ${file}\nexport async function example${examples.length}() {\n${code}\n}\n`);
      }
    }
    expect(examples.length).toBeGreaterThan(20);
    const prelude = `import * as api from '../src/index.js';
import { ${readFileSync(join(root, 'src/index.ts'), 'utf8').match(/^export \{([^}]*)\}/gm)!.flatMap((l) => l.slice(8, -1).split(',')).map((n) => n.trim()).filter((n) => n && !n.startsWith('type ')).map((n) => n.split(' as ').pop()!.trim()).join(', ')} } from '../src/index.js';
import type { EnsembleProblem, Model, Observations, Method, DoseResponseCurve } from '../src/index.js';
void api;
// Names an example may use without defining them.
declare const model: Model;
declare const problem: EnsembleProblem;
declare const sol: Solution;
declare const observations: Observations;
declare const withDrug: Float64Array;
declare const tableau: Method;
`;
    mkdirSync(join(root, '.examples'), { recursive: true });
    writeFileSync(join(root, '.examples/examples.ts'), `${prelude}\n${examples.join('\n')}`);
    writeFileSync(join(root, '.examples/tsconfig.json'), JSON.stringify({
      extends: '../tsconfig.json', compilerOptions: { noEmit: true, noUnusedLocals: false, rootDir: '..' }, include: ['examples.ts', '../src/types/*.d.ts'],
    }));
    let out = '';
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, '.examples/tsconfig.json')], { encoding: 'utf8' });
    } catch (err) {
      out = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(out, 'tsc errors in the examples (.examples/examples.ts)').toBe('');
  }, 120_000);
});
