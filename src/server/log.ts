// Structured logs: one JSON object per line. Requests, lifecycle events, the
// audit trail (every denial and trap, also appended to the data dir's audit
// log), and tenants' stderr, rate-limited per tenant so a chatty guest cannot
// fill the operator's disk.

import { appendFileSync } from 'node:fs';
import { ACTIVE_BEYOND_C0, matcher } from '../text/control-characters.js';

export type LogSink = (line: string) => void;

/** One request's log line. */
export interface RequestLine {
  request_id: string;
  tenant: string | null;
  route: string;
  method: string | undefined;
  status: number;
  duration_ms: number;
  digest: string | null;
  fuel?: number;
  reason?: string;
}

/**
 * Characters JSON.stringify leaves raw that a terminal acts on, or that hide,
 * reorder or split what an operator reads: DEL, the C1 controls (U+009B is a
 * CSI, as ESC [ is), the line and paragraph separators, and the bidi
 * marks, embeddings, overrides and isolates. A method, a tenant's stderr or a
 * trap message carrying them could otherwise recolour or rewrite a terminal
 * showing the log. In a JSON line they can only sit inside strings, so each is
 * written as a \u escape, which JSON.parse reads back as the same character.
 */
const TERMINAL_ACTIVE = new RegExp(`[${ACTIVE_BEYOND_C0}]`);
const TERMINAL_ACTIVE_ALL = matcher(ACTIVE_BEYOND_C0);
const unicodeEscape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** A JSON line with the characters above escaped (unchanged, and not copied, when it has none). */
export function escapeLogLine(json: string): string {
  return TERMINAL_ACTIVE.test(json) ? json.replace(TERMINAL_ACTIVE_ALL, unicodeEscape) : json;
}

const jsonOrNull = (value: string | null): string => (value === null ? 'null' : JSON.stringify(value));
/** A number as JSON.stringify writes it (null when not finite). */
const jsonNumber = (value: number): string => (Number.isFinite(value) ? String(value) : 'null');

/** Bytes of tenant stderr logged per second and at once, per tenant. */
const STDERR_RATE = 4096;
const STDERR_BURST = 16 * 1024;
/** Longest stderr excerpt in one log line. */
const STDERR_EXCERPT = 2048;

export class ServeLog {
  private readonly stderrBudgets = new Map<string, { tokens: number; last: number; dropped: number }>();

  constructor(private readonly sink: LogSink, private readonly auditFile: string | null, private readonly now: () => number = Date.now) {}

  event(fields: Record<string, unknown>): void {
    this.sink(escapeLogLine(JSON.stringify({ time: this.time(), ...fields })) + '\n');
  }

  /**
   * The same line as event({ kind: 'request', ...fields }), its fields in a
   * fixed order, written out directly rather than through an object for
   * JSON.stringify: every string is still escaped by JSON.stringify (the
   * method comes from the client), numbers are written as JSON writes them,
   * and an undefined field is left out as JSON.stringify leaves it out.
   */
  request(fields: RequestLine): void {
    let text = `{"time":"${this.time()}","kind":"request","request_id":${JSON.stringify(fields.request_id)},"tenant":${jsonOrNull(fields.tenant)},"route":${JSON.stringify(fields.route)}`;
    if (fields.method !== undefined) text += `,"method":${JSON.stringify(fields.method)}`;
    text += `,"status":${jsonNumber(fields.status)},"duration_ms":${jsonNumber(fields.duration_ms)},"digest":${jsonOrNull(fields.digest)}`;
    if (fields.fuel !== undefined) text += `,"fuel":${jsonNumber(fields.fuel)}`;
    if (fields.reason !== undefined) text += `,"reason":${JSON.stringify(fields.reason)}`;
    this.sink(escapeLogLine(text + '}') + '\n');
  }

  private lastMs = NaN;
  private lastIso = '';
  /** The time as ISO 8601, formatted once per millisecond (a busy server logs many lines in one). */
  private time(): string {
    const ms = this.now();
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.lastIso = new Date(ms).toISOString();
    }
    return this.lastIso;
  }

  audit(fields: Record<string, unknown>): void {
    const line = escapeLogLine(JSON.stringify({ time: this.time(), kind: 'audit', ...fields })) + '\n';
    this.sink(line);
    if (this.auditFile) {
      try {
        appendFileSync(this.auditFile, line, { mode: 0o600 });
      } catch {
        // The audit file is a copy of what the log stream carries; a full disk must not fail requests.
      }
    }
  }

  /** Logs a tenant's stderr within its byte budget; what is over budget is counted, not kept. */
  tenantStderr(tenant: string, requestId: string, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const now = this.now();
    let budget = this.stderrBudgets.get(tenant);
    if (!budget) this.stderrBudgets.set(tenant, (budget = { tokens: STDERR_BURST, last: now, dropped: 0 }));
    // A reading earlier than the last (the wall clock stepped back) adds nothing: counted as negative time it
    // put the budget into debt, and the tenant's stderr was dropped for as long as the step.
    budget.tokens = Math.min(STDERR_BURST, budget.tokens + (Math.max(0, now - budget.last) / 1000) * STDERR_RATE);
    budget.last = now;
    const take = Math.min(bytes.length, STDERR_EXCERPT, Math.floor(budget.tokens));
    if (take <= 0) { budget.dropped += bytes.length; return; }
    budget.tokens -= take;
    const dropped = budget.dropped + (bytes.length - take);
    budget.dropped = 0;
    this.event({ kind: 'stderr', tenant, request_id: requestId, text: Buffer.from(bytes.subarray(0, take)).toString('utf8'), ...(dropped ? { dropped_bytes: dropped } : {}) });
  }
}

