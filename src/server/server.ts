// `warden serve`: HTTP requests routed to tenants, each request a fresh
// instance of the tenant's module under its policy (WAGI), with fairness
// between tenants, hot deploys by digest, reloads and a draining shutdown.
// The admin API lives in admin.ts on its own listener.

import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { formatListen, type ListenAddress } from './address.js';
import { parseModuleRef, type ServeConfig, type TenantSpec } from './config.js';
import type { RequestLine, ServeLog } from './log.js';
import { ServeMetrics } from './metrics.js';
import { ModuleSourceError, type LocalModuleSource, type ResolvedModule } from './module-source.js';
import { answerFor, answerForError, errorAnswer, type Answer } from './outcome.js';
import type { TenantRegistry } from './registry.js';
import { nextRequestId } from './request-id.js';
import { RouteTable } from './routes.js';
import { FairScheduler } from './scheduler.js';
import { Tenant, type SandboxBudget } from './tenant.js';
import { cgiEnvironment } from './wagi.js';
import { Listener, sameAddress } from './listen.js';
import { changesNeedingRestart, fixedSettings, restartMessage, type FixedSettings, type ReloadResult } from './reload-settings.js';
import { emptyBody, readBody } from './request-body.js';
import { accountRun } from './accounting.js';
import { sendAnswer } from './respond.js';
import { AdmissionError, createSharedPool, type SharedPool } from '../sandbox/sandbox.js';
import type { TenantModules } from './tenant-modules.js';

/** A deploy or rollback that did not happen, with the reason (the CLI exits 1). */
export class DeployRefused extends Error {
  override name = 'DeployRefused';
  constructor(message: string, readonly violations: readonly { rule: string; message: string }[] = []) {
    super(message);
  }
}

export class UnknownTenant extends Error {
  override name = 'UnknownTenant';
}

export interface ServerOptions {
  registry: TenantRegistry;
  source: LocalModuleSource;
  log: ServeLog;
  listen: ListenAddress;
  admin: ListenAddress;
  /**
   * The addresses a reloaded config asks for (a command-line flag wins over the
   * config there); the listeners move when they change. Without it, a reload
   * keeps the addresses the server started on.
   */
  addresses?: (config: ServeConfig) => { listen: ListenAddress; admin: ListenAddress };
  /** Prepared modules shared by the tenants (memory, and the data dir's disk cache). Default: the process's in-memory cache alone. */
  modules?: TenantModules;
  /** Serves the admin API (admin.ts); the server only owns the listener. */
  adminHandler: (server: WardenServer) => (req: IncomingMessage, res: ServerResponse) => void;
}

/** Idle tenant sandboxes (no request for this long) are closed; the next request starts one again. */
const IDLE_SANDBOX_MS = 60_000;
/** Runs the shared pool may hold waiting, per worker (the scheduler keeps it near empty; a wedged worker's slot fills it). */
const SHARED_QUEUE_PER_WORKER = 64;

export class WardenServer {
  readonly metrics = new ServeMetrics();
  config!: ServeConfig;
  private tenants = new Map<string, Tenant>();
  private routes = new RouteTable<Tenant>();
  private scheduler!: FairScheduler;
  /** The worker isolates every thread-isolated tenant's runs are scheduled into. */
  private pool!: SharedPool;
  private http!: Listener;
  private adminServer!: Listener;
  /** What the running server was built with and a reload cannot change. */
  private fixed!: FixedSettings;
  private inflight = 0;
  private draining = false;
  private drained: (() => void) | null = null;
  private idleTimer: NodeJS.Timeout | undefined;
  private changes: Promise<unknown> = Promise.resolve();
  /** Tenants with live sandboxes, least recently used first. */
  private readonly live = new Map<string, Tenant>();
  /** The tenant last moved to the end of `live` (already the most recent: nothing to move). */
  private lastLive: string | null = null;
  private readonly budget: SandboxBudget = {
    opened: (tenant) => { this.live.delete(tenant.id); this.live.set(tenant.id, tenant); this.lastLive = tenant.id; this.enforceLiveLimit(); },
    touch: (tenant) => {
      if (tenant.id === this.lastLive || !this.live.has(tenant.id)) return;
      this.live.delete(tenant.id);
      this.live.set(tenant.id, tenant);
      this.lastLive = tenant.id;
    },
  };
  constructor(private readonly options: ServerOptions) {}

  get log(): ServeLog {
    return this.options.log;
  }

  /** Loads the desired state, then opens both listeners. */
  async start(): Promise<void> {
    this.config = await this.options.registry.load();
    this.scheduler = new FairScheduler(this.config.settings.workers);
    // As many workers as runs the scheduler lets in at once; its queue holds runs waiting while a stopped worker still holds its slot.
    this.pool = createSharedPool({ size: this.config.settings.workers, queue: SHARED_QUEUE_PER_WORKER * this.config.settings.workers });
    await this.pool.ready();
    const next = new Map<string, Tenant>();
    for (const spec of this.config.tenants) next.set(spec.id, await this.tenantFor(spec, null));
    this.install(next);
    this.fixed = fixedSettings(this.config);
    this.http = new Listener(() => this.createHttpServer(), this.options.listen);
    const adminHandler = this.options.adminHandler(this);
    this.adminServer = new Listener(() => createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 120_000, headersTimeout: 10_000 }, adminHandler), this.options.admin);
    try {
      await this.http.open();
      await this.adminServer.open();
    } catch (error) {
      // One listener failing must not leave the other holding the process open.
      this.http.close();
      this.adminServer.close();
      await Promise.all([...this.tenants.values()].map((t) => t.close()));
      await this.pool.close();
      throw error;
    }
    this.idleTimer = setInterval(() => this.closeIdleSandboxes(), IDLE_SANDBOX_MS / 2);
    this.idleTimer.unref();
  }

  private createHttpServer(maxHeaderBytes = this.fixed.maxHeaderBytes): Server {
    const server = createServer({ maxHeaderSize: maxHeaderBytes, requestTimeout: 60_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 },
      (req, res) => void this.handle(req, res));
    // Without this listener Node answers every `Expect: 100-continue` with 100 before the request is looked at,
    // inviting bodies that are then refused (over the cap, no route, rate or queue full). serveTenant sends the
    // 100 once the request will be read.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res));
    server.on('connect', (req: IncomingMessage, socket: Duplex) => this.answerConnect(req, socket));
    return server;
  }

  /**
   * A CONNECT request, answered as any request is (its authority-form target is no path: 400 with a request id,
   * logged), then the connection closed. Without this listener Node closed the socket with no answer at all,
   * and no line in the log; the socket is the server's to guard then (Node removed its own error listener),
   * so a client resetting it can never raise an uncaught error.
   */
  private answerConnect(req: IncomingMessage, socket: Duplex): void {
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => socket.end());
    void this.handle(req, res);
  }

  /** The tenants' listener, as printed (`http://HOST:PORT`). */
  get url(): string {
    return this.http.url;
  }

  /** The admin listener, as printed (`http://HOST:PORT` or `unix:PATH`). */
  get adminUrl(): string {
    return this.adminServer.url;
  }

  listTenants(): Tenant[] {
    return [...this.tenants.values()];
  }

  tenant(id: string): Tenant {
    const tenant = this.tenants.get(id);
    if (!tenant) throw new UnknownTenant(`no tenant '${id.slice(0, 64)}'`);
    return tenant;
  }

  /** Runs state changes (reload, deploy, rollback) one at a time, so none reads state another is replacing. */
  private serialize<T>(change: () => Promise<T>): Promise<T> {
    const run = this.changes.then(change);
    this.changes = run.catch(() => {});
    return run;
  }

  /**
   * Re-reads the desired state; unchanged tenants keep running, changed ones
   * switch for new requests; listeners move to changed addresses; settings
   * that cannot change live are reported (restartToApply) and logged.
   */
  reload(): Promise<ReloadResult> {
    return this.serialize(() => this.reloadNow());
  }

  deploy(id: string, input: { bytes: Uint8Array } | { ref: string }): Promise<{ digest: string; previous: string | null; changed: boolean }> {
    return this.serialize(() => this.deployNow(id, input));
  }

  rollback(id: string): Promise<{ digest: string; previous: string }> {
    return this.serialize(() => this.rollbackNow(id));
  }

  private async reloadNow(): Promise<ReloadResult> {
    const config = await this.options.registry.load();
    const next = new Map<string, Tenant>();
    for (const spec of config.tenants) {
      const old = this.tenants.get(spec.id) ?? null;
      next.set(spec.id, old && sameSpec(old.spec, spec) && !(await this.configModuleChanged(old, spec)) ? old : await this.tenantFor(spec, old));
    }
    this.config = config;
    for (const [id, old] of this.tenants) if (next.get(id) !== old) { old.retireAll(); this.live.delete(id); }
    this.install(next);
    const result: ReloadResult = { tenants: next.size, rebound: [], restartToApply: [], failed: [] };
    this.resizeWorkers(config.settings.workers);
    await this.moveListeners(config, result);
    result.restartToApply = changesNeedingRestart(this.fixed, fixedSettings(config));
    for (const change of result.restartToApply) this.log.event({ kind: 'reload-pending', key: change.key, message: restartMessage(change) });
    this.log.event({ kind: 'reload', tenants: next.size, rebound: result.rebound, restart_to_apply: result.restartToApply.map((c) => c.key), failed: result.failed });
    return result;
  }

  /**
   * `server.workers` changed: the scheduler lets that many runs in at once and the shared pool
   * keeps that many workers. Fewer lets the runs in progress finish first; none is cut short.
   */
  private resizeWorkers(workers: number): void {
    if (workers === this.fixed.workers) return;
    this.log.event({ kind: 'workers', from: this.fixed.workers, to: workers });
    this.scheduler.resize(workers);
    this.pool.resize(workers, SHARED_QUEUE_PER_WORKER * workers);
    this.fixed = { ...this.fixed, workers };
  }

  /** Opens each changed address before closing the old one; in-flight requests on the old finish there. */
  private async moveListeners(config: ServeConfig, result: ReloadResult): Promise<void> {
    const wanted = this.options.addresses?.(config);
    // A server that is stopping opens nothing new.
    if (!wanted || this.draining) return;
    const moves: Array<[string, Listener, ListenAddress]> = [['listen', this.http, wanted.listen], ['admin.listen', this.adminServer, wanted.admin]];
    // A new listener for the tenants is a new HTTP server: it takes the config's head limit.
    const maxHeaderBytes = config.settings.maxHeaderBytes;
    for (const [key, listener, address] of moves) {
      if (sameAddress(listener.address, address)) continue;
      try {
        const url = key === 'listen' ? await listener.rebind(address, () => this.createHttpServer(maxHeaderBytes)) : await listener.rebind(address);
        if (key === 'listen') this.fixed = { ...this.fixed, maxHeaderBytes };
        result.rebound.push({ key, url });
        this.log.event({ kind: 'rebound', key, url });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
        result.failed.push({ key, error: `cannot listen on ${formatListen(address)} (${code})` });
      }
    }
  }

  /** Admits `module` under the tenant's policy and makes it the tenant's module; in-flight requests finish on the old one. */
  private async deployNow(id: string, input: { bytes: Uint8Array } | { ref: string }): Promise<{ digest: string; previous: string | null; changed: boolean }> {
    const tenant = this.tenant(id);
    let module: ResolvedModule;
    if ('bytes' in input) {
      await this.admitOrRefuse(tenant, input.bytes);
      module = this.options.source.put(input.bytes);
    } else {
      const ref = parseModuleRef(input.ref, '/');
      // A remote caller must not make the server read its own files.
      if (typeof ref === 'string' || ref.kind === 'file') throw new DeployRefused(typeof ref === 'string' ? ref : 'name a store digest or a pinned OCI reference, or upload the module');
      let bytes: Uint8Array;
      try {
        bytes = await this.options.source.fetch(ref);
      } catch (error) {
        throw new DeployRefused(error instanceof Error ? error.message : String(error));
      }
      // Verified and admitted before it is kept: a module a registry serves is stored only once
      // the tenant's policy (its trust keys and pins) took it, as an uploaded one is.
      await this.admitOrRefuse(tenant, bytes);
      module = this.options.source.put(bytes);
    }
    if (module.digest === tenant.current.digest) return { digest: module.digest, previous: tenant.previous, changed: false };
    const previous = tenant.current.digest;
    this.options.registry.record(id, { digest: module.digest, previous, configModule: tenant.configDigest, at: new Date().toISOString() });
    tenant.switchTo(module, previous);
    this.retainModules();
    this.log.event({ kind: 'deploy', tenant: id, digest: module.digest, previous });
    return { digest: module.digest, previous, changed: true };
  }

  private async rollbackNow(id: string): Promise<{ digest: string; previous: string }> {
    const tenant = this.tenant(id);
    if (!tenant.previous) throw new DeployRefused(`tenant '${id}' has no previous version`);
    let module;
    try {
      module = this.options.source.get(tenant.previous);
    } catch (error) {
      // A damaged store entry (bytes that no longer hash to their name, a FIFO, a link) is a refusal
      // naming the version, like a missing one: the tenant stays on its current version.
      throw new DeployRefused(`the previous version ${tenant.previous} cannot be read back from the store: ${(error as Error).message}`);
    }
    if (!module) throw new DeployRefused(`the previous version ${tenant.previous} is no longer stored`);
    await this.admitOrRefuse(tenant, module.bytes);
    const from = tenant.current.digest;
    this.options.registry.record(id, { digest: module.digest, previous: from, configModule: tenant.configDigest, at: new Date().toISOString() });
    tenant.switchTo(module, from);
    this.retainModules();
    this.log.event({ kind: 'rollback', tenant: id, digest: module.digest, previous: from });
    return { digest: module.digest, previous: from };
  }

  get load(): { inflight: number; running: number; queued: number; workers: number } {
    return { inflight: this.inflight, ...this.scheduler.load, workers: this.pool.size };
  }

  /** Stops accepting, lets in-flight requests finish (at most `graceMs`), then closes everything. */
  async stop(graceMs: number): Promise<{ drained: boolean }> {
    this.draining = true;
    clearInterval(this.idleTimer);
    this.http.close();
    this.http.closeIdleConnections();
    let drained = this.inflight === 0;
    if (!drained) {
      drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), graceMs);
        this.drained = () => { clearTimeout(timer); resolve(true); };
      });
    }
    this.http.closeAllConnections();
    this.adminServer.close();
    this.adminServer.closeAllConnections();
    await Promise.all([...this.tenants.values()].map((t) => t.close()));
    await this.pool.close();
    this.log.event({ kind: 'stopped', drained });
    return { drained };
  }

  private async admitOrRefuse(tenant: Tenant, bytes: Uint8Array): Promise<void> {
    try {
      await tenant.admit(bytes);
    } catch (error) {
      if (error instanceof AdmissionError) throw new DeployRefused(`refused by the policy of tenant '${tenant.id}': ${error.violations.map((v) => v.rule).join(', ')}`, error.violations);
      throw error;
    }
  }

  private install(next: Map<string, Tenant>): void {
    const routes = new RouteTable<Tenant>();
    for (const tenant of next.values()) for (const route of tenant.spec.routes) routes.add(route, tenant);
    this.tenants = next;
    this.routes = routes;
    this.retainModules();
  }

  /** Keeps in memory only the bytes some tenant serves or could roll back to (the store keeps the rest). */
  private retainModules(): void {
    const digests = new Set<string>();
    for (const t of this.tenants.values()) { digests.add(t.current.digest); if (t.previous) digests.add(t.previous); }
    this.options.source.retainOnly(digests);
  }

  private async configModuleChanged(tenant: Tenant, spec: TenantSpec): Promise<boolean> {
    const resolved = await this.resolveConfigModule(spec);
    return resolved.digest !== tenant.configDigest;
  }

  private async resolveConfigModule(spec: TenantSpec): Promise<ResolvedModule> {
    try {
      return await this.options.source.resolve(spec.module);
    } catch (error) {
      const why = error instanceof ModuleSourceError ? error.message : error instanceof Error ? error.message : String(error);
      throw new Error(`tenant '${spec.id}': module ${spec.moduleText}: ${why}`);
    }
  }

  /** A tenant as the desired state says: the config's module unless a deploy recorded since still applies. */
  private async tenantFor(spec: TenantSpec, old: Tenant | null): Promise<Tenant> {
    const configModule = await this.resolveConfigModule(spec);
    const deployment = this.options.registry.deployment(spec.id);
    let current = configModule;
    let previous: string | null = old?.current.digest ?? null;
    if (deployment && deployment.configModule === configModule.digest) {
      const kept = this.options.source.get(deployment.digest);
      if (kept) { current = kept; previous = deployment.previous; }
    } else if (deployment) {
      // The config names a different module than when the deploy happened: the config wins.
      this.options.registry.forget(spec.id);
      this.log.event({ kind: 'deployment-superseded', tenant: spec.id, deployed: deployment.digest, config: configModule.digest });
    }
    if (previous === current.digest) previous = null;
    const tenant = new Tenant(spec, current, previous, this.budget, this.pool, this.options.modules);
    tenant.configDigest = configModule.digest;
    // A tenant moved to process isolation stays there when a reload changes its spec: built afresh it went back
    // to the shared threads on any edit (a rate, a route), and only another run of deadlines moved it again.
    if (old?.autoIsolated && tenant.isolation === 'thread') {
      tenant.isolation = 'process';
      tenant.autoIsolated = true;
    }
    return tenant;
  }

  private enforceLiveLimit(): void {
    // Only sandboxes with isolates of their own count: one on the shared pool costs its module cache, not threads.
    const limit = this.config.settings.liveSandboxes;
    let owning = 0;
    for (const tenant of this.live.values()) if (tenant.ownsIsolates) owning++;
    if (owning <= limit) return;
    for (const [id, tenant] of this.live) {
      if (owning <= limit) break;
      if (!tenant.ownsIsolates || tenant.idleSince === Number.POSITIVE_INFINITY) continue;
      tenant.retireAll();
      this.live.delete(id);
      owning--;
    }
  }

  private closeIdleSandboxes(): void {
    const before = Date.now() - IDLE_SANDBOX_MS;
    for (const [id, tenant] of this.live) {
      if (tenant.idleSince < before) { tenant.retireAll(); this.live.delete(id); }
    }
  }

  /** Every response's 'close': one function for all of them, not a closure per request. */
  private readonly responseClosed = (): void => {
    this.inflight--;
    if (this.inflight === 0 && this.drained) this.drained();
  };

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = nextRequestId();
    this.inflight++;
    // A response closes once.
    res.on('close', this.responseClosed);
    let tenant: Tenant | null = null;
    let route = '';
    let digest: string | null = null;
    let answer: Answer;
    let fuel: number | null = null;
    try {
      const routed = this.route(req, requestId);
      if ('status' in routed) answer = routed;
      else {
        tenant = routed.tenant;
        route = routed.match.route.text;
        const result = await this.serveTenant(req, res, routed, requestId);
        answer = result.answer;
        digest = result.digest;
        fuel = result.fuel;
      }
    } catch (error) {
      answer = answerForError(error, requestId);
      this.log.event({ kind: 'error', request_id: requestId, error: error instanceof Error ? error.message : String(error) });
    }
    sendAnswer(res, answer, requestId, this.draining);
    const seconds = (performance.now() - started) / 1000;
    this.metrics.countRequest(tenant?.id ?? '-', answer.status);
    if (tenant) {
      this.metrics.observeLatency(tenant.id, seconds);
      tenant.stats.requests++;
      tenant.stats.byStatus[answer.status] = (tenant.stats.byStatus[answer.status] ?? 0) + 1;
    }
    const line: RequestLine = { request_id: requestId, tenant: tenant?.id ?? null, route, method: req.method, status: answer.status, duration_ms: Math.round(seconds * 100_000) / 100, digest };
    if (fuel !== null) line.fuel = fuel;
    if (answer.reason) line.reason = answer.reason;
    this.log.request(line);
  }

  private route(req: IncomingMessage, requestId: string): Answer | { tenant: Tenant; match: NonNullable<ReturnType<RouteTable<Tenant>['match']>>; rawPath: string; query: string } {
    if (this.draining) return errorAnswer(503, 'the server is shutting down', requestId);
    const url = req.url ?? '';
    if (!url.startsWith('/')) return errorAnswer(400, 'the request target must be a path', requestId);
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    // Dot segments would let a path name one tenant's route and mean another's; %2e is a dot to a
    // normalising proxy in front (RFC 3986), so `/t/a/%2e%2e/b/` is one too (routed to a, checked as b).
    if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(rawPath) || rawPath.includes('\\')) return errorAnswer(400, 'the path has dot segments', requestId);
    // A NUL would end the guest's PATH_INFO early (C strings), hiding the rest from it but not from logs.
    if (/%00/i.test(rawPath)) return errorAnswer(400, 'the path has a NUL byte', requestId);
    // Node keeps the first of two Host headers; a proxy in front may route by the last: one request, two tenants. Refused (RFC 9112 3.2).
    if (hostCount(req.rawHeaders) > 1) return errorAnswer(400, 'more than one Host header', requestId);
    const match = this.routes.match(typeof req.headers.host === 'string' ? req.headers.host : undefined, rawPath);
    if (!match) return errorAnswer(404, 'no route', requestId);
    return { tenant: match.target, match, rawPath, query };
  }

  private async serveTenant(req: IncomingMessage, res: ServerResponse, routed: { tenant: Tenant; match: NonNullable<ReturnType<RouteTable<Tenant>['match']>>; query: string }, requestId: string): Promise<{ answer: Answer; digest: string | null; fuel: number | null }> {
    const { tenant, match, query } = routed;
    const limits = tenant.spec.limits;
    const reject = (reason: string, answer: Answer) => {
      tenant.stats.rejected[reason] = (tenant.stats.rejected[reason] ?? 0) + 1;
      this.metrics.rejected.inc({ tenant: tenant.id, reason });
      return { answer, digest: null, fuel: null };
    };
    const wait = tenant.takeToken(performance.now());
    if (wait > 0) return reject('rate', errorAnswer(429, 'rate limit reached for this tenant', requestId, { retryAfter: wait, reason: 'rate' }));
    // Requests still sending their bodies hold a place too: each keeps up to the body cap in memory, and before they
    // counted, any number of slow uploads to one tenant passed a full queue.
    if (tenant.lane.waiting.length + tenant.readingBodies + tenant.lane.running >= limits.queue + limits.concurrency) {
      return reject('queue', errorAnswer(429, 'too many requests for this tenant', requestId, { retryAfter: 1, reason: 'queue' }));
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limits.bodyBytes) return reject('body', errorAnswer(413, 'the request body is too large', requestId, { reason: 'body' }));
    // A request without a body (most) and a free slot go on without a promise turn each.
    let body: Uint8Array | null | 'aborted' = emptyBody(req);
    if (!body) {
      if (expectsContinue(req)) res.writeContinue();
      tenant.readingBodies++;
      try {
        body = await readBody(req, limits.bodyBytes);
      } finally {
        tenant.readingBodies--;
      }
    }
    if (body === null) return reject('body', errorAnswer(413, 'the request body is too large', requestId, { reason: 'body' }));
    if (body === 'aborted') return { answer: errorAnswer(400, 'the request body was cut short', requestId), digest: null, fuel: null };
    const release = this.scheduler.tryAcquire(tenant.lane) ?? await this.scheduler.acquire(tenant.lane);
    if (!release) return reject('queue', errorAnswer(429, 'too many requests for this tenant', requestId, { retryAfter: 1, reason: 'queue' }));
    try {
      if (res.destroyed) return { answer: errorAnswer(499, 'the client went away', requestId), digest: null, fuel: null };
      const local = req.socket;
      const env = cgiEnvironment({
        request: req, scriptName: match.scriptName, rawPathInfo: match.rawPathInfo, query, matchedRoute: match.route.text,
        serverName: local.localAddress ?? '', serverPort: local.localPort ?? 0, remoteAddr: local.remoteAddress ?? '', remotePort: local.remotePort ?? 0,
        bodyLength: body.length, passHeaders: tenant.spec.passHeaders,
      });
      const { module, result } = await tenant.run({ args: [match.scriptName || '/'], env, stdin: body });
      accountRun(this.metrics, this.log, this.config.settings.isolateAfter, tenant, result, module.digest, requestId);
      return { answer: answerFor(result, requestId), digest: module.digest, fuel: result.fuelUsed };
    } catch (error) {
      if (error instanceof AdmissionError) this.log.audit({ event: 'admission-refused', tenant: tenant.id, request_id: requestId, digest: tenant.current.digest, violations: error.violations.map((v) => v.rule) });
      return { answer: answerForError(error, requestId), digest: tenant.current.digest, fuel: null };
    } finally {
      release();
    }
  }
}

/** Whether the client waits for `100 Continue` before sending its body (Node's own test: the 'checkContinue' requests). */
function expectsContinue(req: IncomingMessage): boolean {
  const expect = req.headers.expect;
  return req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && typeof expect === 'string' && /(?:^|\W)100-continue(?:$|\W)/i.test(expect);
}

/** How many Host headers the request carries (rawHeaders alternates names and values). */
function hostCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') n++;
  return n;
}

function sameSpec(a: TenantSpec, b: TenantSpec): boolean {
  return JSON.stringify([a.routes, a.moduleText, a.passHeaders, a.limits, a.policyInput]) === JSON.stringify([b.routes, b.moduleText, b.passHeaders, b.limits, b.policyInput]);
}
