/**
 * Progress and interruption, the same for every long command. Bars are drawn only on a terminal
 * (stderr a TTY, TERM not "dumb"); in a pipe, a log file or with --quiet a command prints plain
 * stage lines or nothing, and never colour (NO_COLOR is honoured trivially: we emit no colour).
 */
import cliProgress from 'cli-progress';

/** Whether progress may be drawn on stderr (a terminal, not TERM=dumb, not --quiet/--json). */
export const showsProgress = (quiet: boolean | undefined) => !quiet && !!process.stderr.isTTY && process.env.TERM !== 'dumb';

/** A progress bar on stderr, or undefined where one must not be drawn. */
export function progressBar(quiet: boolean | undefined, format: string): cliProgress.SingleBar | undefined {
  if (!showsProgress(quiet)) return undefined;
  return new cliProgress.SingleBar({ stream: process.stderr, format, hideCursor: true, etaBuffer: 30 }, cliProgress.Presets.shades_classic);
}

/** Exit status after SIGINT (128 + 2), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/**
 * Ctrl-C (SIGINT) or SIGTERM while `job` runs: `message()` is printed and the process exits at
 * once (130 / 143). Work runs in the engine's worker thread, so this thread is free to answer
 * within milliseconds; every file under its final name is written whole by a rename, so an
 * interruption leaves each one either absent or complete, and checkpoints likewise.
 */
export async function interruptible<T>(job: () => Promise<T>, message: () => string, cleanup?: () => void): Promise<T> {
  const handler = (signal: NodeJS.Signals) => {
    cleanup?.();
    process.stderr.write(`\n${message()}\n`);
    process.exit(signal === 'SIGINT' ? EXIT_INTERRUPTED : 143);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  try {
    return await job();
  } finally {
    process.removeListener('SIGINT', handler);
    process.removeListener('SIGTERM', handler);
  }
}
