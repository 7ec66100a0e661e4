// The `[limits]` keys of a policy file: one table read by the loader and by
// the JSON Schema generator, so the two cannot drift apart.

import type { LimitsPolicy } from './policy.js';

export interface LimitKey {
  /** The key as written in a policy file. */
  key: string;
  /** The LimitsPolicy field it sets. */
  field: keyof LimitsPolicy;
  /** size: bytes or `64MiB`; count: a whole number; duration: ms or `2s`. */
  kind: 'size' | 'count' | 'duration';
  /** The smallest value accepted (counts). */
  min?: number;
  /** 0 turns the limit off (the field becomes null). */
  zeroIsOff?: boolean;
  description: string;
}

export const LIMIT_KEYS: readonly LimitKey[] = [
  { key: 'memory', field: 'memory', kind: 'size', description: 'Linear memory per memory, rounded down to 64 KiB pages: declared maxima are rewritten down to it (memory.grow returns -1 there); a larger initial size is refused at admission. At most 4GiB.' },
  { key: 'table-elements', field: 'tableElements', kind: 'count', description: 'Elements of all tables together, initial plus growth: a module whose tables start above it is refused, and the tables\' maxima are rewritten so they sum to at most it (table.grow returns -1 there).' },
  { key: 'tables', field: 'tables', kind: 'count', description: 'Tables a module may declare.' },
  { key: 'memories', field: 'memories', kind: 'count', description: 'Memories a module may declare; more than 1 also needs the multi-memory feature.' },
  { key: 'fuel', field: 'fuel', kind: 'count', zeroIsOff: true, description: 'Instructions a run may execute, about one unit each, charged per region at function entries and loop headers; 0 turns metering off. Running out ends the run with trap kind fuel.' },
  { key: 'timeout', field: 'timeoutMs', kind: 'duration', zeroIsOff: true, description: 'Wall-clock limit per run; preempts running guest code (trap kind deadline). 0: none.' },
  { key: 'output', field: 'outputBytes', kind: 'size', description: 'Bytes of stdout plus stderr per run; passing it ends the run (trap kind output-limit).' },
  { key: 'fds', field: 'fds', kind: 'count', min: 3, description: 'Open descriptors, stdio included (EMFILE beyond).' },
  { key: 'files', field: 'files', kind: 'count', description: 'Files and directories a run may create (EDQUOT beyond).' },
  { key: 'write', field: 'writeBytes', kind: 'size', description: 'Bytes a run may write to files (EDQUOT beyond).' },
  { key: 'module-size', field: 'moduleBytes', kind: 'size', description: 'Size of the module as shipped.' },
  { key: 'functions', field: 'functions', kind: 'count', description: 'Functions, imported and defined.' },
  { key: 'data', field: 'dataBytes', kind: 'size', description: 'Bytes in data segments.' },
  { key: 'concurrency', field: 'concurrency', kind: 'count', min: 1, description: 'Runs at once in one sandbox (isolates in its pool).' },
  { key: 'queue', field: 'queue', kind: 'count', description: 'Runs that may wait for an isolate; one more is refused at once.' },
];
