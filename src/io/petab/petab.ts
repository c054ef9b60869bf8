/**
 * PEtab v1 problems (petab.readthedocs.io, "PEtab data format specification"): the YAML file, its
 * SBML model (through src/io/sbml) and the condition, measurement, observable and parameter
 * tables, read and checked before anything is simulated. Every problem found names
 * `file:row:column` (rows as lines of the TSV, columns 1-based) and what to do; `lintPetab`
 * collects them all, `readPetab` stops at the first.
 *
 * v2's renamed columns are accepted where the meaning is unchanged (`modelId`… are not: one model).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { MathNode } from 'mathjs';
import { mathjs } from '../../physics/mathjs.js';
import { InputError } from '../csv.js';
import { readTable, type RawTable } from '../table.js';
import { importSbml } from '../sbml/sbml.js';
import { parseModel, type Model } from '../../physics/model.js';

export type Scale = 'lin' | 'log' | 'log10';
export type Transformation = 'lin' | 'log' | 'log10';
export type NoiseDistribution = 'normal' | 'laplace';

export interface PetabParameter {
  id: string; scale: Scale; lower: number; upper: number; nominal: number; estimate: boolean;
  prior?: { type: string; parameters: number[] };
  line: number;
}
export interface PetabObservable {
  id: string; formula: string; noiseFormula: string; transformation: Transformation; distribution: NoiseDistribution; line: number;
}
export interface PetabMeasurement {
  observable: string; preequilibration?: string; simulation: string; value: number; time: number;
  /** Per placeholder index (1-based in the formula): a number or a parameter id. */
  observableParameters: string[]; noiseParameters: string[];
  line: number;
}
export interface PetabProblem {
  yaml: string;
  sbmlFile: string;
  /** Our model JSON from the SBML file (`importSbml`), and the model parsed from it. */
  spec: Record<string, unknown>;
  model: Model;
  /** SBML id → the model's name for it (ids the model language reserves are renamed). */
  modelName(sbmlId: string): string;
  parameters: PetabParameter[];
  /** Condition id → column → value (a number or a parameter/species id), in the table's order. */
  conditions: Map<string, Map<string, string>>;
  conditionColumns: string[];
  observables: PetabObservable[];
  measurements: PetabMeasurement[];
  files: { conditions: string; measurements: string; observables: string; parameters: string };
}

export interface PetabIssue { file: string; line: number; column: number; message: string }
const where = (i: PetabIssue) => `${i.file}:${i.line}:${i.column}: ${i.message}`;

/** A TSV with a header: rows as records of column → value, each with its line. */
async function readTsv(path: string, required: string[], issues: PetabIssue[]) {
  if (!existsSync(path)) { issues.push({ file: path, line: 1, column: 1, message: 'file not found (named in the YAML)' }); return undefined; }
  let table: RawTable;
  try { table = await readTable(path, { separator: '\t' }); } catch (err) { issues.push({ file: path, line: 1, column: 1, message: (err as Error).message }); return undefined; }
  const header = table.rows[0]!.fields.map((h) => h.trim());
  for (const r of required) if (!header.includes(r)) issues.push({ file: path, line: table.rows[0]!.line, column: 1, message: `missing column "${r}" (columns: ${header.join(', ')})` });
  const rows = table.rows.slice(1).filter((r) => r.fields.some((f) => f.trim() !== '')).map((r) => ({
    line: r.line,
    get: (col: string) => { const i = header.indexOf(col); return i < 0 ? undefined : (r.fields[i] ?? '').trim(); },
    column: (col: string) => header.indexOf(col) + 1,
  }));
  return { header, rows };
}

const SCALES = ['lin', 'log', 'log10'];

/** Reads a PEtab problem; the first problem found is an InputError (`lintPetab` lists them all).  * @example
 * const problem = await readPetab('Boehm_JProteomeRes2014/Boehm_JProteomeRes2014.yaml');
 * problem.measurements.length; problem.model.states.map((s) => s.name);
 */
export async function readPetab(yamlPath: string): Promise<PetabProblem> {
  const { problem, issues } = await lintPetab(yamlPath);
  if (issues.length) {
    throw new InputError(issues.length === 1 ? where(issues[0]!) : `${issues.length} problems; the first: ${where(issues[0]!)} (ctwin petab lint lists them all)`);
  }
  return problem!;
}

/** Every problem of a PEtab problem, with file, row and column; and the problem where it can be read.  * @example
 * const { issues } = await lintPetab('problem.yaml');
 * for (const i of issues) console.log(`${i.file}:${i.line}:${i.column}: ${i.message}`);
 */
export async function lintPetab(yamlPath: string): Promise<{ problem?: PetabProblem; issues: PetabIssue[] }> {
  const issues: PetabIssue[] = [];
  const dir = dirname(yamlPath);
  let doc: Record<string, unknown>;
  try {
    doc = parseYaml(readFileSync(yamlPath, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    const e = err as Error & { linePos?: Array<{ line: number; col: number }> };
    return { issues: [{ file: yamlPath, line: e.linePos?.[0]?.line ?? 1, column: e.linePos?.[0]?.col ?? 1, message: `not readable YAML (${e.message.split('\n')[0]})` }] };
  }
  const yamlIssue = (message: string) => ({ issues: [...issues, { file: yamlPath, line: 1, column: 1, message }] });
  if (!doc || typeof doc !== 'object') return yamlIssue('a PEtab YAML file is a mapping with format_version, parameter_file and problems');
  const version = String(doc.format_version ?? '');
  if (version !== '1' && !version.startsWith('1.') && !version.startsWith('2')) return yamlIssue(`format_version ${version || '(missing)'}: PEtab 1 (and 2 where it only renames) is read`);
  const problems = doc.problems as Array<Record<string, string[]>> | undefined;
  if (!Array.isArray(problems) || problems.length !== 1) return yamlIssue(`"problems" must list exactly one problem (found ${Array.isArray(problems) ? problems.length : 'none'})`);
  const p = problems[0]!;
  const one = (key: string, alt?: string) => {
    const v = p[key] ?? (alt ? p[alt] : undefined);
    const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
    if (list.length !== 1) { issues.push({ file: yamlPath, line: 1, column: 1, message: `"${key}" must name exactly one file (found ${list.length}); several tables of one kind are not supported` }); return undefined; }
    return join(dir, String(list[0]));
  };
  const sbmlFile = one('sbml_files', 'model_files');
  const files = {
    conditions: one('condition_files'), measurements: one('measurement_files'), observables: one('observable_files'),
    parameters: doc.parameter_file ? join(dir, String(Array.isArray(doc.parameter_file) ? doc.parameter_file[0] : doc.parameter_file)) : undefined,
  };
  if (!files.parameters) issues.push({ file: yamlPath, line: 1, column: 1, message: '"parameter_file" is missing' });
  if (!sbmlFile || !files.conditions || !files.measurements || !files.observables || !files.parameters) return { issues };
  const F = { conditions: files.conditions, measurements: files.measurements, observables: files.observables, parameters: files.parameters };

  // The model.
  let spec: Record<string, unknown>, model: Model;
  try {
    if (!existsSync(sbmlFile)) throw new InputError(`${sbmlFile}: file not found (named in ${yamlPath})`);
    spec = importSbml(readFileSync(sbmlFile, 'utf8'), sbmlFile).spec;
    model = parseModel(spec, sbmlFile);
  } catch (err) {
    const m = /^(.*?):(\d+):(\d+): (.*)$/s.exec((err as Error).message);
    return { issues: [...issues, m ? { file: m[1]!, line: Number(m[2]), column: Number(m[3]), message: m[4]! } : { file: sbmlFile, line: 1, column: 1, message: (err as Error).message.replace(`${sbmlFile}: `, '') }] };
  }
  const renamed = (spec.sbml as { renamed: Record<string, string> }).renamed;
  const modelName = (id: string) => renamed[id] ?? id;
  const isModelParam = (id: string) => model.params.some((q) => q.name === modelName(id));
  const isState = (id: string) => model.states.some((q) => q.name === modelName(id));
  const isModelSymbol = (id: string) => isModelParam(id) || isState(id) || model.expressions.some((e) => e.name === modelName(id));

  // Parameters.
  const parameters: PetabParameter[] = [];
  const pt = await readTsv(F.parameters, ['parameterId', 'parameterScale', 'lowerBound', 'upperBound', 'nominalValue', 'estimate'], issues);
  const num = (file: string, row: { line: number; get(c: string): string | undefined; column(c: string): number }, col: string, opts: { optional?: boolean } = {}) => {
    const v = row.get(col);
    if ((v === undefined || v === '') && opts.optional) return NaN;
    const x = v === undefined ? NaN : /^-?inf$/i.test(v) ? (v.startsWith('-') ? -Infinity : Infinity) : Number(v);
    if (v === undefined || v === '' || Number.isNaN(x)) issues.push({ file, line: row.line, column: row.column(col), message: `${col} "${v ?? ''}" is not a number` });
    return x;
  };
  for (const r of pt?.rows ?? []) {
    const id = r.get('parameterId') ?? '';
    if (!/^[A-Za-z_]\w*$/.test(id)) { issues.push({ file: F.parameters, line: r.line, column: r.column('parameterId'), message: `parameterId "${id}" is not a valid id` }); continue; }
    if (parameters.some((q) => q.id === id)) issues.push({ file: F.parameters, line: r.line, column: r.column('parameterId'), message: `parameter "${id}" is listed twice` });
    const scale = (r.get('parameterScale') ?? '') as Scale;
    if (!SCALES.includes(scale)) issues.push({ file: F.parameters, line: r.line, column: r.column('parameterScale'), message: `parameterScale "${scale}": use lin, log or log10` });
    const estimate = r.get('estimate');
    if (estimate !== '0' && estimate !== '1') issues.push({ file: F.parameters, line: r.line, column: r.column('estimate'), message: `estimate "${estimate}": use 0 or 1` });
    const lower = num(F.parameters, r, 'lowerBound'), upper = num(F.parameters, r, 'upperBound'), nominal = num(F.parameters, r, 'nominalValue', { optional: estimate === '1' });
    if (lower > upper) issues.push({ file: F.parameters, line: r.line, column: r.column('lowerBound'), message: `lowerBound ${lower} is above upperBound ${upper}` });
    if (scale !== 'lin' && estimate === '1' && lower <= 0) issues.push({ file: F.parameters, line: r.line, column: r.column('lowerBound'), message: `lowerBound ${lower} on ${scale} scale must be positive` });
    const priorType = r.get('objectivePriorType') ?? r.get('priorType');
    const prior = priorType ? { type: priorType, parameters: (r.get('objectivePriorParameters') ?? r.get('priorParameters') ?? '').split(';').filter(Boolean).map(Number) } : undefined;
    parameters.push({ id, scale, lower, upper, nominal, estimate: estimate === '1', prior, line: r.line });
  }
  const parameterIds = new Set(parameters.map((q) => q.id));

  // Observables.
  const observables: PetabObservable[] = [];
  const ot = await readTsv(F.observables, ['observableId', 'observableFormula', 'noiseFormula'], issues);
  for (const r of ot?.rows ?? []) {
    const id = r.get('observableId') ?? '';
    if (!/^[A-Za-z_]\w*$/.test(id)) { issues.push({ file: F.observables, line: r.line, column: r.column('observableId'), message: `observableId "${id}" is not a valid id` }); continue; }
    const transformation = (r.get('observableTransformation') || 'lin') as Transformation;
    if (!SCALES.includes(transformation)) issues.push({ file: F.observables, line: r.line, column: r.column('observableTransformation'), message: `observableTransformation "${transformation}": use lin, log or log10` });
    const distribution = (r.get('noiseDistribution') || 'normal') as NoiseDistribution;
    if (distribution !== 'normal' && distribution !== 'laplace') issues.push({ file: F.observables, line: r.line, column: r.column('noiseDistribution'), message: `noiseDistribution "${distribution}": use normal or laplace` });
    const formula = r.get('observableFormula') ?? '', noiseFormula = r.get('noiseFormula') ?? '';
    // Every symbol a formula names must be known: the model, a PEtab parameter, or this observable's placeholders.
    for (const [col, text, prefix] of [['observableFormula', formula, 'observableParameter'], ['noiseFormula', noiseFormula, 'noiseParameter']] as const) {
      let node: MathNode;
      try { node = mathjs.parse(text); } catch (err) { issues.push({ file: F.observables, line: r.line, column: r.column(col), message: `${col} "${text}" is not a formula (${(err as Error).message})` }); continue; }
      const placeholder = new RegExp(`^${prefix}\\d+_${id}$`);
      node.traverse((n) => {
        if (!('isSymbolNode' in n) || !n.isSymbolNode) return;
        const name = (n as unknown as { name: string }).name;
        if (name === 'time' || name === 't' || placeholder.test(name) || isModelSymbol(name) || parameterIds.has(name) || ['pi', 'e'].includes(name)) return;
        if (['exp', 'log', 'log10', 'sqrt', 'abs', 'sin', 'cos', 'tan', 'min', 'max', 'pow', 'ln'].includes(name)) return;
        issues.push({ file: F.observables, line: r.line, column: r.column(col), message: `${col} of "${id}" names "${name}", which is neither in the model nor in the parameter table${/Parameter\d+_/.test(name) ? ` (placeholders of this observable are named ${prefix}<n>_${id})` : ''}` });
      });
    }
    observables.push({ id, formula, noiseFormula, transformation, distribution, line: r.line });
  }
  const observableIds = new Set(observables.map((o) => o.id));

  // Conditions.
  const conditions = new Map<string, Map<string, string>>();
  const ct = await readTsv(F.conditions, ['conditionId'], issues);
  const conditionColumns = (ct?.header ?? []).filter((h) => h !== 'conditionId' && h !== 'conditionName');
  for (const col of conditionColumns) {
    if (!isModelParam(col) && !isState(col) && !parameterIds.has(col)) {
      issues.push({ file: F.conditions, line: 1, column: (ct?.header.indexOf(col) ?? 0) + 1, message: `column "${col}" is not a parameter, species or compartment of the model` });
    }
  }
  for (const r of ct?.rows ?? []) {
    const id = r.get('conditionId') ?? '';
    if (conditions.has(id)) issues.push({ file: F.conditions, line: r.line, column: 1, message: `condition "${id}" is listed twice` });
    const values = new Map<string, string>();
    for (const col of conditionColumns) {
      const v = r.get(col) ?? '';
      const ok = v === '' || !Number.isNaN(Number(v)) || /^nan$/i.test(v) || parameterIds.has(v) || isModelParam(v);
      if (!ok) issues.push({ file: F.conditions, line: r.line, column: r.column(col), message: `"${v}" in column ${col} is neither a number nor a parameter id` });
      values.set(col, v);
    }
    conditions.set(id, values);
  }

  // Measurements.
  const measurements: PetabMeasurement[] = [];
  const mt = await readTsv(F.measurements, ['observableId', 'simulationConditionId', 'measurement', 'time'], issues);
  const placeholderCount = (o: PetabObservable, prefix: string) => {
    const n = new Set<number>();
    for (const m of `${o.formula} ${o.noiseFormula}`.matchAll(new RegExp(`${prefix}(\\d+)_${o.id}\\b`, 'g'))) n.add(Number(m[1]));
    return n.size;
  };
  for (const r of mt?.rows ?? []) {
    const obs = r.get('observableId') ?? '', sim = r.get('simulationConditionId') ?? '', pre = r.get('preequilibrationConditionId') || undefined;
    if (!observableIds.has(obs)) issues.push({ file: F.measurements, line: r.line, column: r.column('observableId'), message: `observable "${obs}" is not in the observable table` });
    for (const [c, col] of [[sim, 'simulationConditionId'], [pre, 'preequilibrationConditionId']] as const) {
      if (c !== undefined && !conditions.has(c)) issues.push({ file: F.measurements, line: r.line, column: r.column(col), message: `condition "${c}" is not in the condition table` });
    }
    const value = num(F.measurements, r, 'measurement'), time = num(F.measurements, r, 'time');
    if (time < 0) issues.push({ file: F.measurements, line: r.line, column: r.column('time'), message: `time ${time} is negative (simulations start at 0)` });
    const split = (col: string) => (r.get(col) ?? '').split(';').map((s) => s.trim()).filter((s) => s !== '');
    const observableParameters = split('observableParameters'), noiseParameters = split('noiseParameters');
    for (const [list, col] of [[observableParameters, 'observableParameters'], [noiseParameters, 'noiseParameters']] as const) {
      for (const v of list) if (Number.isNaN(Number(v)) && !parameterIds.has(v) && !isModelParam(v)) issues.push({ file: F.measurements, line: r.line, column: r.column(col), message: `"${v}" in ${col} is neither a number nor a parameter id` });
    }
    const o = observables.find((x) => x.id === obs);
    if (o) {
      const need = placeholderCount(o, 'observableParameter'), needNoise = placeholderCount(o, 'noiseParameter');
      if (observableParameters.length !== need) issues.push({ file: F.measurements, line: r.line, column: r.column('observableParameters') || 1, message: `observable "${obs}" has ${need} observableParameter placeholder(s); this row gives ${observableParameters.length}` });
      if (noiseParameters.length !== needNoise) issues.push({ file: F.measurements, line: r.line, column: r.column('noiseParameters') || 1, message: `observable "${obs}" has ${needNoise} noiseParameter placeholder(s); this row gives ${noiseParameters.length}` });
      if (o.transformation !== 'lin' && value <= 0) issues.push({ file: F.measurements, line: r.line, column: r.column('measurement'), message: `measurement ${value} of a ${o.transformation}-transformed observable must be positive` });
    }
    measurements.push({ observable: obs, preequilibration: pre, simulation: sim, value, time, observableParameters, noiseParameters, line: r.line });
  }
  if (measurements.length === 0 && mt) issues.push({ file: F.measurements, line: 2, column: 1, message: 'no measurements' });

  const problem: PetabProblem = {
    yaml: yamlPath, sbmlFile, spec, model, modelName, parameters, conditions, conditionColumns, observables, measurements,
    files: F,
  };
  return { problem: issues.length ? undefined : problem, issues };
}
