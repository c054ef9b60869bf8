// mathjs's single-file build (see src/physics/mathjs.ts) has no .d.ts of its own; it is the same
// library as the package's main entry, so it takes those types.
declare module 'mathjs/lib/browser/math.js' {
  import type { FactoryFunctionMap, MathJsInstance } from 'mathjs';
  const math: MathJsInstance & { all: FactoryFunctionMap };
  export default math;
}
