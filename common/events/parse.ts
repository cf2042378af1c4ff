// The incremental JSON Lines parser of the event stream: splits chunks into
// lines, takes the span fast path (spanLine.ts) where it can, and validates
// every other record (validate.ts). Bad lines are recorded, never thrown.
import { RECORD_TYPES, SCHEMA_VERSION, type TrainerEvent } from './schema';
import { parseSpanLine } from './spanLine';
import { isObj, validateEvent } from './validate';

// The incremental parser.

/**
 * What went wrong with a line. `kind` lets a caller treat `unknown-type`
 * (expected from newer trainers; docs/events.md says to skip them) apart from
 * real damage.
 */
type StreamErrorKind = 'json' | 'schema' | 'unknown-type' | 'overlong' | 'truncated' | 'version';

interface StreamError {
  /** 1-based line number in the stream. */
  line: number;
  message: string;
  kind: StreamErrorKind;
}

interface EventStreamParserOptions {
  /** Longest line kept, in UTF-16 code units (about bytes for this ASCII-heavy format). Default 16 Mi. */
  maxLineLength?: number;
  /**
   * Errors kept in `errors`; later ones are only counted in `errorCount`, so
   * a stream of garbage cannot grow memory without bound. Default 1000.
   */
  maxErrors?: number;
}

const DEFAULT_MAX_LINE = 16 * 1024 * 1024;
const DEFAULT_MAX_ERRORS = 1000;

/**
 * Splits a JSON Lines stream into validated records, chunk by chunk, as the
 * file grows. Lines end at `\n` (`\r\n` accepted); a partial last line is kept
 * until its newline arrives; blank lines are skipped. Bad lines are recorded
 * in `errors` and skipped: parsing never throws on bad input.
 */
export class EventStreamParser {
  /** The first `maxErrors` problems, in stream order. */
  readonly errors: StreamError[] = [];
  /** All problems, including those not kept in `errors`. */
  errorCount = 0;
  /** The run record's schema, once seen. */
  schema: number | undefined;

  private readonly maxLine: number;
  private readonly maxErrors: number;
  // TextDecoder with stream:true keeps a multi-byte character split across
  // Buffer chunks until its last byte arrives.
  private decoder: TextDecoder | undefined;
  private partial = '';
  /** Lines finished so far; the line being assembled is lineNo + 1. */
  private lineNo = 0;
  /** The current line is overlong: drop its text until its newline. */
  private discarding = false;
  private ended = false;

  constructor(options: EventStreamParserOptions = {}) {
    this.maxLine = options.maxLineLength ?? DEFAULT_MAX_LINE;
    this.maxErrors = options.maxErrors ?? DEFAULT_MAX_ERRORS;
  }

  /** Lines completely read so far (including blank and bad ones). */
  get linesRead(): number {
    return this.lineNo;
  }

  /** Feeds more of the stream; returns the records its complete lines hold. */
  push(chunk: string | Uint8Array): TrainerEvent[] {
    if (this.ended) throw new Error('EventStreamParser: push() after end()');
    let text: string;
    if (typeof chunk === 'string') {
      // Bytes still held by the decoder belong before this text; flushing
      // turns an unfinished character into U+FFFD rather than losing order.
      text = this.decoder ? this.decoder.decode() + chunk : chunk;
      this.decoder = undefined;
    } else {
      this.decoder ??= new TextDecoder('utf-8');
      text = this.decoder.decode(chunk, { stream: true });
    }
    const out: TrainerEvent[] = [];
    this.consume(text, out);
    return out;
  }

  /**
   * Ends the stream: a last line without its newline is parsed if it is a
   * complete record (a JSON object cannot be a proper prefix of another), and
   * reported as truncated otherwise.
   */
  end(): TrainerEvent[] {
    if (this.ended) return [];
    const out: TrainerEvent[] = [];
    if (this.decoder) {
      const rest = this.decoder.decode();
      this.decoder = undefined;
      if (rest) this.consume(rest, out);
    }
    this.ended = true;
    if (this.discarding) {
      // Already reported when it crossed the limit.
      this.discarding = false;
      this.lineNo++;
      return out;
    }
    const line = this.partial;
    this.partial = '';
    if (line.length === 0) return out;
    this.lineNo++;
    const text = line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      if (text.trim() !== '') {
        this.error('truncated', this.lineNo, `line ${this.lineNo} is truncated (the stream ends in the middle of a record)`);
      }
      return out;
    }
    this.accept(value, out);
    return out;
  }

  private consume(text: string, out: TrainerEvent[]): void {
    let start = 0;
    const n = text.length;
    while (start < n) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) {
        this.keepPartial(text, start);
        return;
      }
      if (this.discarding) {
        this.discarding = false;
        this.lineNo++;
      } else if (this.partial.length + (nl - start) > this.maxLine) {
        this.partial = '';
        this.lineNo++;
        this.overlong(this.lineNo);
      } else if (this.partial.length !== 0) {
        const line = this.partial + text.slice(start, nl);
        this.partial = '';
        this.lineNo++;
        this.handleLine(line, 0, line.length, out);
      } else {
        this.lineNo++;
        this.handleLine(text, start, nl, out);
      }
      start = nl + 1;
    }
  }

  private keepPartial(text: string, start: number): void {
    if (this.discarding) return;
    if (this.partial.length + (text.length - start) > this.maxLine) {
      // Report now rather than at the newline, which may never come; the
      // rest of the line is dropped as it arrives.
      this.partial = '';
      this.discarding = true;
      this.overlong(this.lineNo + 1);
      return;
    }
    this.partial += text.slice(start);
  }

  private overlong(line: number): void {
    this.error('overlong', line, `line ${line} is longer than ${this.maxLine} characters; skipped`);
  }

  /** The line text[start, end), without its newline. */
  private handleLine(text: string, start: number, end: number, out: TrainerEvent[]): void {
    if (start === end) return;
    const span = parseSpanLine(text, start, end);
    if (span) {
      out.push(span);
      return;
    }
    const last = text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    const line = text.slice(start, last);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      // Whitespace-only lines are blank, not garbled; checked only here so
      // the common path does not trim every line.
      if (line.trim() === '') return;
      this.error('json', this.lineNo, `line ${this.lineNo} is not valid JSON: ${(e as Error).message}`);
      return;
    }
    this.accept(value, out);
  }

  private accept(value: unknown, out: TrainerEvent[]): void {
    const r = validateEvent(value);
    if (!r.ok) {
      const type = isObj(value) ? value.type : undefined;
      const kind: StreamErrorKind =
        typeof type === 'string' && !(RECORD_TYPES as readonly string[]).includes(type) ? 'unknown-type' : 'schema';
      this.error(kind, this.lineNo, `line ${this.lineNo}: ${r.error}`);
      return;
    }
    const ev = r.event;
    if (ev.type === 'run') {
      this.schema = ev.schema;
      if (ev.schema > SCHEMA_VERSION) {
        // Still delivered: within the compatibility rules a newer stream
        // mostly reads fine, and the caller decides how loudly to warn.
        this.error(
          'version',
          this.lineNo,
          `line ${this.lineNo}: the stream has schema ${ev.schema}, newer than this reader's ${SCHEMA_VERSION}; some fields may be misread`,
        );
      }
    }
    out.push(ev);
  }

  private error(kind: StreamErrorKind, line: number, message: string): void {
    this.errorCount++;
    if (this.errors.length < this.maxErrors) this.errors.push({ line, message, kind });
  }
}


interface ParsedEvents {
  events: TrainerEvent[];
  errors: StreamError[];
}

/** Parses a whole events.jsonl text at once. */
export function parseEventsFile(text: string, options?: EventStreamParserOptions): ParsedEvents {
  const parser = new EventStreamParser(options);
  const events = parser.push(text);
  for (const e of parser.end()) events.push(e);
  return { events, errors: parser.errors };
}
