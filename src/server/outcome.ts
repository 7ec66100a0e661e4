// From a run's result (or the reason there was none) to the HTTP answer.
// Error answers say what class of thing went wrong and carry the request id;
// they never carry a trap's message, a host path, or the module's internals.

import { AdmissionError, SandboxBusyError, type SandboxResult } from '../sandbox/sandbox.js';
import { parseGuestResponse, type GuestResponse } from './wagi.js';

export interface Answer {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array | string;
  /** For the log: why, in more detail than the client sees (still no guest output). */
  reason?: string;
  retryAfter?: number;
}

export function errorAnswer(status: number, message: string, requestId: string, extra: Partial<Answer> = {}): Answer {
  const headers: Array<[string, string]> = [['Content-Type', 'application/json']];
  if (extra.retryAfter !== undefined) headers.push(['Retry-After', String(extra.retryAfter)]);
  return { status, headers, body: JSON.stringify({ error: message, request_id: requestId }) + '\n', ...extra };
}

/** The trap kinds that mean "this tenant used up what it is given" (503) rather than "its code failed" (500). */
const RESOURCE_TRAPS = new Set(['fuel', 'memory']);
/** Trap kinds that are themselves a limit or the host's doing: never re-read as the guest failing at its memory limit. */
const LIMIT_TRAPS = new Set(['deadline', 'fuel', 'memory', 'output-limit', 'host-limit']);
/** The name a run's record carries in `limitsHit` when it failed holding (nearly) all the memory its policy allows. */
export const MEMORY_LIMIT_HIT = 'memory';
const PAGE = 65536;

/**
 * Did this run fail at its memory limit? A refused memory.grow never reaches
 * the host (the engine answers -1 inside the guest, which then typically
 * aborts), so the host judges from what it can see: the run failed (a
 * non-zero exit, or a trap of the guest's own making) with its memory ending
 * within an eighth of the limit (at least 1 MiB), i.e. where a grow of the
 * size allocators ask for is refused. A guest that fails holding little
 * memory after one huge refused request is not caught: it answers 500.
 */
export function failedAtMemoryLimit(result: SandboxResult, memoryLimitBytes: number): boolean {
  const failed = result.trap ? !LIMIT_TRAPS.has(result.trap.kind) : result.exitCode !== null && result.exitCode !== 0;
  if (!failed) return false;
  const limit = Math.floor(memoryLimitBytes / PAGE) * PAGE;
  const headroom = Math.max(1024 * 1024, Math.floor(limit / 8));
  return limit > 0 && result.usage.peakMemoryBytes >= limit - headroom;
}

export function answerFor(result: SandboxResult, requestId: string): Answer {
  const { trap } = result;
  // Recorded by the tenant (failedAtMemoryLimit): the guest failed at its memory limit, which is the limit's doing, not a bug to report as 500.
  if (result.limitsHit.includes(MEMORY_LIMIT_HIT) && (trap ? !LIMIT_TRAPS.has(trap.kind) : result.exitCode !== 0)) {
    return errorAnswer(503, 'the handler ran out of its resource limit', requestId, { reason: 'limit:memory' });
  }
  if (trap) {
    if (trap.kind === 'deadline') return errorAnswer(504, 'the handler did not answer before its deadline', requestId, { reason: 'trap:deadline' });
    if (RESOURCE_TRAPS.has(trap.kind)) return errorAnswer(503, 'the handler ran out of its resource limit', requestId, { reason: `trap:${trap.kind}` });
    if (trap.kind === 'output-limit') return errorAnswer(502, 'the handler\'s response was larger than allowed', requestId, { reason: 'trap:output-limit' });
    return errorAnswer(500, 'the handler failed', requestId, { reason: `trap:${trap.kind}` });
  }
  if (result.exitCode !== 0) return errorAnswer(500, 'the handler failed', requestId, { reason: `exit:${result.exitCode}` });
  const parsed: GuestResponse | string = parseGuestResponse(result.stdout);
  if (typeof parsed === 'string') return errorAnswer(502, 'the handler\'s response was malformed', requestId, { reason: `response:${parsed}` });
  return { status: parsed.status, headers: parsed.headers, body: parsed.body };
}

export function answerForError(error: unknown, requestId: string): Answer {
  if (error instanceof AdmissionError) {
    return errorAnswer(502, 'the tenant\'s module was refused', requestId, { reason: `admission:${error.violations.map((v) => v.rule).join(',')}` });
  }
  if (error instanceof SandboxBusyError) return errorAnswer(429, 'too many requests for this tenant', requestId, { retryAfter: 1, reason: 'busy' });
  return errorAnswer(500, 'internal error', requestId, { reason: `error:${error instanceof Error ? error.name : 'unknown'}` });
}
