/**
 * Figures for the report: Vega-Lite specs compiled to static SVG by Vega in Node (no browser, no
 * script in the page). Every chart has axis titles with units; data values are data, never code
 * (Vega-Lite's field names are ours; users' names only appear as values, which Vega escapes when it
 * writes SVG text).
 */
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse, View } from 'vega';

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const CONFIG = {
  font: FONT,
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: '#ccc' },
};

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vg = compile({ ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec).spec;
  const view = new View(parse(vg), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

type Row = Record<string, string | number | boolean | null>;

/** Measurements of a few cells (data units) with the twin's prediction through each cell's observation model. */
export function fitSpec(rows: Row[], yTitle: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: rows },
    facet: { field: 'panel', type: 'nominal', title: null, sort: { field: 'order' }, header: { labelFontWeight: 'bold' } },
    columns: 3,
    spec: {
      width: 230, height: 130,
      layer: [
        { transform: [{ filter: "datum.kind === 'measured'" }], mark: { type: 'point', size: 12, filled: true, opacity: 0.6 }, encoding: {
          x: { field: 't_min', type: 'quantitative', title: 'time (min)' },
          y: { field: 'y', type: 'quantitative', title: yTitle, scale: { zero: false } },
          color: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['measured', 'twin'], range: ['#7f7f7f', '#d62728'] } } } },
        { transform: [{ filter: "datum.kind === 'twin'" }], mark: { type: 'line', strokeWidth: 2 }, encoding: {
          x: { field: 't_min', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' },
          color: { field: 'kind', type: 'nominal' } } },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** Estimates with 95 % intervals, one row per patient, one panel per parameter (log scale). */
export function paramsSpec(rows: Row[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: rows },
    facet: { field: 'param', type: 'nominal', title: null, header: { labelFontWeight: 'bold' } },
    columns: 3,
    spec: {
      width: 170, height: { step: 16 },
      layer: [
        { mark: { type: 'rule', strokeWidth: 2, color: '#999' }, encoding: {
          y: { field: 'patient', type: 'nominal', title: 'patient' },
          x: { field: 'lo', type: 'quantitative', scale: { type: 'log' }, title: 'estimate, 95 % interval' }, x2: { field: 'hi' } } },
        { mark: { type: 'point', filled: true, size: 40 }, encoding: {
          y: { field: 'patient', type: 'nominal' }, x: { field: 'value', type: 'quantitative' },
          color: { field: 'identifiable', type: 'nominal', title: 'identifiable', scale: { domain: ['yes', 'no'], range: ['#1f77b4', '#d62728'] } } } },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  } as TopLevelSpec;
}

/** Monotherapy responses (points) and their LL.4 fits (lines), one panel per drug. */
export function doseResponseSpec(points: Row[], curves: Row[], readoutTitle: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    facet: { field: 'drug', type: 'nominal', title: null, header: { labelFontWeight: 'bold' } },
    columns: 3,
    data: { values: [...points.map((p) => ({ ...p, kind: 'simulated' })), ...curves.map((c) => ({ ...c, kind: 'LL.4 fit' }))] },
    spec: {
      width: 220, height: 160,
      layer: [
        { transform: [{ filter: "datum.kind === 'LL.4 fit'" }], mark: { type: 'line', strokeWidth: 1.5 }, encoding: {
          x: { field: 'dose', type: 'quantitative', scale: { type: 'log' }, title: 'dose (unit in panel title)' },
          y: { field: 'response', type: 'quantitative', title: `${readoutTitle} (% inhibition)` },
          color: { field: 'patient', type: 'nominal', title: 'patient' } } },
        { transform: [{ filter: "datum.kind === 'simulated'" }], mark: { type: 'point', filled: true, size: 25 }, encoding: {
          x: { field: 'dose', type: 'quantitative', scale: { type: 'log' } }, y: { field: 'response', type: 'quantitative' },
          color: { field: 'patient', type: 'nominal' } } },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  } as TopLevelSpec;
}

/** Synergy score per dose cell, one panel per patient × combination. */
export function heatmapSpec(cells: Row[], method: string, combination: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: cells },
    facet: { field: 'patient', type: 'nominal', title: null, header: { labelFontWeight: 'bold' } },
    columns: 3,
    spec: {
      width: 170, height: 150,
      layer: [
        { mark: 'rect', encoding: {
          x: { field: 'dose2', type: 'ordinal', title: `${combination.split('+')[1]} dose`, sort: { field: 'j', order: 'ascending' } },
          y: { field: 'dose1', type: 'ordinal', title: `${combination.split('+')[0]} dose`, sort: { field: 'i', order: 'descending' } },
          color: { field: 'score', type: 'quantitative', title: `${method} score (% inhibition points)`, scale: { scheme: 'redblue', reverse: true, domainMid: 0 } } } },
      ],
    },
  } as TopLevelSpec;
}

/** Trajectories of one nominal twin: untreated, each drug alone, both; one panel per quantity. */
export function trajectorySpec(rows: Row[], title: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start', fontSize: 13 },
    data: { values: rows },
    facet: { field: 'quantity', type: 'nominal', title: null, header: { labelFontWeight: 'bold' } },
    columns: 3,
    spec: {
      width: 200, height: 120,
      mark: { type: 'line', strokeWidth: 1.8 },
      encoding: {
        x: { field: 't_h', type: 'quantitative', title: 'time after dosing (h, square-root axis)', scale: { type: 'sqrt' } },
        y: { field: 'value', type: 'quantitative', title: 'value (unit in panel title)' },
        color: { field: 'arm', type: 'nominal', title: 'treatment', scale: { domain: ['untreated', 'first drug alone', 'second drug alone', 'both'], range: ['#7f7f7f', '#1f77b4', '#ff7f0e', '#d62728'] } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** Ranking: nominal score and 95 % interval per combination, one panel per patient. */
export function rankingSpec(rows: Row[], method: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: rows },
    facet: { field: 'patient', type: 'nominal', title: null, header: { labelFontWeight: 'bold' } },
    columns: 3,
    spec: {
      width: 200, height: { step: 14 },
      layer: [
        { mark: { type: 'rule', color: '#999', strokeWidth: 2 }, encoding: {
          y: { field: 'combination', type: 'nominal', sort: { field: 'rank' }, title: null },
          x: { field: 'lo', type: 'quantitative', title: `${method} score (% inhibition points)` }, x2: { field: 'hi' } } },
        { mark: { type: 'point', filled: true, size: 40 }, encoding: {
          y: { field: 'combination', type: 'nominal', sort: { field: 'rank' } }, x: { field: 'score', type: 'quantitative' },
          color: { field: 'call', type: 'nominal', title: 'call', scale: { domain: ['synergistic', 'additive', 'antagonistic', 'uncertain'], range: ['#2ca02c', '#7f7f7f', '#d62728', '#ff7f0e'] } } } },
        { mark: { type: 'rule', color: '#000', strokeDash: [3, 3] }, encoding: { x: { datum: 0 } } },
      ],
    },
  } as TopLevelSpec;
}

/**
 * A waterfall plot of a multi-start fit: each start's final −log-likelihood, best first, as an
 * offset from the best on a log axis (so the plateau of starts that reached the best is visible).
 */
export function waterfallSpec(rows: Row[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 520, height: 260,
    data: { values: rows },
    title: { text: 'Multi-start fit: final −log-likelihood per start', fontSize: 13, fontWeight: 'normal' },
    mark: { type: 'point', filled: true, size: 40 },
    encoding: {
      x: { field: 'rank', type: 'ordinal', title: 'start (sorted by final −log-likelihood)', axis: { labelAngle: 0 } },
      y: { field: 'offset', type: 'quantitative', scale: { type: 'log' }, title: '−log-likelihood − best + 1' },
      color: { field: 'status', type: 'nominal', title: 'status' },
      tooltip: [{ field: 'start', type: 'quantitative' }, { field: 'nllh', type: 'quantitative', format: '.6f' }, { field: 'status', type: 'nominal' }],
    },
  } as TopLevelSpec;
}
