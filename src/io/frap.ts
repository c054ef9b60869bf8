/**
 * FRAP tables: the easyFRAP layout (time, bleached ROI, whole-cell ROI, background; Koulouras 2018)
 * and a plain `t,intensity` layout, as saved by easyFRAP, Zeiss ZEN and Leica LAS X — title lines
 * before the header (`Channel 1`), units in brackets (`Time [s]`) or in a units row, a frame index
 * beside the time in seconds, empty rows at the bleach frames, free-text columns.
 *
 * Normalisation (Phair et al. 2004, Mol Cell Biol 24:6393; easyFRAP's definitions):
 *   double:      I_d(t) = [T_pre / (T(t) − B(t))] · [(I(t) − B(t)) / I_pre]
 *                with I the bleached ROI, T the whole cell, B background, "pre" the mean over the
 *                pre-bleach frames (background-subtracted) — corrects for acquisition bleaching;
 *   single:      I_d(t) = (I(t) − B(t)) / I_pre   (no whole-cell ROI);
 *   full scale:  I_f(t) = (I_d(t) − I_d(t_post)) / (mean I_d(pre) − I_d(t_post)), t_post the first
 *                post-bleach frame, so pre-bleach = 1 and the first post-bleach point = 0.
 * Recovery fit (Levenberg–Marquardt, ml-levenberg-marquardt): I_f(t) = y0 + (y∞ − y0)(1 − e^{−k(t−t_post)});
 * mobile fraction = (y∞ − y0)/(1 − y0) and t½ = ln 2 / k (easyFRAP's single-exponential report).
 */
import { levenbergMarquardt } from 'ml-levenberg-marquardt';
import { InputError } from './csv.js';
import { TIME_UNITS, median, sortRecords, type FrapCurve, type FrapSummary, type ImagingData, type LongRecord, type ReadOptions } from './imaging.js';
import { fileStem, isMissing, looksNumeric, parseCell, patientOfFile, separatorName, type RawTable } from './table.js';

const TIME_NAME = /^(time|t|zeit|temps|tiempo|relative time|rel\.? time|timestamp)$/i;
const FRAME_NAME = /^(frame|frames|index|#|nr\.?|no\.?|slice|cycle|image|t-?index|time ?index)$/i;
const UNIT_CELL = /^(\[.*\]|\(.*\)|s|sec|ms|min|h|a\.?u\.?|au|counts|grey ?values?|gray ?values?|intensity|%|µm|um|px|pixel|frames?|)$/i;

interface Column { index: number; name: string; base: string; unit?: string }

/** `Time [s]` → base `Time`, unit `s`; `Mean ROI1 (a.u.)` → `Mean ROI1`, `a.u.`. */
function splitUnit(header: string): { base: string; unit?: string } {
  const m = /^(.*?)\s*[[(]([^\])]*)[\])]\s*$/.exec(header.trim());
  return m ? { base: m[1]!.trim(), unit: m[2]!.trim() || undefined } : { base: header.trim() };
}

/** Where a FRAP table's header (and units row) is: a time/frame column beside intensities, then numbers; undefined if none. */
export function findFrapHeader(table: RawTable): { header: number; unitsRow?: number } | undefined {
  for (let h = 0; h < Math.min(table.rows.length - 1, 40); h++) {
    const names = table.rows[h]!.fields.map((f) => splitUnit(f).base);
    if (names.filter((n) => n !== '').length < 2) continue; // a title line such as "Channel 1"
    if (names.some((n) => looksNumeric(n, table.decimal))) continue;
    let d = h + 1, unitsRow: number | undefined;
    const next = table.rows[d]!.fields;
    if (next.every((f) => UNIT_CELL.test(f.trim())) && next.some((f) => f.trim() !== '')) { unitsRow = d; d++; }
    const data = table.rows[d];
    if (!data) continue;
    const numeric = data.fields.filter((f) => looksNumeric(f, table.decimal)).length;
    const timeLike = names.some((n) => TIME_NAME.test(n) || FRAME_NAME.test(n));
    if (numeric >= 2 && timeLike) return { header: h, unitsRow };
  }
  return undefined;
}

export function readFrap(table: RawTable, options: ReadOptions = {}): ImagingData {
  const found = findFrapHeader(table);
  if (!found) throw new InputError(`${table.where}:1:1: no FRAP header found (a row naming a time column, e.g. "Time [s]", beside intensity columns, followed by numbers)`);
  const warnings = [...table.warnings];
  const headerRow = table.rows[found.header]!;
  const unitsRow = found.unitsRow === undefined ? undefined : table.rows[found.unitsRow]!;
  const columns: Column[] = headerRow.fields.map((f, index) => {
    const { base, unit } = splitUnit(f);
    const fromRow = unitsRow?.fields[index]?.trim().replace(/^[[(](.*)[\])]$/, '$1');
    return { index, name: f.trim(), base, unit: unit ?? (fromRow || undefined) };
  });
  const dataRows = table.rows.slice((found.unitsRow ?? found.header) + 1);
  // Free-text columns: mostly non-numbers. A column of numbers with a typo stays numeric, so the
  // typo is reported at its line rather than the column silently ignored.
  const numeric = columns.filter((c) => {
    const present = dataRows.map((r) => r.fields[c.index] ?? '').filter((v) => !isMissing(v));
    return c.base !== '' && present.length > 0 && present.filter((v) => looksNumeric(v, table.decimal)).length * 2 > present.length;
  });
  const text = columns.filter((c) => c.base !== '' && !numeric.includes(c));
  if (text.length > 0) warnings.push(`free-text column(s) ignored: ${text.map((c) => `"${c.name}"`).join(', ')}`);
  const timeCol = numeric.find((c) => TIME_NAME.test(c.base) || (c.unit !== undefined && TIME_UNITS[c.unit.toLowerCase()] !== undefined && !FRAME_NAME.test(c.base)));
  const frameCol = numeric.find((c) => FRAME_NAME.test(c.base) && c !== timeCol);
  let toSeconds = 1;
  if (options.frameInterval !== undefined) {
    if (!frameCol && !timeCol) throw new InputError(`${table.where}:${headerRow.line}:1: no frame column to time with --frame-interval`);
  } else if (timeCol) {
    const unit = (timeCol.unit ?? '').toLowerCase();
    if (/^frames?$/.test(unit)) throw new InputError(`${table.where}:${headerRow.line}:${timeCol.index + 1}: the time column "${timeCol.name}" counts frames; pass --frame-interval SECONDS`);
    if (unit === '') warnings.push(`the unit of "${timeCol.name}" is not stated; assumed seconds`);
    else if (TIME_UNITS[unit] === undefined) throw new InputError(`${table.where}:${headerRow.line}:${timeCol.index + 1}: unknown time unit "${timeCol.unit}" in "${timeCol.name}" (s, ms, min, h)`);
    else toSeconds = TIME_UNITS[unit]!;
  } else {
    throw new InputError(`${table.where}:${headerRow.line}:${frameCol!.index + 1}: only a frame index ("${frameCol!.name}"), no time in seconds; pass --frame-interval SECONDS`);
  }
  const intensities = numeric.filter((c) => c !== timeCol && c !== frameCol);
  if (intensities.length === 0) throw new InputError(`${table.where}:${headerRow.line}:1: no intensity column beside the time`);
  const roles = rolesOf(intensities, warnings, table);
  // Rows: time, then each intensity; a row whose intensities are all empty is a bleach frame.
  const t: number[] = [], values: number[][] = intensities.map(() => []);
  let missing = 0, emptyRows = 0;
  for (const row of dataRows) {
    const vs = intensities.map((c) => parseCell(table, row, c.index, c.name));
    if (vs.every(Number.isNaN)) { emptyRows++; continue; }
    let time: number;
    if (options.frameInterval !== undefined) {
      const f = parseCell(table, row, (frameCol ?? timeCol)!.index, (frameCol ?? timeCol)!.name);
      time = f * options.frameInterval;
    } else time = parseCell(table, row, timeCol!.index, timeCol!.name) * toSeconds;
    if (Number.isNaN(time)) throw new InputError(`${table.where}:${row.line}:${(timeCol ?? frameCol)!.index + 1}: the time is empty in a row with intensities`);
    if (t.length > 0 && !(time > t[t.length - 1]!)) throw new InputError(`${table.where}:${row.line}:${(timeCol ?? frameCol)!.index + 1}: time ${time} s does not increase (previous ${t[t.length - 1]} s); one FRAP curve per file`);
    missing += vs.filter(Number.isNaN).length;
    t.push(time);
    vs.forEach((v, k) => values[k]!.push(v));
  }
  if (emptyRows > 0) warnings.push(`${emptyRows} row(s) without intensities (bleach frames) left out`);
  if (t.length < 4) throw new InputError(`${table.where}: only ${t.length} timed rows; a FRAP curve needs pre-bleach and recovery frames`);
  const patient = patientOfFile(table.path), cell = fileStem(table.path);
  const records: LongRecord[] = [];
  intensities.forEach((c, k) => t.forEach((ti, i) => { const v = values[k]![i]!; if (!Number.isNaN(v)) records.push({ patient, cell, t: ti, observable: c.base, value: v }); }));
  const col = (name?: string) => (name === undefined ? undefined : values[intensities.findIndex((c) => c.base === name)]!);
  const frap = analyseFrap(t, col(roles.bleached)!, col(roles.whole), col(roles.background), roles, options.prebleachFrames, table.where);
  return {
    summary: {
      path: table.path, kind: 'frap', headerRows: (found.unitsRow ?? found.header) + 1, separator: separatorName(table.separator), decimal: table.decimal,
      rows: dataRows.length, patients: [patient], cells: 1, observables: intensities.map((c) => c.base), records: records.length, missingValues: missing,
      frames: t.length, timeUnit: options.frameInterval !== undefined ? 'frame' : timeCol!.unit ?? 's', frameInterval: options.frameInterval ?? median(t.slice(1).map((v, i) => v - t[i]!)),
      frap, warnings,
    },
    records: sortRecords(records),
  };
}

/** Which column is the bleached ROI, the whole cell and the background: by name, else easyFRAP's order. */
function rolesOf(cols: Column[], warnings: string[], table: RawTable): FrapSummary['roles'] {
  const by = (re: RegExp) => cols.find((c) => re.test(c.base))?.base;
  let bleached = by(/bleach|frap|^roi ?1$|roi ?1\b/i);
  let whole = by(/whole|total|cell|nucleus|reference|^ref|^roi ?2$|roi ?2\b/i);
  let background = by(/back|^bg|^bkg|^roi ?3$|roi ?3\b/i);
  if (cols.length === 1) return { bleached: cols[0]!.base };
  if (!bleached) {
    if (cols.length >= 3) {
      [bleached, whole, background] = [cols[0]!.base, cols[1]!.base, cols[2]!.base];
      warnings.push(`ROI roles not named; easyFRAP's order assumed: "${bleached}" bleached, "${whole}" whole cell, "${background}" background`);
    } else if (cols.length === 2) {
      [bleached, background] = [cols[0]!.base, cols[1]!.base];
      warnings.push(`ROI roles not named; assumed "${bleached}" bleached and "${background}" background`);
    } else throw new InputError(`${table.where}: cannot tell which column is the bleached ROI`);
  }
  return { bleached, whole: whole === bleached ? undefined : whole, background: background === bleached || background === whole ? undefined : background };
}

/**
 * Normalises a FRAP curve and fits its recovery (see the file comment).
 * @example
 * const t = [0, 1, 2, 3, 4, 5], roi1 = [100, 101, 30, 50, 62, 68]; // pre-bleach, bleach, recovery
 * const f = analyseFrap(t, roi1, undefined, undefined, { bleached: 'ROI1' }, 2);
 * f.mobileFraction; f.halfTime; // fraction, seconds
 */
export function analyseFrap(t: number[], bleached: number[], whole: number[] | undefined, background: number[] | undefined, roles: FrapSummary['roles'], prebleach: number | undefined, where = 'FRAP curve'): FrapSummary {
  const bg = (i: number) => (background ? background[i]! : 0);
  const I = bleached.map((v, i) => v - bg(i));
  const T = whole?.map((v, i) => v - bg(i));
  // The bleach: the largest drop of the bleached ROI between consecutive frames.
  let pre = prebleach;
  if (pre === undefined) {
    let drop = -Infinity;
    for (let i = 1; i < I.length; i++) if (I[i - 1]! - I[i]! > drop) { drop = I[i - 1]! - I[i]!; pre = i; }
  }
  if (pre === undefined || pre < 1 || pre >= I.length - 2) throw new InputError(`${where}: cannot place the bleach (${pre ?? 'none'} pre-bleach frames of ${I.length}); pass the number of pre-bleach frames`);
  const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
  const Ipre = mean(I.slice(0, pre)), Tpre = T ? mean(T.slice(0, pre)) : 1;
  if (!(Ipre > 0)) throw new InputError(`${where}: the pre-bleach intensity of the bleached ROI is not above background (${Ipre})`);
  const normalised = I.map((v, i) => (T ? Tpre / T[i]! : 1) * (v / Ipre));
  const dPre = mean(normalised.slice(0, pre)), dPost = normalised[pre]!;
  const fullScale = normalised.map((v) => (v - dPost) / (dPre - dPost));
  const tb = t[pre]!;
  const xs = t.slice(pre).map((v) => v - tb), ys = fullScale.slice(pre);
  const span = xs[xs.length - 1]! || 1;
  const model = ([y0, yinf, k]: number[]) => (x: number) => y0! + (yinf! - y0!) * (1 - Math.exp(-k! * x));
  const fitted = levenbergMarquardt({ x: xs, y: ys }, model, {
    initialValues: [0, ys[ys.length - 1]!, 3 / span], minValues: [-1, -1, 1e-6 / span], maxValues: [1, 3, 1e4 / span],
    maxIterations: 500, errorTolerance: 1e-12, gradientDifference: 1e-6,
  });
  const [y0, yinf, k] = fitted.parameterValues as [number, number, number];
  return {
    roles, normalisation: T ? 'double' : 'single', prebleachFrames: pre, bleachTime: tb,
    mobileFraction: (yinf - y0) / (1 - y0), halfTime: Math.LN2 / k,
    curve: { t: [...t], normalised, fullScale },
  };
}

/**
 * The recovery curves of the FRAP files among `data` (the full-scale normalised curve from the
 * bleach on, time since the bleach), for the calibration; other kinds are skipped.
 * @example
 * const data = [await readImaging('examples/cohort/P01_frap.txt')];
 * const [curve] = frapCurves(data); // curve.t[0] = 0 s (the bleach), curve.value[0] = 0
 */
export function frapCurves(data: ImagingData[]): FrapCurve[] {
  return data.flatMap((d) => {
    const f = d.summary.frap;
    if (d.summary.kind !== 'frap' || !f) return [];
    // From the bleach frame on; frames with a missing intensity (NaN) are left out.
    const keep = f.curve.t.map((_, i) => i).filter((i) => i >= f.prebleachFrames && Number.isFinite(f.curve.fullScale[i]!));
    return [{
      patient: d.summary.patients[0]!, cell: fileStem(d.summary.path),
      t: Float64Array.from(keep, (i) => f.curve.t[i]! - f.bleachTime), value: Float64Array.from(keep, (i) => f.curve.fullScale[i]!),
    }];
  });
}
