// The span fast path of the event parser (parse.ts). Spans are ~95% of a profiled run's records, and
// JSON.parse plus validation took most of the time of loading one. The
// trainer writes every span with the same keys in the same order, so a
// line in exactly that form is read by a scanner; any other form (other
// order or spacing, escapes, exponents, long numbers, a value out of
// range) returns undefined and takes the general path, which parses,
// validates and reports it. What the scanner returns is what JSON.parse
// and validateEvent would: the same fields, and numbers rounded the same.

import { SPAN_PHASES, type SpanRecord } from './schema';

const SPAN_PREFIX = '{"type":"span","rank":';
const K_STEP = ',"step":';
const K_LAYER = ',"layer":';
const K_NAME = ',"name":"';
const K_PHASE = '","phase":"';
// The phase's closing quote starts K_T0, so "fwdx" is no phase.
const K_T0 = '","t0":';
const K_T1 = ',"t1":';
// Exact powers of ten: a decimal of at most 15 digits is an integer below
// 2^53, and one IEEE division by an exact 10^k (k ≤ 22) rounds correctly,
// as JSON.parse does (Clinger's fast path).
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

// The scanner's position and last value: module state, so that scanning
// allocates nothing but the record and its name.
let at = 0;
let value = 0;

/** A JSON integer ≥ 0 without leading zeros at `at`; false if none. */
function scanCount(s: string): boolean {
  let i = at;
  const first = s.charCodeAt(i);
  if (first === 48) {
    // "0" alone; "01" is not JSON.
    const next = s.charCodeAt(i + 1);
    if (next >= 48 && next <= 57) return false;
    value = 0;
    at = i + 1;
    return true;
  }
  if (!(first >= 49 && first <= 57)) return false;
  let v = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
  }
  if (i - at > 15) return false;
  value = v;
  at = i;
  return true;
}

/** A JSON number at `at` of at most 15 digits and no exponent; false otherwise. */
function scanNumber(s: string): boolean {
  let i = at;
  const neg = s.charCodeAt(i) === 45;
  if (neg) i++;
  const intStart = i;
  let m = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    m = m * 10 + (c - 48);
  }
  const intDigits = i - intStart;
  if (intDigits === 0 || (intDigits > 1 && s.charCodeAt(intStart) === 48)) return false;
  let frac = 0;
  if (s.charCodeAt(i) === 46) {
    i++;
    const fracStart = i;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      m = m * 10 + (c - 48);
    }
    frac = i - fracStart;
    if (frac === 0) return false;
  }
  const c = s.charCodeAt(i);
  if (c === 101 || c === 69 || intDigits + frac > 15) return false;
  const v = frac ? m / POW10[frac] : m;
  value = neg ? -v : v;
  at = i;
  return true;
}

// charCodeAt by charCodeAt: String.prototype.startsWith costs several times more here.
function scanLiteral(s: string, lit: string): boolean {
  const n = lit.length;
  if (at + n > s.length) return false;
  for (let k = 0; k < n; k++) if (s.charCodeAt(at + k) !== lit.charCodeAt(k)) return false;
  at += n;
  return true;
}

/**
 * The span record on line[start, end) (a line without its newline) if it is
 * in the trainer's own form, or undefined. Offsets, so that the parser
 * scans spans inside a chunk without cutting a string per line.
 */
export function parseSpanLine(line: string, start = 0, end = line.length): SpanRecord | undefined {
  at = start;
  if (!scanLiteral(line, SPAN_PREFIX)) return undefined;
  if (!scanCount(line)) return undefined;
  const rank = value;
  if (!scanLiteral(line, K_STEP) || !scanCount(line) || value < 1) return undefined;
  const step = value;
  if (!scanLiteral(line, K_LAYER) || !scanCount(line)) return undefined;
  const layer = value;
  if (!scanLiteral(line, K_NAME)) return undefined;
  const nameStart = at;
  for (; at < end; at++) {
    const c = line.charCodeAt(at);
    // An escape or a control character: the general path decides.
    if (c === 34) break;
    if (c === 92 || c < 32) return undefined;
  }
  const name = line.slice(nameStart, at);
  if (!scanLiteral(line, K_PHASE)) return undefined;
  let phase: string | undefined;
  for (let k = 0; k < SPAN_PHASES.length && phase === undefined; k++) {
    if (scanLiteral(line, SPAN_PHASES[k])) phase = SPAN_PHASES[k];
  }
  if (phase === undefined || !scanLiteral(line, K_T0) || !scanNumber(line)) return undefined;
  const t0 = value;
  if (!scanLiteral(line, K_T1) || !scanNumber(line)) return undefined;
  const t1 = value;
  if (line.charCodeAt(at) !== 125) return undefined;
  const rest = end - at - 1;
  // The line ends at the brace (a \r before the \n is allowed).
  if (rest !== 0 && !(rest === 1 && line.charCodeAt(at + 1) === 13)) return undefined;
  if (!(t1 >= t0)) return undefined;
  return { type: 'span', rank, step, layer, name, phase, t0, t1 };
}
