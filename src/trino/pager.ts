// Pages cut from Drill's streamed /query.json answer, read only as the Trino client
// pulls them: the undici body is read with read() while a page is being filled and
// left alone otherwise, so its buffer fills, undici stops reading the socket and
// Drill waits (backpressure end to end). One page (pageBytes of encoded rows) is the
// most the gateway ever holds of a result, however many rows it has.
//
// Drill's answer: {"queryId":..., "columns":[...], "metadata":[...], ...,
// "rows":[{...}, ...], "queryState":"COMPLETED"}, with errorMessage when it failed.
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { DromedarError } from '../util/errors.js';
import { JsonError, Num, parseJson, valueEnd, type Json } from './json.js';
import { encodeValue, inferColumns, type TrinoColumn } from './types.js';

export interface DrillHead {
  queryId: string | undefined;
  columns: string[];
  metadata: string[];
}

export interface DrillTail {
  queryState: string | undefined;
  errorMessage: string | undefined;
}

export interface Page {
  /** JSON text of each row, already in Trino's encoding. */
  rows: string[];
  bytes: number;
  /** Drill's answer is read to its end (no more pages). */
  done: boolean;
}

type Phase = 'start' | 'key' | 'value' | 'rows' | 'afterRow' | 'end';

/** Reads Drill's answer incrementally: the head first, then rows on demand. */
export class DrillAnswerReader {
  head: DrillHead = { queryId: undefined, columns: [], metadata: [] };
  tail: DrillTail = { queryState: undefined, errorMessage: undefined };
  /** Bytes of Drill's answer read so far. */
  bytesRead = 0;
  private buf = '';
  private pos = 0;
  private phase: Phase = 'start';
  private key = '';
  private ended = false;
  private failure: Error | undefined;
  private readonly decoder = new StringDecoder('utf8');
  private readonly rowsReady: Array<Record<string, Json>> = [];

  constructor(private readonly body: Readable) {
    // Failures are seen through waitReadable(); an unheard 'error' would crash the process.
    body.on('error', (err) => (this.failure ??= err));
  }

  /** Whether the head (columns, metadata) is complete: the rows (or the end) come next. */
  get headDone(): boolean {
    return this.rowsSeen || this.phase === 'end';
  }

  private rowsSeen = false;

  get finished(): boolean {
    return this.phase === 'end' && this.rowsReady.length === 0;
  }

  /**
   * The next rows, at most `max` of them; resolves with [] when nothing arrived before
   * `deadline` (ms of performance.now()), and throws when Drill's connection failed or
   * its answer is not JSON.
   */
  async rows(max: number, deadline: number): Promise<Array<Record<string, Json>>> {
    for (;;) {
      this.parse();
      if (this.rowsReady.length > 0 || this.phase === 'end') return this.rowsReady.splice(0, max);
      if (!(await this.fill(deadline))) return [];
    }
  }

  /** Reads until the head is complete (or `deadline`); false when the deadline came first. */
  async readHead(deadline: number): Promise<boolean> {
    for (;;) {
      this.parse();
      if (this.headDone) return true;
      if (!(await this.fill(deadline))) return false;
    }
  }

  /** Stops reading from Drill (cancel, or the client went away). */
  destroy(): void {
    if (!this.body.destroyed) this.body.destroy();
  }

  // Appends what the body has; waits for more when it has nothing. False on the deadline.
  private async fill(deadline: number): Promise<boolean> {
    for (;;) {
      if (this.failure) throw connectionLost(this.failure);
      const chunk = this.body.read() as Buffer | null;
      if (chunk !== null) {
        this.bytesRead += chunk.length;
        this.append(this.decoder.write(chunk));
        return true;
      }
      if (this.body.readableEnded || this.ended) {
        if (this.phase !== 'end') {
          if (this.ended) throw new DromedarError('drill_truncated', "Drill's answer ended before it was complete (a Drillbit of the query may have been lost)", 502);
          this.ended = true;
          this.append(this.decoder.end());
        }
        return true;
      }
      const wait = deadline - performance.now();
      if (wait <= 0) return false;
      await waitReadable(this.body, wait);
    }
  }

  private append(text: string): void {
    if (this.pos > 1 << 16) {
      this.buf = this.buf.slice(this.pos);
      this.pos = 0;
    }
    this.buf += text;
  }

  // Consumes every complete piece of the buffer.
  private parse(): void {
    for (;;) {
      const s = this.buf;
      let i = this.pos;
      while (i < s.length && /\s/.test(s[i]!)) i++;
      if (i >= s.length) {
        this.pos = i;
        if (this.ended && this.phase !== 'end') throw new DromedarError('drill_truncated', "Drill's answer ended before it was complete (a Drillbit of the query may have been lost)", 502);
        return;
      }
      const c = s[i];
      switch (this.phase) {
        case 'start':
          if (c !== '{') throw notJson(s.slice(i, i + 200));
          this.pos = i + 1;
          this.phase = 'key';
          continue;
        case 'key': {
          if (c === ',') {
            this.pos = i + 1;
            continue;
          }
          if (c === '}') {
            this.pos = i + 1;
            this.phase = 'end';
            return;
          }
          const end = valueEnd(s, i);
          if (end < 0) return;
          const colon = s.indexOf(':', end);
          if (colon < 0) return;
          this.key = String(this.value(s.slice(i, end)));
          this.pos = colon + 1;
          this.phase = 'value';
          continue;
        }
        case 'value': {
          if (this.key === 'rows' && c === '[') {
            this.pos = i + 1;
            this.phase = 'rows';
            this.rowsSeen = true;
            continue;
          }
          const end = valueEnd(s, i);
          // A bare scalar at the very end may still grow; a string, array or object is closed.
          if (end < 0 || (end === s.length && !this.ended && !'"[{'.includes(c!))) return;
          this.take(this.key, this.value(s.slice(i, end)));
          this.pos = end;
          this.phase = 'key';
          continue;
        }
        case 'rows':
        case 'afterRow': {
          if (c === ']') {
            this.pos = i + 1;
            this.phase = 'key';
            continue;
          }
          if (c === ',' && this.phase === 'afterRow') {
            this.pos = i + 1;
            this.phase = 'rows';
            continue;
          }
          const end = valueEnd(s, i);
          if (end < 0) return;
          const row = this.value(s.slice(i, end));
          this.rowsReady.push(isObject(row) ? row : {});
          this.pos = end;
          this.phase = 'afterRow';
          if (this.rowsReady.length >= 1024) return;
          continue;
        }
        case 'end':
          return;
      }
    }
  }

  private value(text: string): Json {
    try {
      return parseJson(text);
    } catch (err) {
      if (err instanceof JsonError) throw notJson(text.slice(0, 200));
      throw err;
    }
  }

  private take(key: string, value: Json): void {
    const strings = (v: Json) => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : String(x))) : []);
    if (key === 'queryId' && typeof value === 'string') this.head.queryId = value;
    else if (key === 'columns') this.head.columns = strings(value);
    else if (key === 'metadata') this.head.metadata = strings(value);
    else if (key === 'queryState' && typeof value === 'string') this.tail.queryState = value;
    else if (key === 'errorMessage' && typeof value === 'string') this.tail.errorMessage = value;
  }
}

function isObject(v: Json): v is Record<string, Json> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Num);
}

function notJson(sample: string): DromedarError {
  return new DromedarError('drill_bad_answer', `Drill's answer is not the JSON of /query.json: ${JSON.stringify(sample)}`, 502);
}

function connectionLost(err: Error): DromedarError {
  return new DromedarError('drill_connection_lost', `Drill's connection failed while the answer was read: ${err.message}`, 502);
}

/** Resolves when `body` has data, has ended or failed, or after `ms`. */
function waitReadable(body: Readable, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      body.off('readable', done).off('end', done).off('error', done).off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    body.on('readable', done).on('end', done).on('error', done).on('close', done);
  });
}

export interface PagerOptions {
  /** Encoded bytes after which a page is cut. */
  pageBytes: number;
}

/**
 * Trino pages over one Drill answer: the columns once the first rows (or the end) are
 * in, then pages of rows. Columns are typed from Drill's metadata and the first page's
 * values (arrays); they never change afterwards, as Trino's protocol requires.
 */
export class Pager {
  columns: TrinoColumn[] | undefined;
  rowCount = 0;
  private held: Array<Record<string, Json>> = [];

  constructor(
    readonly reader: DrillAnswerReader,
    private readonly options: PagerOptions,
  ) {}

  get done(): boolean {
    return this.held.length === 0 && this.reader.finished;
  }

  /**
   * The next page: waits until `deadline` for rows, then returns what it has (maybe
   * nothing). The columns are fixed the first time rows (or the end) are seen.
   */
  async next(deadline: number): Promise<Page> {
    const out: string[] = [];
    let bytes = 0;
    for (;;) {
      if (this.held.length === 0) {
        const wait = out.length > 0 ? performance.now() : deadline;
        this.held = await this.reader.rows(1024, wait);
      }
      if (this.held.length === 0) break;
      if (this.columns === undefined) this.columns = inferColumns(this.reader.head.columns, this.reader.head.metadata, this.held);
      const types = this.columns.map((c) => c.typeSignature);
      const names = this.columns.map((c) => c.name);
      while (this.held.length > 0 && bytes < this.options.pageBytes) {
        const row = this.held.shift()!;
        const text = `[${names.map((name, i) => encodeValue(row[name], types[i]!)).join(',')}]`;
        out.push(text);
        bytes += text.length + 1;
      }
      if (bytes >= this.options.pageBytes || performance.now() >= deadline) break;
    }
    if (this.columns === undefined && this.reader.finished) this.columns = inferColumns(this.reader.head.columns, this.reader.head.metadata, []);
    this.rowCount += out.length;
    return { rows: out, bytes, done: this.done };
  }
}
