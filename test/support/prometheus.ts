// /metrics as Prometheus reads it: scraped over HTTP and parsed by Prometheus' own
// Python client (prometheus_client.parser, from PyPI in a cached venv), so the
// exposition is checked against the format, not against our own idea of it.
// (parse-prometheus-text-format from npm was tried first: it drops the labels, sum and
// count of labelled histograms, so it cannot check them.)
import { pythonEnv, run, type PythonEnv } from './python.js';

export const PROMETHEUS_CLIENT = 'prometheus_client==0.21.1';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  /** As the parser names it: a counter without its _total. */
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'unknown' | string;
  help: string;
  samples: Sample[];
}

const PARSE = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "help": f.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else str(s.value)} for s in f.samples]})
print(json.dumps(out))
`;

let env: Promise<PythonEnv> | undefined;

export async function parseText(text: string): Promise<Family[]> {
  env ??= pythonEnv('prometheus-client', [PROMETHEUS_CLIENT]);
  const result = await run((await env).python, ['-c', PARSE], { input: text, timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`prometheus_client could not parse the exposition: ${result.stderr.trim().split('\n').slice(-3).join(' ')}`);
  const families = JSON.parse(result.stdout) as Family[];
  for (const f of families) for (const s of f.samples) s.value = Number(s.value);
  return families;
}

export class Scrape {
  constructor(
    readonly families: Family[],
    readonly contentType = '',
  ) {}

  static async of(text: string, contentType = ''): Promise<Scrape> {
    return new Scrape(await parseText(text), contentType);
  }

  /** A family by its exposed name (counters: with or without _total). */
  family(name: string): Family {
    const found = this.families.find((f) => f.name === name || `${f.name}_total` === name);
    if (!found) throw new Error(`no metric ${name} in the scrape`);
    return found;
  }

  private sample(name: string, labels: Record<string, string>): Sample | undefined {
    for (const family of this.families) {
      const found = family.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
      if (found) return found;
    }
    return undefined;
  }

  /** A sample's value for the labels given (0 when no series has them: Prometheus' absent counter). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.sample(name, labels)?.value ?? 0;
  }

  /** A histogram's observation count for the labels given (0 when absent). */
  count(name: string, labels: Record<string, string> = {}): number {
    return this.value(`${name}_count`, labels);
  }

  sum(name: string, labels: Record<string, string> = {}): number {
    return this.value(`${name}_sum`, labels);
  }
}

export async function scrape(base: string, token?: string): Promise<Scrape> {
  const res = await fetch(`${base}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${text.slice(0, 300)}`);
  return Scrape.of(text, res.headers.get('content-type') ?? '');
}
