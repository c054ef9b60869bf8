/** Solutions to CSV: `traj.csv` (traj,t,<states>) and `status.csv` (traj,status,steps,rejected), written atomically. */
import { writeFileAtomic } from './csv.js';
import type { Model } from '../physics/model.js';
import { statusName } from '../methods/status.js';
import type { Solution } from '../solvers/solution.js';

const formatNumber = (backend: 'gpu' | 'cpu') =>
  backend === 'gpu' ? (x: number) => (Number.isNaN(x) ? 'NaN' : String(Number(x.toPrecision(9)))) : (x: number) => String(x);

/**
 * Writes `traj.csv` (traj,t,<states in model order>), atomically.
 * @example
 * writeTrajectories('traj.csv', model, sol); // traj,t,<states>
 */
export function writeTrajectories(path: string, model: Model, sol: Solution): void {
  const N = model.states.length, S = sol.t.length, B = sol.status.length;
  const fmt = formatNumber(sol.backend);
  const times = Array.from(sol.t, (t) => String(t));
  writeFileAtomic(path, (write) => {
    write(`traj,t,${model.states.map((s) => s.name).join(',')}\n`);
    let buf = '';
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < S; s++) {
        let line = `${b},${times[s]}`;
        const o = (b * S + s) * N;
        for (let k = 0; k < N; k++) line += `,${fmt(sol.y[o + k]!)}`;
        buf += line + '\n';
      }
      if (buf.length > 1 << 20) { write(buf); buf = ''; }
    }
    write(buf);
  });
}

/**
 * Writes `status.csv` (traj,status,steps,rejected), atomically.
 * @example
 * writeStatus('status.csv', sol); // traj,status,steps,rejected
 */
export function writeStatus(path: string, sol: Solution): void {
  writeFileAtomic(path, (write) => {
    write('traj,status,steps,rejected\n');
    let buf = '';
    for (let b = 0; b < sol.status.length; b++) {
      buf += `${b},${statusName(sol.status[b]!)},${sol.stats.steps[b]},${sol.stats.rejected[b]}\n`;
      if (buf.length > 1 << 20) { write(buf); buf = ''; }
    }
    write(buf);
  });
}
