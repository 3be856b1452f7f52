/**
 * The HPACK Huffman code (RFC 7541 Appendix B). The code is canonical — within one length, codes
 * increase with the symbol value, and shorter codes come first — so the 257 code lengths
 * (symbols 0–255 and EOS = 256) define it completely; the codes are derived here rather than
 * transcribed. A unit test checks the derivation against codes printed in the appendix and the
 * Appendix C examples.
 */
// prettier-ignore
export const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 0-31
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 32-63
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 64-95
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 96-127
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 128-159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 160-191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 192-223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 224-255
  30, // EOS
];

export const EOS = 256;
const MIN_LEN = 5;
const MAX_LEN = 30;

/** Canonical decoding tables: per length, the first code, how many codes, and where their symbols start. */
const firstCode = new Int32Array(MAX_LEN + 2);
const countOf = new Int32Array(MAX_LEN + 2);
const offsetOf = new Int32Array(MAX_LEN + 2);
const symbols = new Uint16Array(257);
/** Code of each symbol (right-aligned), for tests and encoders. */
export const CODES = new Uint32Array(257);

(function build(): void {
  for (const l of CODE_LENGTHS) countOf[l]!++;
  let code = 0;
  let offset = 0;
  for (let len = 1; len <= MAX_LEN; len++) {
    firstCode[len] = code;
    offsetOf[len] = offset;
    offset += countOf[len]!;
    code = (code + countOf[len]!) << 1;
  }
  const next = new Int32Array(MAX_LEN + 2);
  for (let len = 1; len <= MAX_LEN; len++) next[len] = offsetOf[len]!;
  for (let s = 0; s < 257; s++) {
    const len = CODE_LENGTHS[s]!;
    const slot = next[len]!++;
    symbols[slot] = s;
    CODES[s] = firstCode[len]! + (slot - offsetOf[len]!);
  }
})();

/** Outcome of one Huffman string: bytes written (≤ the output cap) and the full decoded length. */
export interface HuffmanResult {
  /** Decoded length, also counting bytes that did not fit the output. */
  length: number;
  /** Bytes written to the output (min(length, out.length)). */
  written: number;
  /** '' when valid, else the reason (a counter label). */
  error: string;
}

/**
 * Decodes `src[start, end)` into `out` (at most out.length bytes kept; the rest only counted).
 * Rejects EOS inside the string and padding that is longer than 7 bits or not all ones
 * (RFC 7541 §5.2). Work is bounded by 8 × the input length.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, out: Uint8Array, res: HuffmanResult): HuffmanResult {
  let code = 0;
  let len = 0;
  let n = 0;
  const cap = out.length;
  res.error = '';
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      len++;
      if (len < MIN_LEN) continue;
      const idx = code - firstCode[len]!;
      if (idx >= 0 && idx < countOf[len]!) {
        const sym = symbols[offsetOf[len]! + idx]!;
        if (sym === EOS) {
          res.error = 'huffman_eos';
          res.length = n;
          res.written = Math.min(n, cap);
          return res;
        }
        if (n < cap) out[n] = sym;
        n++;
        code = 0;
        len = 0;
      } else if (len >= MAX_LEN) {
        res.error = 'huffman_code';
        res.length = n;
        res.written = Math.min(n, cap);
        return res;
      }
    }
  }
  // Padding: fewer than 8 bits, all ones (the most significant bits of EOS).
  if (len > 7) res.error = 'huffman_padding';
  else if (len > 0 && code !== (1 << len) - 1) res.error = 'huffman_padding';
  res.length = n;
  res.written = Math.min(n, cap);
  return res;
}
