/**
 * Progress of long commands on stderr: a cli-progress bar with rate and ETA on a terminal, a plain
 * line every few seconds (and one at the end) otherwise, nothing with --quiet.
 */
import cliProgress from "cli-progress";
import { formatBytes, formatDuration } from "./text.js";

export type ProgressUnit = "bytes" | "chunks";

export interface Progress {
  /** Set the total (may be called again when it becomes known). */
  start(total: number): void;
  /** Report the amount done so far. */
  update(done: number): void;
  stop(): void;
}

/** An onProgress callback driving `progress`: started at the first report (which brings the total), updated at every one. */
export function progressReporter(progress: Progress): (report: { done: number; total: number }) => void {
  let started = false;
  return ({ done, total }) => {
    if (!started) {
      started = true;
      progress.start(total);
    }
    progress.update(done);
  };
}

export type ProgressMode = "bar" | "lines" | "none";

export function progressMode(options: { quiet?: boolean }, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  if (options.quiet) return "none";
  return stream.isTTY ? "bar" : "lines";
}

export function createProgress(mode: ProgressMode, label: string, unit: ProgressUnit, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (mode === "none") return { start() {}, update() {}, stop() {} };
  const show = (n: number) => (unit === "bytes" ? formatBytes(n) : `${n} chunks`);
  const rateOf = (done: number, seconds: number) =>
    seconds <= 0 ? "-" : unit === "bytes" ? `${formatBytes(done / seconds)}/s` : `${(done / seconds).toFixed(1)} chunks/s`;
  return mode === "bar" ? new BarProgress(label, stream, show, rateOf) : new LineProgress(label, stream, show, rateOf);
}

type Show = (n: number) => string;
type Rate = (done: number, seconds: number) => string;

class BarProgress implements Progress {
  private readonly bar: cliProgress.SingleBar;
  private began = 0;
  private total = 0;
  private started = false;

  constructor(label: string, stream: NodeJS.WriteStream, private readonly show: Show, private readonly rate: Rate) {
    this.bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {percentage}% | {shown} of {all} | {rate} | ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  start(total: number): void {
    this.total = total;
    if (!this.started) {
      this.started = true;
      this.began = Date.now();
      this.bar.start(Math.max(total, 1), 0, this.payload(0));
    } else this.bar.setTotal(Math.max(total, 1));
  }

  update(done: number): void {
    this.bar.update(this.total === 0 ? 1 : done, this.payload(done));
  }

  stop(): void {
    if (this.started) this.bar.stop();
    this.started = false;
  }

  private payload(done: number): Record<string, string> {
    return { shown: this.show(done), all: this.show(this.total), rate: this.rate(done, (Date.now() - this.began) / 1000) };
  }
}

const LINE_INTERVAL_MS = 2000;

class LineProgress implements Progress {
  private began = 0;
  private lastLine = 0;
  private total = 0;
  private done = 0;
  private active = false;

  constructor(private readonly label: string, private readonly stream: NodeJS.WriteStream, private readonly show: Show, private readonly rate: Rate) {}

  start(total: number): void {
    this.total = total;
    if (!this.active) {
      this.active = true;
      this.began = this.lastLine = Date.now();
    }
  }

  update(done: number): void {
    this.done = done;
    const now = Date.now();
    if (now - this.lastLine >= LINE_INTERVAL_MS) {
      this.lastLine = now;
      this.print(now);
    }
  }

  stop(): void {
    if (!this.active) return;
    this.active = false;
    this.print(Date.now());
  }

  private print(now: number): void {
    const seconds = (now - this.began) / 1000;
    const percent = this.total === 0 ? 100 : Math.floor((100 * this.done) / this.total);
    const remaining = this.done > 0 && this.done < this.total ? ((this.total - this.done) * seconds) / this.done : 0;
    const eta = this.done >= this.total ? `done in ${formatDuration(seconds)}` : `ETA ${this.done > 0 ? formatDuration(remaining) : "?"}`;
    this.stream.write(`${this.label}: ${percent}% (${this.show(this.done)} of ${this.show(this.total)}, ${this.rate(this.done, seconds)}, ${eta})\n`);
  }
}
