// Log lines gathered per event-loop turn and written with one call at the end
// of the turn, instead of one synchronous write(2) per line: under load a turn
// answers several requests, and the write was a measurable share of the main
// thread's CPU per request (docs/RATIONALE.md, "Serve: log lines batched per
// turn"). Order is kept; nothing is dropped. What is pending is written by
// flush(), which the owner calls before it exits.

/** A line sink that writes what it was given once per turn, in order. */
export interface BatchedLines {
  (line: string): void;
  /** Writes every pending line now (at shutdown, before the process exits). */
  flush(): void;
}

/** Pending text written at once without waiting for the turn to end, so a burst keeps host memory bounded. */
const FLUSH_AT = 64 * 1024;

export function batchLines(write: (text: string) => void): BatchedLines {
  let pending: string[] = [];
  let bytes = 0;
  let scheduled = false;
  const flush = (): void => {
    if (pending.length === 0) return;
    const text = pending.length === 1 ? pending[0]! : pending.join('');
    pending = [];
    bytes = 0;
    write(text);
  };
  const onTurnEnd = (): void => { scheduled = false; flush(); };
  const sink = (line: string): void => {
    pending.push(line);
    bytes += line.length;
    if (bytes >= FLUSH_AT) return flush();
    if (!scheduled) {
      scheduled = true;
      // setImmediate runs after this turn's I/O callbacks; it keeps the process alive until the lines are out.
      setImmediate(onTurnEnd);
    }
  };
  return Object.assign(sink, { flush });
}
