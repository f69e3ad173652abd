// Every query the gateway holds: running, queued (sizing, waiting for a slot or for
// Drillbits) and the last N finished; and which Drillbit ran each Drill query id, so
// that /profiles/{id}.json is asked of that Drillbit. The map outlives the finished
// list (bounded separately): a profile is asked for long after its query ended.
import { LRUCache } from 'lru-cache';
import type { Drillbit } from '../schedulers/scheduler.js';
import { FINAL_STATES, Query, type QueryEvent, type QueryInit, type QueryView } from './query.js';

export interface RegistryOptions {
  /** How many finished queries are kept for GET /v1/queries (query.history). */
  finishedLimit: number;
  /** How many Drill query ids → Drillbit are remembered for profiles (default 10,000). */
  drillIdLimit?: number;
}

/** GET /v1/queries: the running, the waiting and the last finished, newest first. */
export interface RegistryView {
  running: QueryView[];
  queued: QueryView[];
  finished: QueryView[];
}

/** Hears the events of every query in the registry (metrics, the dashboard). */
export type RegistryListener = (event: QueryEvent) => void;

export class QueryRegistry {
  private readonly live = new Map<string, Query>();
  /** Finished queries, oldest first. */
  private readonly ended: Query[] = [];
  private readonly byDrill: LRUCache<string, { query: string; drillbit: Drillbit }>;
  private readonly listeners = new Set<RegistryListener>();

  constructor(private readonly options: RegistryOptions) {
    this.byDrill = new LRUCache({ max: options.drillIdLimit ?? 10_000 });
  }

  /** A new query, registered (state QUEUED). */
  create(init: QueryInit): Query {
    const query = new Query(init);
    this.add(query);
    return query;
  }

  /** Registers a query made elsewhere (a front end that builds its own). */
  add(query: Query): void {
    this.live.set(query.id, query);
    query.subscribe((event) => {
      if (event.type === 'drill-id' && query.drillbit) this.byDrill.set(event.drillQueryId, { query: query.id, drillbit: query.drillbit });
      if (event.type === 'state' && FINAL_STATES.has(event.to)) this.retire(query);
      for (const listener of this.listeners) {
        try {
          listener(event);
        } catch {
          // A subscriber's failure is its own.
        }
      }
    });
  }

  /** Listen to every query's events; returns the unsubscribe function. */
  subscribe(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A query by the gateway's id (live or among the last finished). */
  get(id: string): Query | undefined {
    return this.live.get(id) ?? this.ended.find((q) => q.id === id);
  }

  /** A query by Drill's query id, while it is live or among the last finished. */
  byDrillQueryId(drillQueryId: string): Query | undefined {
    const entry = this.byDrill.get(drillQueryId);
    return entry ? this.get(entry.query) : undefined;
  }

  /** The Drillbit that ran (is running) the Drill query id: where its profile is. */
  drillbitOf(drillQueryId: string): Drillbit | undefined {
    return this.byDrill.get(drillQueryId)?.drillbit;
  }

  /** Queries sent to Drill, not yet ended. */
  running(): Query[] {
    return [...this.live.values()].filter((q) => q.state === 'RUNNING');
  }

  /** Queries waiting: being sized, for a slot, or for Drillbits to start. */
  queued(): Query[] {
    return [...this.live.values()].filter((q) => q.state === 'QUEUED' || q.state === 'STARTING_DRILLBITS');
  }

  /** The last finished queries, newest first. */
  finished(): Query[] {
    return [...this.ended].reverse();
  }

  view(): RegistryView {
    const newest = (a: Query, b: Query) => b.times.created - a.times.created;
    return {
      running: this.running().sort(newest).map((q) => q.view()),
      queued: this.queued().sort(newest).map((q) => q.view()),
      finished: this.finished().map((q) => q.view()),
    };
  }

  private retire(query: Query): void {
    if (!this.live.delete(query.id)) return;
    this.ended.push(query);
    while (this.ended.length > this.options.finishedLimit) this.ended.shift();
  }
}
