/** Model files: the JSON of DESIGN.md read from disk and validated (errors name file, line and column). */
import { readFileSync } from 'node:fs';
import { ModelError, parseModel, type Model } from '../physics/model.js';

/** Reads and validates a model file.
 * @example
 * const fromFile = loadModel('examples/condensate.json');
 */
export function loadModel(path: string): Model {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ModelError(`cannot read the model file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, path);
  }
  return parseModel(text, path);
}
