// /metrics as Prometheus reads it: scraped over HTTP and parsed by a text-format parser
// nobody here wrote (parse-prometheus-text-format, npm), so the exposition is checked
// against the format, not against our own idea of it.
import { createRequire } from 'node:module';

interface Sample {
  labels?: Record<string, string>;
  value?: string;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}
export interface Family {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Sample[];
}

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

export const parseText = (text: string): Family[] => parse(text);

export class Scrape {
  constructor(
    readonly families: Family[],
    readonly contentType: string,
  ) {}

  family(name: string): Family {
    const found = this.families.find((f) => f.name === name);
    if (!found) throw new Error(`no metric ${name} in the scrape`);
    return found;
  }

  private sample(name: string, labels: Record<string, string>): Sample | undefined {
    return this.family(name).metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  }

  /** A counter's or gauge's value for the labels given (0 when no series has them: Prometheus' absent counter). */
  value(name: string, labels: Record<string, string> = {}): number {
    const sample = this.sample(name, labels);
    return sample ? Number(sample.value) : 0;
  }

  /** A histogram's observation count for the labels given (0 when absent). */
  count(name: string, labels: Record<string, string> = {}): number {
    const sample = this.sample(name, labels);
    return sample ? Number(sample.count) : 0;
  }

  sum(name: string, labels: Record<string, string> = {}): number {
    const sample = this.sample(name, labels);
    return sample ? Number(sample.sum) : 0;
  }
}

export async function scrape(base: string, token?: string): Promise<Scrape> {
  const res = await fetch(`${base}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${text.slice(0, 300)}`);
  return new Scrape(parse(text), res.headers.get('content-type') ?? '');
}
