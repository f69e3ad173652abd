// Counts the rows of Drill's /query.json answer as its bytes stream past, without
// parsing or keeping them. Drill's answer is one object whose arrays hold strings
// (columns, metadata) or row objects (rows): so every object that opens directly
// inside an array of the top-level object is a row. A byte scanner with the state
// carried across chunks (a string or an escape may straddle two).

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

export class RowCounter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Whether the container at depth 2 is an array (the top-level object's arrays). */
  private arrayAtTwo = false;
  total = 0;

  /** Feeds the next bytes; returns how many rows they started. */
  feed(chunk: Uint8Array): number {
    let rows = 0;
    let { depth, inString, escaped, arrayAtTwo } = this;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) inString = false;
        continue;
      }
      switch (byte) {
        case QUOTE:
          inString = true;
          break;
        case OPEN_OBJECT:
          if (depth === 2 && arrayAtTwo) rows++;
          depth++;
          break;
        case OPEN_ARRAY:
          if (depth === 1) arrayAtTwo = true;
          depth++;
          break;
        case CLOSE_OBJECT:
        case CLOSE_ARRAY:
          depth--;
          if (depth === 1) arrayAtTwo = false;
          break;
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    this.arrayAtTwo = arrayAtTwo;
    this.total += rows;
    return rows;
  }
}
