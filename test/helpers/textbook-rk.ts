/**
 * A deliberately tiny textbook explicit Runge–Kutta step in f64 (Hairer I, §II.1, eq. 1.8): the
 * independent reference for the generated step code (src/codegen/step.ts). No compensated sums,
 * no control, no generator: the Butcher tableau read straight off.
 */
export type Rhs = (t: number, y: number[]) => number[];

export function textbookStep(f: Rhs, tab: { c: number[]; a: number[][]; b: number[] }, t: number, y: number[], h: number): number[] {
  const k: number[][] = [];
  for (let s = 0; s < tab.c.length; s++) {
    const ys = y.map((yi, i) => yi + h * k.reduce((acc, kj, j) => acc + (tab.a[s]![j] ?? 0) * kj[i]!, 0));
    k.push(f(t + tab.c[s]! * h, ys));
  }
  return y.map((yi, i) => yi + h * k.reduce((acc, kj, j) => acc + tab.b[j]! * kj[i]!, 0));
}

/** n fixed steps of size h from (t0, y0); the states after each step. */
export function textbookSolve(f: Rhs, tab: { c: number[]; a: number[][]; b: number[] }, t0: number, y0: number[], h: number, n: number): number[][] {
  const out: number[][] = [];
  let y = y0;
  for (let m = 0; m < n; m++) { y = textbookStep(f, tab, t0 + m * h, y, h); out.push(y); }
  return out;
}
