/**
 * Progress of a training run: a redrawn bar with metrics and ETA on a terminal, and plain lines
 * (one per log step) anywhere else, so CI logs and `2> train.log` stay readable. Both modes show
 * the same text; the ETA counts only the steps done by this process, so a resumed run does not
 * credit itself with the steps of the run it resumes.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import { formatSeconds } from './progress.js';

/** The part of a writable stream the bar needs (process.stderr, a tty.WriteStream, a test double). */
export interface BarStream {
  write(chunk: string, cb?: (err?: Error | null) => void): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface TrainProgressOptions {
  /** Total steps of the run. */
  total: number;
  /** Step the run starts at (resume). Default 0. */
  start?: number;
  /** Print nothing. Default false. */
  quiet?: boolean;
  /** Force the mode; default: bar when process.stderr.isTTY (of `stream` when given). */
  tty?: boolean;
  /** Where plain lines go. Default process.stderr.write. */
  write?: (line: string) => void;
  /** Where the bar is drawn in TTY mode. Default process.stderr. */
  stream?: BarStream;
  /** Clock in milliseconds, for elapsed time and ETA. Default Date.now. */
  now?: () => number;
}

/** `{ loss: 1.2345, acc: 0.5 }` -> "loss 1.234 acc 0.500"; tiny or huge values in exponent form. */
export function formatMetrics(metrics: Record<string, number>): string {
  return Object.entries(metrics)
    .map(([name, v]) => `${name} ${formatMetric(v)}`)
    .join(' ');
}

function formatMetric(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e5 ? v.toFixed(3) : v.toExponential(2);
}

export class TrainProgress {
  private readonly total: number;
  private readonly start: number;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly write: (line: string) => void;
  private readonly stream: BarStream;
  private readonly multi: MultiBar | undefined;
  private readonly bar: SingleBar | undefined;
  private stopped = false;

  constructor(private readonly opts: TrainProgressOptions) {
    const start = opts.start ?? 0;
    if (!Number.isInteger(opts.total) || opts.total < 0) throw new RangeError(`TrainProgressOptions.total must be a non-negative integer, got ${opts.total}`);
    if (!Number.isInteger(start) || start < 0 || start > opts.total) throw new RangeError(`TrainProgressOptions.start must be an integer in 0..${opts.total}, got ${start}`);
    this.total = opts.total;
    this.start = start;
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.stream = opts.stream ?? process.stderr;
    this.write = opts.write ?? ((line) => void process.stderr.write(line + '\n'));
    if (opts.quiet || !(opts.tty ?? this.stream.isTTY === true)) return;

    const stream = this.stream;
    // cli-progress draws only on streams that say they are TTYs; a forced bar goes through this view.
    const view: BarStream = {
      isTTY: true,
      get columns() {
        return stream.columns ?? 80;
      },
      write: (chunk, cb) => stream.write(chunk, cb),
    };
    this.multi = new MultiBar({
      stream: view as unknown as NodeJS.WritableStream,
      format: '[{bar}] {status}',
      barsize: 24,
      barCompleteChar: '#',
      barIncompleteChar: '-',
      // Leave the terminal's modes alone: a run killed without stop() must not leave the cursor
      // hidden or wrapping off, and SIGINT stays the trainer's to handle. Long lines are cut instead.
      linewrap: true,
      hideCursor: false,
      gracefulExit: false,
    });
    this.multi.on('update-post', () => this.unrefTimer());
    this.bar = this.multi.create(this.total, this.start, { status: this.describe(this.start, {}, true) });
    this.unrefTimer();
  }

  /** Step `step` done; `metrics` shown in the bar / line (e.g. { loss: 1.23, acc: 0.5 }). In plain mode prints a line only when `log` is true. */
  update(step: number, metrics: Record<string, number>, log = false): void {
    if (this.opts.quiet || this.stopped) return;
    if (this.bar) this.bar.update(step, { status: this.describe(step, metrics, true) });
    else if (log) this.write(`step ${this.describe(step, metrics, false)}`);
  }

  /** Print a message without breaking the bar. */
  message(line: string): void {
    if (this.opts.quiet) return;
    if (this.multi && !this.stopped) {
      this.multi.log(line + '\n');
      this.multi.update(); // draw now: a buffered message would be lost if stop() came first
    } else if (this.multi) {
      this.stream.write(line + '\n');
    } else {
      this.write(line);
    }
  }

  /** Draw the final state and release the terminal line. Further updates are ignored. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.multi?.stop();
  }

  /** Plain: "120/2000 (6.0%) loss 1.234 | 1m2s elapsed, ETA 16m5s". The bar puts the timing before
   * the metrics, because a terminal narrower than the line cuts its end. */
  private describe(step: number, metrics: Record<string, number>, forBar: boolean): string {
    const elapsed = (this.now() - this.startedAt) / 1000;
    const done = step - this.start;
    const eta = done > 0 && elapsed > 0 ? ((this.total - step) * elapsed) / done : NaN;
    const pct = this.total > 0 ? ((100 * step) / this.total).toFixed(1) : '100.0';
    const head = `${step}/${this.total} (${pct}%)`;
    const timing = `${formatSeconds(elapsed)} elapsed, ETA ${formatSeconds(eta)}`;
    const shown = formatMetrics(metrics);
    if (forBar) return shown ? `${head} ${timing} | ${shown}` : `${head} ${timing}`;
    return shown ? `${head} ${shown} | ${timing}` : `${head} | ${timing}`;
  }

  /** The bar's redraw timer must not keep the process alive after a run that forgot stop(). */
  private unrefTimer(): void {
    (this.multi as unknown as { timer: NodeJS.Timeout | null }).timer?.unref();
  }
}
