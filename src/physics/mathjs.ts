/**
 * mathjs, loaded from its single-file build instead of its ESM entry.
 *
 * Why: `import 'mathjs'` evaluates hundreds of ESM modules; measured on this 2-core machine
 * (Node 20, mathjs 15.2): the full entry 0.86 s, and even `create()` with only the dependencies we
 * use (parse, unit, createUnit, multiply) 0.51–0.59 s, because each dependency file pulls in the
 * number types and typed-function. The package's own single-file build (`lib/browser/math.js`,
 * listed in its exports map, also usable by a browser bundle) loads in 0.05 s and builds its
 * functions lazily on first use. `bench/startup.mjs` measures the whole-process effect.
 */
import math from 'mathjs/lib/browser/math.js';

export const mathjs = math;
