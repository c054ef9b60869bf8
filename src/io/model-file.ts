/** Model files: the JSON of DESIGN.md read from disk and validated (errors name file, line and column). */
import { readFileSync } from 'node:fs';
import { ModelError, parseModel, type Model } from '../physics/model.js';

/** Reads and validates a model file.
 * @example
 * const fromFile = loadModel('examples/condensate.json');
 */
export function loadModel(path: string): Model {
  return loadModelFile(path).model;
}

/**
 * Reads a model file once: the parsed model (validated, errors with line and column) and its JSON
 * spec as written (what transforms such as withDrugs and twin files take).
 */
export function loadModelFile(path: string): { model: Model; spec: Record<string, unknown> } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ModelError(`cannot read the model file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, path);
  }
  const model = parseModel(text, path);
  return { model, spec: JSON.parse(text) as Record<string, unknown> };
}
