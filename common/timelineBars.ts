// The bars of a communication-timeline sample (one per span or all-reduce of
// every rank) as typed columns, and their wire form: each column's bytes in
// base64. A sample can hold 10^5+ bars; as JSON numbers they cost the host
// a number-to-text conversion each and the page a parse each, and made a
// 5 MB report that took seconds to open. Base64 is one string per column,
// checked by its length and decoded only when the view shows that sample.
//
// No `vscode` and no Node import: the host packs, the webview unpacks.

/** Element type of each column. */
const BAR_COLUMNS = {
  rank: 'u16',
  kind: 'u8',
  t0: 'f64',
  t1: 'f64',
  tag: 'u32',
  value: 'f64',
  algbw: 'f32',
  busbw: 'f32',
} as const;

type BarColumnName = keyof typeof BAR_COLUMNS;
type Dtype = (typeof BAR_COLUMNS)[BarColumnName];

interface ArrayOf {
  u8: Uint8Array;
  u16: Uint16Array;
  u32: Uint32Array;
  f32: Float32Array;
  f64: Float64Array;
}

/** One entry per bar. */
export type TimelineBars = { [K in BarColumnName]: ArrayOf[(typeof BAR_COLUMNS)[K]] };

/**
 * The wire form. Column bytes are little-endian, as typed arrays are on
 * every platform VS Code and Chromium run on.
 */
export interface PackedBars {
  encoding: 'base64';
  /** Bars. */
  n: number;
  columns: Record<BarColumnName, string>;
}

const SIZE: Record<Dtype, number> = { u8: 1, u16: 2, u32: 4, f32: 4, f64: 8 };
const MAKE: { [D in Dtype]: (b: ArrayBuffer) => ArrayOf[D] } = {
  u8: (b) => new Uint8Array(b),
  u16: (b) => new Uint16Array(b),
  u32: (b) => new Uint32Array(b),
  f32: (b) => new Float32Array(b),
  f64: (b) => new Float64Array(b),
};
const NAMES = Object.keys(BAR_COLUMNS) as BarColumnName[];

export function isPackedBars(v: TimelineBars | PackedBars): v is PackedBars {
  return (v as Partial<PackedBars>).encoding === 'base64';
}

// btoa takes a "binary string"; String.fromCharCode over a whole column
// would overflow the argument limit, so 3·2^13-byte pieces (a multiple of
// 3: their base64 texts concatenate without padding in between).
const PIECE = 3 * 8192;

function toBase64(a: ArrayBufferView): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let out = '';
  for (let o = 0; o < bytes.length; o += PIECE) {
    out += btoa(String.fromCharCode.apply(null, bytes.subarray(o, o + PIECE) as unknown as number[]));
  }
  return out;
}

interface Base64Decoder {
  fromBase64?: (s: string) => Uint8Array;
}

function fromBase64(s: string): Uint8Array {
  // Chromium 140+ decodes natively; older ones (VS Code's Electron) loop.
  const native = (Uint8Array as unknown as Base64Decoder).fromBase64;
  if (native) return native(s);
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function packBars(b: TimelineBars): PackedBars {
  const columns = {} as Record<BarColumnName, string>;
  for (const k of NAMES) columns[k] = toBase64(b[k]);
  return { encoding: 'base64', n: b.t0.length, columns };
}

/** Base64 text length of `n` elements of a column. */
function packedLength(name: BarColumnName, n: number): number {
  return 4 * Math.ceil((n * SIZE[BAR_COLUMNS[name]]) / 3);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Whether an untrusted value is PackedBars whose every column holds exactly
 * `n` elements. Checks lengths and the alphabet, decodes nothing.
 */
export function isPackedBarsValue(v: unknown): v is PackedBars {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  const n = p.n;
  const cols = p.columns;
  if (p.encoding !== 'base64' || !Number.isInteger(n) || (n as number) < 0 || typeof cols !== 'object' || cols === null) return false;
  for (const k of NAMES) {
    const s = (cols as Record<string, unknown>)[k];
    if (typeof s !== 'string' || s.length !== packedLength(k, n as number) || !BASE64.test(s)) return false;
  }
  return true;
}

function unpackBars(p: PackedBars): TimelineBars {
  const out = {} as Record<BarColumnName, ArrayOf[Dtype]>;
  for (const k of NAMES) {
    const dtype = BAR_COLUMNS[k];
    const bytes = fromBase64(p.columns[k]);
    // Both decoders return a fresh buffer of exactly the decoded bytes, so
    // the column can view it in place (aligned at offset 0).
    if (bytes.byteOffset !== 0 || bytes.buffer.byteLength !== p.n * SIZE[dtype]) {
      throw new Error(`timeline column ${k}: ${bytes.byteLength} bytes for ${p.n} elements`);
    }
    out[k] = MAKE[dtype](bytes.buffer as ArrayBuffer);
  }
  return out as TimelineBars;
}

const decoded = new WeakMap<PackedBars, TimelineBars>();

/** A sample's bars as typed columns, decoding (once) bars that came packed. */
export function barColumns(bars: TimelineBars | PackedBars): TimelineBars {
  if (!isPackedBars(bars)) return bars;
  let b = decoded.get(bars);
  if (!b) decoded.set(bars, (b = unpackBars(bars)));
  return b;
}

/** Makes typed columns serialise (JSON.stringify, postMessage) packed. */
export function packOnSerialise(b: TimelineBars): TimelineBars {
  Object.defineProperty(b, 'toJSON', { value: () => packBars(b), enumerable: false });
  return b;
}
