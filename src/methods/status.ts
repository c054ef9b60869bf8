/** Per-trajectory outcome codes, shared with the shader (wgsl constants are generated from these). */
export const STATUS = { running: 0, success: 1, max_steps: 2, dt_underflow: 3, non_finite: 4 } as const;
export type StatusName = keyof typeof STATUS;
export const STATUS_NAMES: StatusName[] = ['running', 'success', 'max_steps', 'dt_underflow', 'non_finite'];

/** The name of a status code (see `STATUS`).
 * @example
 * const failed = Array.from(sol.status, statusName).filter((s) => s !== 'success');
 */
export const statusName = (code: number): StatusName | 'unknown' => STATUS_NAMES[code] ?? 'unknown';

/** Bits of a trajectory's controller flags (both backends; the generated code reads them by name). */
export const FLAGS = { STARTED: 1, LAST_REJECTED: 2, LAST_NONFINITE: 4 } as const;
