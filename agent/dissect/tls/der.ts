/**
 * A minimal DER (ITU-T X.690) tag-length-value reader for certificates from the wire. Only what
 * DER allows: single-byte tags (no high-tag-number form), definite lengths in at most 4 length
 * octets, every element inside its parent. Anything else yields `undefined`, never a throw.
 */

/** One element: tag byte and the [start, end) range of its contents within the buffer. */
export interface Tlv {
  readonly tag: number;
  /** Offset of the identifier octet. */
  readonly at: number;
  readonly start: number;
  readonly end: number;
}

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  teletexString: 0x14,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  universalString: 0x1c,
  bmpString: 0x1e,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Reads the element at `pos`, which must end at or before `limit`. */
export function readTlv(buf: Uint8Array, pos: number, limit: number): Tlv | undefined {
  if (pos + 2 > limit) return undefined;
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // high-tag-number form: never in X.509 certs
  let p = pos + 1;
  let len = buf[p++]!;
  if (len & 0x80) {
    const n = len & 0x7f;
    // n === 0 is the BER indefinite form (not DER); > 4 octets cannot fit a certificate.
    if (n === 0 || n > 4 || p + n > limit) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
  }
  if (p + len > limit) return undefined;
  return { tag, at: pos, start: p, end: p + len };
}

/**
 * Iterates the children of a constructed element, at most `max` of them (a declared bound).
 * Stops at the first malformed child; `ok` tells whether all children parsed and fit.
 */
export function children(buf: Uint8Array, parent: Tlv, max: number): { items: Tlv[]; ok: boolean } {
  const items: Tlv[] = [];
  let p = parent.start;
  while (p < parent.end) {
    if (items.length >= max) return { items, ok: false };
    const t = readTlv(buf, p, parent.end);
    if (!t) return { items, ok: false };
    items.push(t);
    p = t.end;
  }
  return { items, ok: true };
}

/** Dotted form of an OBJECT IDENTIFIER's contents, or undefined when malformed/over-long. */
export function oidString(buf: Uint8Array, start: number, end: number): string | undefined {
  if (end <= start || end - start > 64) return undefined;
  let out = '';
  let v = 0;
  let first = true;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) return undefined;
    if (b & 0x80) continue;
    if (first) {
      const a = v < 40 ? 0 : v < 80 ? 1 : 2;
      out = `${a}.${v - a * 40}`;
      first = false;
    } else out += `.${v}`;
    v = 0;
  }
  // The last octet must close the sub-identifier.
  return buf[end - 1]! & 0x80 ? undefined : out;
}
