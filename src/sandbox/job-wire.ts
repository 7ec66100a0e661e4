// A run's job as it crosses into a worker isolate. Most of a job is the same
// run after run for one sandbox (the compiled module, the grant's mounts,
// clock, random source, stdio and limits); only the arguments, environment
// and stdin change per run. Cloning the whole job for every run was the
// largest share of posting it (docs/RATIONALE.md, "Serve: what crosses per
// run"), so the host sends that invariant part to an isolate only when it
// differs from the last one that isolate received, and the environment as
// one string rather than an array of pairs.
//
// The invariant part is compared by identity: a sandbox's grant template
// (policy/compile-grant.ts) shares those objects between its runs, and they
// are frozen. A worker of a shared pool runs jobs of many sandboxes: any
// difference from the last base it was sent means a new base is sent with
// the job, so a run never sees another sandbox's mounts or module.

import type { Job } from './execute.js';
import type { GrantSpec } from '../wasi/grant.js';

/** The grant fields that are the same for every run of a sandbox (its template's objects). */
type BaseField = 'mounts' | 'clock' | 'random' | 'stdout' | 'stderr' | 'limits';

interface Base extends Pick<GrantSpec, BaseField> {
  module: WebAssembly.Module;
}

export interface JobMessage {
  id: number;
  job: Job;
  sentAt?: number;
}

/**
 * What crosses: the job without its invariant part, which comes only when it
 * changed, and the per-run part as few objects as it can be (each object is a
 * step of the structured clone on both sides): a plain `_start` run with its
 * stdin in a buffer (every served request) is the id, fuel, arguments,
 * environment string and stdin bytes. Any other job brings its other fields
 * in `rest`, and any other stdin its spec.
 */
interface WireJob {
  id: number;
  sentAt?: number;
  fuel: number | null;
  args: GrantSpec['args'];
  /** NUL-separated names and values, or the pairs themselves when a string holds a NUL. */
  env: string | GrantSpec['env'];
  /** The bytes of a `buffer` stdin, or any other stdin's spec. */
  stdin: Uint8Array | GrantSpec['stdin'];
  /** The job's other fields (watchdog, guards, entry, plan, kernel), absent for a plain `_start` run. */
  rest?: Omit<Job, 'module' | 'grant' | 'fuel'>;
  /** Present when it differs from the last base this isolate was sent. */
  base?: Base;
}

/**
 * A run of `_start` with nothing linked, no guards, no kernel and no
 * watchdog: what the decoder rebuilds when `rest` is absent.
 */
function isPlainStart(job: Job): boolean {
  return job.watchdog === false && job.kernel === undefined
    && job.guards !== undefined && job.guards.length === 0
    && (job.writeGuarded === undefined || job.writeGuarded.length === 0)
    && job.entry !== undefined && job.entry.kind === 'start'
    && job.plan !== undefined && job.plan.stubs.length === 0 && job.plan.hosted.length === 0;
}

function isJobMessage(message: unknown): message is JobMessage {
  const job = (message as { job?: Partial<Job> } | null)?.job;
  return typeof job === 'object' && job !== null && job.module instanceof WebAssembly.Module && typeof job.grant === 'object' && job.grant !== null;
}

function encodeEnv(env: GrantSpec['env']): string | GrantSpec['env'] {
  let text = '';
  for (let i = 0; i < env.length; i++) {
    const [name, value] = env[i]!;
    // A NUL inside a string would split it on the other side: such an environment crosses as pairs.
    if (name.includes('\0') || value.includes('\0')) return env;
    text += i === 0 ? `${name}\0${value}` : `\0${name}\0${value}`;
  }
  return text;
}

function decodeEnv(env: string | GrantSpec['env']): GrantSpec['env'] {
  if (typeof env !== 'string') return env;
  if (env === '') return [];
  const parts = env.split('\0');
  const pairs: Array<readonly [string, string]> = [];
  for (let i = 0; i + 1 < parts.length; i += 2) pairs.push([parts[i]!, parts[i + 1]!]);
  return pairs;
}

/** The host's side, one per isolate: remembers the base that isolate was last sent. */
export class JobEncoder {
  private last: Base | null = null;

  /** What to post for `message`; call sent() once it is posted. */
  encode(message: unknown): unknown {
    if (!isJobMessage(message)) return message;
    const job = message.job;
    const { module, grant } = job;
    const { mounts, clock, random, stdout, stderr, limits } = grant;
    const last = this.last;
    const same = last !== null && last.module === module && last.mounts === mounts && last.clock === clock
      && last.random === random && last.stdout === stdout && last.stderr === stderr && last.limits === limits;
    const stdin = grant.stdin.kind === 'buffer' ? grant.stdin.data : grant.stdin;
    const wire: WireJob = { id: message.id, fuel: job.fuel, args: grant.args, env: encodeEnv(grant.env), stdin };
    if (!isPlainStart(job)) {
      const { module: _m, grant: _g, fuel: _f, ...rest } = job;
      wire.rest = rest;
    }
    if (message.sentAt !== undefined) wire.sentAt = message.sentAt;
    if (!same) wire.base = { module, mounts, clock, random, stdout, stderr, limits };
    return wire;
  }

  /**
   * Records what the isolate now holds. Only after the post succeeded: a base
   * recorded but never delivered would let the next job omit it, and run
   * under the base before it.
   */
  sent(wire: unknown): void {
    const base = (wire as Partial<WireJob> | null)?.base;
    if (base) this.last = base;
  }
}

/** The isolate's side: rebuilds each job from what crossed and the last base received. */
/** A plain `_start` run's other fields (fresh each time: a job's fields are its own). */
function plainRest(): Omit<Job, 'module' | 'grant' | 'fuel'> {
  return { watchdog: false, guards: [], entry: { kind: 'start' }, plan: { stubs: [], hosted: [] } };
}

export class JobDecoder {
  private base: Base | null = null;

  decode(message: unknown): JobMessage {
    if (typeof message !== 'object' || message === null || !('args' in message)) return message as JobMessage;
    const wire = message as WireJob;
    if (wire.base) this.base = wire.base;
    const base = this.base;
    // Cannot happen while the host sends in order on one port; refuse rather than run under nothing.
    if (!base) throw new Error('a job arrived before its module and grant');
    const { module, mounts, clock, random, stdout, stderr, limits } = base;
    const stdin: GrantSpec['stdin'] = wire.stdin instanceof Uint8Array ? { kind: 'buffer', data: wire.stdin } : wire.stdin;
    const grant: GrantSpec = { args: wire.args, env: decodeEnv(wire.env), stdin, mounts, clock, random, stdout, stderr, limits };
    // Object.assign, not a spread: spreading an object the structured clone has just made took
    // about 4 µs of a job's decode of 5 (measured); assign copies the same own fields in under 1.
    // The fields set after it win, as in the spread they replace.
    const job = Object.assign({}, wire.rest ?? plainRest()) as Job;
    job.fuel = wire.fuel;
    job.module = module;
    job.grant = grant;
    const decoded: JobMessage = { id: wire.id, job };
    if (wire.sentAt !== undefined) decoded.sentAt = wire.sentAt;
    return decoded;
  }
}
