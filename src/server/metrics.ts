// Prometheus text exposition (version 0.0.4) for counters, gauges and
// histograms with labels. Label values come from the config (tenant ids) or
// fixed lists (status codes, trap kinds), never from a request.

type Labels = Record<string, string>;

const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const render = (labels: Labels): string => Object.keys(labels).sort().map((k) => `${k}="${escape(labels[k]!)}"`).join(',');
/** Series keys by their labels as given, so a request's update does not sort and escape again. */
const keys = new Map<string, string>();
/** Label sets remembered at most; label values come from the config and fixed lists, so this is not reached in practice. */
const MAX_KEYS = 100_000;
const key = (labels: Labels): string => {
  let given = '';
  // Length-prefixed, so two different label sets never spell the same string.
  for (const name in labels) { const value = labels[name]!; given += `${name.length}:${name}${value.length}:${value}`; }
  let k = keys.get(given);
  if (k === undefined) {
    k = render(labels);
    if (keys.size < MAX_KEYS) keys.set(given, k);
  }
  return k;
};

abstract class Metric {
  constructor(readonly name: string, readonly help: string, readonly type: string) {}
  abstract render(): string[];
  header(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
  }
}

export class Counter extends Metric {
  private readonly values = new Map<string, number>();
  constructor(name: string, help: string, type = 'counter') { super(name, help, type); }
  inc(labels: Labels = {}, by = 1): void {
    this.incSeries(key(labels), by);
  }
  /** Adds to the series whose key seriesKey() made. */
  incSeries(k: string, by = 1): void {
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  set(labels: Labels, value: number): void {
    this.values.set(key(labels), value);
  }
  get(labels: Labels = {}): number {
    return this.values.get(key(labels)) ?? 0;
  }
  render(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

export class Histogram extends Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(name: string, help: string, readonly buckets: readonly number[]) { super(name, help, 'histogram'); }
  observe(labels: Labels, value: number): void {
    this.observeSeries(key(labels), value);
  }
  /** Observes into the series whose key seriesKey() made. */
  observeSeries(k: string, value: number): void {
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string[] {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const sep = k ? ',' : '';
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{${k}${sep}le="${b}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${k}${sep}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      out.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return out;
  }
}

/** The series key of a label set, for the *Series methods (a caller that keeps it skips the lookup). */
export const seriesKey = key;

/** Bounds the per-request key caches below, as MAX_KEYS bounds the one above. */
const MAX_CACHED = 10_000;

export class ServeMetrics {
  /** Series keys of requests_total by tenant, then status; of the latency histogram by tenant. */
  private readonly requestKeys = new Map<string, Map<number, string>>();
  private readonly latencyKeys = new Map<string, string>();

  /** requests.inc({ tenant, status }) without building the label set each request. */
  countRequest(tenant: string, status: number): void {
    let byStatus = this.requestKeys.get(tenant);
    if (!byStatus) {
      byStatus = new Map();
      if (this.requestKeys.size < MAX_CACHED) this.requestKeys.set(tenant, byStatus);
    }
    let k = byStatus.get(status);
    if (k === undefined) byStatus.set(status, (k = key({ tenant, status: String(status) })));
    this.requests.incSeries(k);
  }

  /** latency.observe({ tenant }, seconds), its key kept per tenant. */
  observeLatency(tenant: string, seconds: number): void {
    let k = this.latencyKeys.get(tenant);
    if (k === undefined) {
      k = key({ tenant });
      if (this.latencyKeys.size < MAX_CACHED) this.latencyKeys.set(tenant, k);
    }
    this.latency.observeSeries(k, seconds);
  }

  readonly requests = new Counter('warden_requests_total', 'Requests answered, by tenant and status code.');
  readonly latency = new Histogram('warden_request_duration_seconds', 'Time from request to response, by tenant.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  readonly traps = new Counter('warden_traps_total', 'Runs that ended in a trap, by tenant and trap kind.');
  readonly limitHits = new Counter('warden_limit_hits_total', 'Limits that refused something or ended a run, by tenant and limit.');
  readonly denied = new Counter('warden_denied_total', 'Capability attempts refused by the grant, by tenant.');
  readonly fuel = new Counter('warden_fuel_used_total', 'Fuel consumed, by tenant.');
  readonly queueDepth = new Counter('warden_queue_depth', 'Requests waiting for a run slot, by tenant.', 'gauge');
  readonly compiles = new Counter('warden_compiles_total', 'Modules prepared (admitted and rewritten) and compiled afresh, by the tenant whose deploy or request needed them: once per digest and prepare config while cached, whatever the number of tenants.');
  readonly cacheHits = new Counter('warden_cache_hits_total', 'Module lookups answered by the prepared-module cache, by tenant and level (memory: compiled already; disk: compiled from a verified entry, not admitted again).');
  readonly replacements = new Counter('warden_isolate_replacements_total', 'Isolates killed and replaced after a deadline or a crash, by tenant.');
  readonly isolations = new Counter('warden_tenant_isolation_changes_total', 'Tenants moved to process isolation for repeated deadline or fuel endings.');
  readonly rejected = new Counter('warden_rejected_total', 'Requests refused before running, by tenant and reason.');

  render(extra: Array<{ name: string; help: string; type: string; lines: string[] }> = []): string {
    const out: string[] = [];
    for (const m of [this.requests, this.latency, this.traps, this.limitHits, this.denied, this.fuel, this.queueDepth, this.compiles, this.cacheHits, this.replacements, this.isolations, this.rejected]) {
      out.push(...m.header(), ...m.render());
    }
    for (const e of extra) out.push(`# HELP ${e.name} ${e.help}`, `# TYPE ${e.name} ${e.type}`, ...e.lines);
    return out.join('\n') + '\n';
  }
}
