/**
 * DNS domain-name decoding with message compression (RFC 1035 §4.1.4), hostile-input safe.
 *
 * A compression pointer must point to a *prior* occurrence of a name. This reader follows only
 * pointers that go strictly backwards of the segment it is reading, so every chain ends (the
 * target offset strictly decreases) and no pointer loop can ever be followed. Anything else is
 * flagged and decoding stops: self pointers and pointers into the name being read (loops),
 * forward pointers, reserved label types (0x40/0x80, i.e. "labels longer than 63"), names longer
 * than 255 octets (RFC 1035 §2.3.4), and names running off the end of the message.
 */

/** The name pointed back into itself (self pointer or into the labels being read). */
export const NAME_POINTER_LOOP = 1;
/** A pointer to a later offset (never followed; RFC 1035 allows only prior occurrences). */
export const NAME_FORWARD_POINTER = 2;
/** More than 255 octets on the wire (length bytes included). */
export const NAME_TOO_LONG = 4;
/** A label length byte with the reserved 0x40/0x80 prefix: a label longer than 63 octets. */
export const NAME_BAD_LABEL = 8;
/** The name ran off the end of the message. */
export const NAME_TRUNCATED = 16;
/** More pointer hops than the declared limit. */
export const NAME_TOO_MANY_HOPS = 32;

/** Counter reasons for the flags above, in bit order. */
export const NAME_FLAG_REASONS: ReadonlyArray<readonly [number, string]> = [
  [NAME_POINTER_LOOP, 'name.pointer_loop'],
  [NAME_FORWARD_POINTER, 'name.forward_pointer'],
  [NAME_TOO_LONG, 'name.too_long'],
  [NAME_BAD_LABEL, 'name.label_too_long'],
  [NAME_TRUNCATED, 'name.truncated'],
  [NAME_TOO_MANY_HOPS, 'name.pointer_hops'],
];

/** RFC 1035 §2.3.4: 255 octets including length bytes and the root. */
export const MAX_NAME_OCTETS = 255;
const MAX_LABEL = 63;

/**
 * Decodes names into presentation form (labels joined by '.', root as '.', bytes outside
 * printable ASCII and the characters '.' and '\' escaped as `\DDD` like dig). One instance is
 * reused for every name of a message: the results live in its fields until the next read.
 */
export class NameReader {
  /** Decoded text of the last name (partial when `flags` is non-zero). */
  name = '';
  /** Offset right after the name in the record that contained it (valid when flags is 0). */
  end = 0;
  /** NAME_* bits for the last name, 0 when it decoded cleanly. */
  flags = 0;
  /** Labels in the last name. */
  labels = 0;
  /** Pointer hops followed in the last name. */
  hops = 0;
  /**
   * Worst case: 255 octets, each escaped to 4 characters. Every character is ASCII (others are
   * escaped), so a byte buffer decoded as latin1 gives the string in one native call.
   */
  private readonly chars = Buffer.alloc(MAX_NAME_OCTETS * 4 + 8);
  /**
   * The last clean name read in the current message (see newMessage()). Answer owner names are
   * usually one pointer to the question name: they reuse its result instead of decoding again.
   */
  private memoOn = false;
  private memoBuf: Uint8Array | null = null;
  private memoStart = 0;
  private memoEnd = 0;
  private memoOff = -1;
  private memoName = '';
  private memoLabels = 0;
  private memoHops = 0;

  constructor(readonly maxHops = 64) {}

  /** Starts a message: names read from now on may reuse each other (the bytes do not change). */
  newMessage(): void {
    this.memoOn = true;
    this.memoBuf = null;
    this.memoOff = -1;
  }

  /** Ends the message: forget it, the buffer may be reused for other bytes. */
  endMessage(): void {
    this.memoOn = false;
    this.memoBuf = null;
    this.memoOff = -1;
  }

  /**
   * Reads the name at `off` of the message `buf[msgStart, msgEnd)`. Returns false when the
   * name is malformed (see `flags`); `name` then holds what decoded before the problem.
   */
  read(buf: Uint8Array, msgStart: number, msgEnd: number, off: number): boolean {
    if (this.memoBuf === buf && this.memoStart === msgStart && this.memoEnd === msgEnd && off + 1 < msgEnd && (buf[off]! & 0xc0) === 0xc0) {
      const target = msgStart + (((buf[off]! & 0x3f) << 8) | buf[off + 1]!);
      // A backward pointer to the name read last (decoded cleanly): the same name, one hop more,
      // as long as that hop is still within the limit. Anything else takes the full path.
      if (target === this.memoOff && target < off && this.memoHops < this.maxHops) {
        this.end = off + 2;
        this.flags = 0;
        this.labels = this.memoLabels;
        this.hops = this.memoHops + 1;
        this.name = this.memoName;
        return true;
      }
    }
    const chars = this.chars;
    let n = 0;
    let pos = off;
    let segStart = off;
    let end = -1;
    let octets = 1; // the root byte
    let flags = 0;
    let labels = 0;
    let hops = 0;
    // Each iteration consumes a label or a pointer; labels only advance, pointers only go back,
    // and the octet and hop caps bound both.
    for (;;) {
      if (pos >= msgEnd) {
        flags |= NAME_TRUNCATED;
        break;
      }
      const b = buf[pos]!;
      if (b === 0) {
        pos++;
        break;
      }
      const kind = b & 0xc0;
      if (kind === 0xc0) {
        if (pos + 1 >= msgEnd) {
          flags |= NAME_TRUNCATED;
          break;
        }
        const target = msgStart + (((b & 0x3f) << 8) | buf[pos + 1]!);
        if (end < 0) end = pos + 2;
        if (target > pos) {
          flags |= NAME_FORWARD_POINTER;
          break;
        }
        if (target >= segStart) {
          flags |= NAME_POINTER_LOOP;
          break;
        }
        if (hops >= this.maxHops) {
          flags |= NAME_TOO_MANY_HOPS;
          break;
        }
        hops++;
        pos = target;
        segStart = target;
        continue;
      }
      if (kind !== 0) {
        flags |= NAME_BAD_LABEL;
        break;
      }
      // b <= 63 here.
      if (pos + 1 + b > msgEnd) {
        flags |= NAME_TRUNCATED;
        break;
      }
      octets += b + 1;
      if (octets > MAX_NAME_OCTETS) {
        flags |= NAME_TOO_LONG;
        break;
      }
      if (labels > 0) chars[n++] = 0x2e;
      for (let i = pos + 1, e = pos + 1 + b; i < e; i++) {
        const c = buf[i]!;
        if (c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c) chars[n++] = c;
        else {
          chars[n++] = 0x5c;
          chars[n++] = 0x30 + ((c / 100) | 0);
          chars[n++] = 0x30 + (((c / 10) | 0) % 10);
          chars[n++] = 0x30 + (c % 10);
        }
      }
      labels++;
      pos += 1 + b;
    }
    this.end = end < 0 ? pos : end;
    this.flags = flags;
    this.labels = labels;
    this.hops = hops;
    this.name = labels === 0 && flags === 0 ? '.' : n === 0 ? '' : internName(chars, n);
    if (flags === 0 && this.memoOn) {
      this.memoBuf = buf;
      this.memoStart = msgStart;
      this.memoEnd = msgEnd;
      this.memoOff = off;
      this.memoName = this.name;
      this.memoLabels = labels;
      this.memoHops = hops;
    }
    return flags === 0;
  }
}

/** Slots of the name intern table (a power of two). */
const NAME_SLOTS = 2048;
const names: Array<string | undefined> = new Array<string | undefined>(NAME_SLOTS).fill(undefined);

/**
 * The string for `chars[0, n)`. DNS traffic repeats names (a query, its response, the answer
 * owner names that point back to the question): a direct-mapped table hands out the string made
 * last time for the same characters (confirmed one by one), so most reads allocate nothing and
 * flows share their name strings.
 */
function internName(chars: Buffer, n: number): string {
  let h = 0x811c9dc5 ^ n;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ chars[i]!, 0x01000193);
  const slot = (h >>> 0) & (NAME_SLOTS - 1);
  const known = names[slot];
  if (known !== undefined && known.length === n) {
    let i = 0;
    while (i < n && known.charCodeAt(i) === chars[i]) i++;
    if (i === n) return known;
  }
  const s = chars.toString('latin1', 0, n);
  names[slot] = s;
  return s;
}

/** Label length limit, exported for tests and docs. */
export const MAX_LABEL_OCTETS = MAX_LABEL;
