/**
 * Scores of an in-silico screen with their uncertainty, and a ranking that says which combinations
 * the twins cannot tell apart (docs/combo.md).
 *
 * Per block (twin × combination × readout): every method's summary on the nominal twin's matrix
 * (what SynergyFinder would compute from responses.csv) and on each uncertainty sample's matrix;
 * the interval is the 2.5–97.5 percentile over samples. Efficacy is the mean % inhibition over the
 * combination cells, with its interval the same way.
 *
 * Pairs get all four SynergyFinder scores. Triples get HSA and Bliss, generalised as SynergyFinder
 * 3.x does for more drugs (HSA: the strongest single drug; Bliss: 1 − Π(1 − y_k/100)); its Loewe
 * and ZIP for three drugs rest on multi-dimensional fits that SYNERGY.md does not cover.
 *
 * Ranking, per twin and readout, by the nominal summary of one method (higher = more synergistic).
 * Two combinations cannot be told apart when the 95 % interval of their paired difference over the
 * samples (the same parameter draw for both) contains 0.
 */
import { scoreMatrix, type SynergyMethod } from './synergy.js';
import type { DoseMatrix, ScoreMatrix } from './scores.js';
import type { LoeweOptions } from './scores.js';
import { gridCells } from '../twin/combo.js';

export interface ScreenBlock {
  patient: string;
  drugs: string[];
  readout: string;
  doses: number[][];
  nominal: ArrayLike<number>;
  /** samples × cells; a sample whose cells are NaN is left out. */
  samples: ArrayLike<number>;
}

export interface Interval { value: number; median: number; lo: number; hi: number }

export interface BlockSummary {
  patient: string;
  combination: string;
  drugs: string[];
  readout: string;
  /** Per method: the nominal summary and its interval over samples (lo = hi = NaN without samples). */
  scores: Partial<Record<SynergyMethod, Interval>>;
  /** Per method, the summary of each sample (for paired comparisons). */
  sampleScores: Partial<Record<SynergyMethod, Float64Array>>;
  /** Mean % inhibition over the combination cells. */
  efficacy: Interval;
  /** The efficacy of each sample. */
  sampleEfficacy: Float64Array;
  /** Samples with defined responses (the others had no untreated readout). */
  samplesUsed: number;
  /** The nominal matrix's full scores (pairs only; for reports). */
  matrices?: Partial<Record<SynergyMethod, ScoreMatrix>>;
  fits?: ReturnType<typeof scoreMatrix>['fits'];
}

export interface RankRow {
  patient: string;
  readout: string;
  method: SynergyMethod;
  rank: number;
  combination: string;
  score: Interval;
  efficacy: Interval;
  /** SynergyFinder's reading of the score (`callOf`). */
  call: ReturnType<typeof callOf>;
  /** Samples behind the interval. */
  samplesUsed: number;
  /** Combinations whose paired difference from this one has a 95 % interval containing 0 (null without samples: not assessed). */
  tiedWith: string[] | null;
}

/**
 * SynergyFinder's reading of a summary score (its documentation): above 10 likely synergistic,
 * below −10 likely antagonistic, in between likely additive. With an interval, a call needs the
 * whole 95 % interval beyond the threshold; otherwise it is 'additive' (or 'uncertain' when the
 * nominal alone would cross it).
 * @example
 * callOf({ value: 12, median: 11, lo: 4, hi: 18 }); // 'uncertain'
 * callOf({ value: 14, median: 14, lo: 11, hi: 17 }); // 'synergistic'
 */
export function callOf(score: Interval): 'synergistic' | 'antagonistic' | 'additive' | 'uncertain' {
  const nominal = score.value > 10 ? 'synergistic' : score.value < -10 ? 'antagonistic' : 'additive';
  if (Number.isNaN(score.lo)) return nominal;
  if (score.lo > 10) return 'synergistic';
  if (score.hi < -10) return 'antagonistic';
  return nominal === 'additive' && score.lo >= -10 && score.hi <= 10 ? 'additive' : 'uncertain';
}

export const PAIR_METHODS: SynergyMethod[] = ['HSA', 'Bliss', 'Loewe', 'ZIP'];
export const TRIPLE_METHODS: SynergyMethod[] = ['HSA', 'Bliss'];

/** The p-quantile of sorted values (linear interpolation, R's type 7). */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p, lo = Math.floor(h), hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Nominal value and the median and 2.5–97.5 % percentiles of the sample values.
 * @example
 * intervalOf(1.2, [0.8, 1.1, 1.3, 1.9]); // { value: 1.2, median: 1.2, lo: 0.8225, hi: 1.855 }
 */
export function intervalOf(value: number, samples: ArrayLike<number>): Interval {
  const s = Float64Array.from(samples).filter(Number.isFinite).sort();
  return { value, median: quantile(s, 0.5), lo: quantile(s, 0.025), hi: quantile(s, 0.975) };
}

/** Per combination cell (at least two drugs present): its index and the indices of its single-drug cells. */
function combinationCells(doses: number[][]): Array<{ cell: number; singles: number[] }> {
  const sizes = doses.map((d) => d.length);
  const strides = sizes.map((_, k) => sizes.slice(k + 1).reduce((a, b) => a * b, 1));
  return gridCells(sizes).flatMap((idx, cell) => {
    const present = idx.map((i, k) => (i > 0 ? k : -1)).filter((k) => k >= 0);
    return present.length < 2 ? [] : [{ cell, singles: present.map((k) => idx[k]! * strides[k]!) }];
  });
}

/** A pair's response as a DoseMatrix (cells row-major, drug 2 fastest). */
export function pairMatrix(doses: number[][], cells: ArrayLike<number>, offset = 0): DoseMatrix {
  const [c1, c2] = doses as [number[], number[]];
  return { conc1: c1, conc2: c2, response: c1.map((_, i) => c2.map((_, j) => cells[offset + i * c2.length + j]!)) };
}

/**
 * HSA and Bliss summaries of an n-drug grid (row-major, last drug fastest): mean over the cells
 * with at least two drugs of (y − ref), ref = max single-drug response (HSA) or
 * 100·(1 − Π(1 − y_k/100)) (Bliss), the single-drug responses read from the grid's axes.
 * @example
 * const d = [0, 1]; // one dose per drug: a 2 × 2 × 2 grid
 * multiDrugScores([d, d, d], [0, 10, 10, 30, 10, 30, 30, 50], 'Bliss'); // mean of 11, 11, 11, 22.9 = 13.975
 */
export function multiDrugScores(doses: number[][], cells: ArrayLike<number>, method: 'HSA' | 'Bliss', offset = 0, combos = combinationCells(doses)): number {
  let sum = 0;
  for (const { cell, singles } of combos) {
    const ys = singles.map((c) => cells[offset + c]!);
    const ref = method === 'HSA' ? Math.max(...ys) : 100 * (1 - ys.reduce((a, y) => a * (1 - y / 100), 1));
    sum += cells[offset + cell]! - ref;
  }
  return combos.length > 0 ? sum / combos.length : NaN;
}

/** Mean response over the cells with at least two drugs. */
function efficacyOf(combos: Array<{ cell: number }>, cells: ArrayLike<number>, offset: number): number {
  return combos.reduce((a, { cell }) => a + cells[offset + cell]!, 0) / combos.length;
}

/** Every method's summary of one grid (pairs: `scoreMatrix`; triples: `multiDrugScores`). */
function summariesOf(doses: number[][], cells: ArrayLike<number>, offset: number, methods: SynergyMethod[], combos: ReturnType<typeof combinationCells>, loewe?: LoeweOptions) {
  if (doses.length === 2) {
    const r = scoreMatrix(pairMatrix(doses, cells, offset), { methods, loewe });
    return { summaries: Object.fromEntries(methods.map((m) => [m, r.scores[m]!.summary])) as Record<SynergyMethod, number>, full: r };
  }
  return { summaries: Object.fromEntries(methods.map((m) => [m, multiDrugScores(doses, cells, m as 'HSA' | 'Bliss', offset, combos)])) as Record<SynergyMethod, number> };
}

/**
 * Scores every block of a screen, nominal and per sample (see the file comment).
 * @example
 * const { twins } = readTwins('twins/');
 * const result = await runCombo(twins, { combinations: [['jq1', 'thz1']] });
 * const summaries = scoreScreen(result.blocks);
 * summaries[0]?.scores.ZIP; // { value, median, lo, hi }
 */
export function scoreScreen(blocks: ScreenBlock[], options: { methods?: SynergyMethod[]; loewe?: LoeweOptions; onProgress?: (done: number, total: number) => void } = {}): BlockSummary[] {
  const total = blocks.reduce((a, b) => a + 1 + b.samples.length / b.nominal.length, 0);
  let done = 0;
  return blocks.map((b) => {
    const methods = (options.methods ?? PAIR_METHODS).filter((m) => b.drugs.length === 2 || TRIPLE_METHODS.includes(m));
    const cellsN = b.nominal.length, S = b.samples.length / cellsN;
    const combos = combinationCells(b.doses); // once per block, not per sample
    const nominal = summariesOf(b.doses, b.nominal, 0, methods, combos, options.loewe);
    const per = Object.fromEntries(methods.map((m) => [m, new Float64Array(S)])) as Record<SynergyMethod, Float64Array>;
    const eff = new Float64Array(S);
    done++;
    for (let s = 0; s < S; s++) {
      // A sample the runner left out (NaN responses: no untreated readout) has NaN summaries.
      if (!Number.isFinite(b.samples[s * cellsN]!)) {
        for (const m of methods) per[m][s] = NaN;
        eff[s] = NaN;
        options.onProgress?.(++done, total);
        continue;
      }
      const r = summariesOf(b.doses, b.samples, s * cellsN, methods, combos, options.loewe);
      for (const m of methods) per[m][s] = r.summaries[m];
      eff[s] = efficacyOf(combos, b.samples, s * cellsN);
      options.onProgress?.(++done, total);
    }
    return {
      patient: b.patient, combination: b.drugs.join('+'), drugs: b.drugs, readout: b.readout,
      scores: Object.fromEntries(methods.map((m) => [m, intervalOf(nominal.summaries[m], per[m])])),
      sampleScores: per,
      efficacy: intervalOf(efficacyOf(combos, b.nominal, 0), eff),
      sampleEfficacy: eff,
      samplesUsed: eff.filter(Number.isFinite).length,
      ...(nominal.full ? { matrices: nominal.full.scores, fits: nominal.full.fits } : {}),
    };
  });
}

/**
 * Ranks the combinations of each twin and readout by `method`'s nominal summary, with ties by the
 * paired 95 % interval (see the file comment).
 * @example
 * const { twins } = readTwins('twins/');
 * const ranking = rankCombinations(scoreScreen((await runCombo(twins, { combinations: [['jq1', 'thz1'], ['thz1', 'dbet6']] })).blocks), 'ZIP');
 * ranking.filter((r) => r.patient === 'P01').map((r) => [r.rank, r.combination, r.tiedWith]);
 */
export function rankCombinations(summaries: BlockSummary[], method: SynergyMethod): RankRow[] {
  const groups = new Map<string, BlockSummary[]>();
  for (const s of summaries) {
    if (!s.scores[method]) continue;
    const k = `${s.patient}\u0000${s.readout}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const rows: RankRow[] = [];
  for (const group of groups.values()) {
    const sorted = [...group].sort((a, b) => b.scores[method]!.value - a.scores[method]!.value);
    sorted.forEach((s, i) => {
      const mine = s.sampleScores[method]!;
      const tiedWith = mine.length === 0 ? null : sorted.filter((o) => o !== s && indistinguishable(mine, o.sampleScores[method]!)).map((o) => o.combination);
      rows.push({ patient: s.patient, readout: s.readout, method, rank: i + 1, combination: s.combination, score: s.scores[method]!, call: callOf(s.scores[method]!), efficacy: s.efficacy, samplesUsed: s.samplesUsed, tiedWith });
    });
  }
  return rows;
}

/**
 * Paired samples a, b (the same draws): does the 95 % interval of a − b contain 0?
 * @example
 * indistinguishable(Float64Array.of(1, 2, 3, 4), Float64Array.of(2, 3, 4, 5)); // false: b is always 1 above
 */
export function indistinguishable(a: Float64Array, b: Float64Array): boolean {
  if (a.length === 0 || a.length !== b.length) throw new Error('paired comparison needs the same, non-zero number of samples');
  const d = Float64Array.from(a, (v, s) => v - b[s]!).filter(Number.isFinite).sort();
  if (d.length === 0) return true; // no draw where both are defined: cannot tell
  return quantile(d, 0.025) <= 0 && quantile(d, 0.975) >= 0;
}
