/**
 * Progress lines with rate and ETA on stderr, throttled so that long runs print a line every few
 * seconds rather than every step (and nothing at all when quiet).
 */
export interface ProgressOptions {
  /** What is counted, e.g. "texts". */
  unit: string;
  /** Minimum milliseconds between lines. Default 2000. */
  intervalMs?: number;
  /** Print nothing. Default false. */
  quiet?: boolean;
  /** Where lines go. Default process.stderr. */
  write?: (line: string) => void;
}

export class Progress {
  private done = 0;
  private readonly start = Date.now();
  private last = 0;

  constructor(
    private readonly total: number,
    private readonly opts: ProgressOptions,
  ) {}

  /** Count `n` more finished items and maybe print; `note` is appended to the line. */
  tick(n: number, note = ''): void {
    this.done += n;
    const now = Date.now();
    if (now - this.last < (this.opts.intervalMs ?? 2000) && this.done < this.total) return;
    this.last = now;
    this.print(note);
  }

  /** Print the current state now, whatever the interval. */
  print(note = ''): void {
    if (this.opts.quiet) return;
    const elapsed = (Date.now() - this.start) / 1000;
    const rate = this.done / Math.max(elapsed, 1e-9);
    const eta = this.done > 0 ? (this.total - this.done) / rate : NaN;
    const pct = this.total > 0 ? ((100 * this.done) / this.total).toFixed(1) : '100.0';
    const line = `${this.done}/${this.total} ${this.opts.unit} (${pct}%) ${formatSeconds(elapsed)} elapsed, ETA ${formatSeconds(eta)}${note ? ` | ${note}` : ''}`;
    (this.opts.write ?? ((s: string) => process.stderr.write(s + '\n')))(line);
  }
}

/** 75 -> "1m15s"; NaN -> "?". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.round(s - 60 * m)}s`;
  return `${Math.floor(m / 60)}h${m % 60}m`;
}

/**
 * Let the event loop run once. Long optimisation loops whose awaits resolve as microtasks (the
 * wasm backend's `data()`) never reach the event loop otherwise, so a Ctrl-C or SIGTERM handler
 * would not run until the next file write. Costs microseconds; call once per step.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
