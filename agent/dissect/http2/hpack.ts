import { huffmanDecode, type HuffmanResult } from './huffman.js';
import { STATIC_COUNT, STATIC_TABLE } from './hpack-static.js';

/** Budgets of one HPACK decoder (one direction of a connection). */
export interface HpackLimits {
  /** Largest dynamic table we mirror, whatever the peers agree (bytes, RFC 7541 §4.1 sizing). */
  readonly tableBytes: number;
  /** Header list size per block (sum of name + value + 32); beyond it headers are no longer reported. */
  readonly headerListBytes: number;
  /** Kept bytes of one header name or value (longer ones are cut; the table still accounts the full size). */
  readonly stringBytes: number;
}

export const HPACK_LIMITS: HpackLimits = { tableBytes: 65_536, headerListBytes: 65_536, stringBytes: 8192 };

/** Receives each decoded header field (strings are latin1: one char per octet). */
export type HeaderCallback = (name: string, value: string) => void;

/** Outcome of decoding one header block. */
export const HpackStatus = {
  Ok: 0,
  /** The bytes break RFC 7541: the table can no longer be trusted. */
  Malformed: 1,
  /** A declared budget was hit; the block was still processed to keep the table in step. */
  ListLimit: 2,
  /** The peer's table is larger than we mirror: the table can no longer be trusted. */
  TableLimit: 3,
} as const;
export type HpackStatus = (typeof HpackStatus)[keyof typeof HpackStatus];

interface Entry {
  name: string;
  value: string;
  /** Full name length in octets (the kept string may be cut). */
  nameLen: number;
  /** name octets + value octets + 32 (RFC 7541 §4.1), using the full (uncut) lengths. */
  size: number;
}

const STATIC_ENTRIES: readonly Entry[] = STATIC_TABLE.map(([name, value]) => ({
  name,
  value,
  nameLen: name.length,
  size: name.length + value.length + 32,
}));

/** Integers above this are refused (no HTTP/2 value needs more; 5 continuation bytes at most). */
const MAX_INTEGER = 1 << 28;

/**
 * An HPACK decoder (RFC 7541) for one direction: static table, a dynamic table bounded by the
 * size the peers agreed (SETTINGS_HEADER_TABLE_SIZE and size updates) and by our own hard cap,
 * Huffman strings, overflow-checked integers, and a header list budget. Every loop is bounded by
 * the block length; decoded strings are cut at `stringBytes`. A size or list bomb hits a limit.
 */
export class HpackDecoder {
  private entries: Entry[] = [];
  /** Index in `entries` of the oldest live entry (evictions advance it). */
  private head = 0;
  /** Current dynamic table size in octets. */
  size = 0;
  /** Current maximum set by size updates. */
  maxSize: number;
  /** SETTINGS_HEADER_TABLE_SIZE of the receiving peer: the largest size update allowed. */
  settingsMax = 4096;
  /** Reason of the last failure (counter label). */
  error = '';
  /** The last block's header list size. */
  listSize = 0;
  private readonly scratch: Uint8Array;
  private readonly huff: HuffmanResult = { length: 0, written: 0, error: '' };
  private pos = 0;
  private lastLen = 0;

  constructor(
    readonly limits: HpackLimits = HPACK_LIMITS,
    /** Table size before any size update (HTTP/2: 4096, RFC 9113 §6.5.2). */
    initialSize = 4096,
  ) {
    this.maxSize = Math.min(initialSize, limits.tableBytes);
    this.settingsMax = Math.max(4096, this.maxSize);
    this.scratch = new Uint8Array(limits.stringBytes);
  }

  /** Entries in the dynamic table. */
  get length(): number {
    return this.entries.length - this.head;
  }

  /** The dynamic entry at HPACK index `STATIC_COUNT + 1 + i` (0 = newest), for tests. */
  entry(i: number): readonly [string, string] | undefined {
    const e = this.entries[this.entries.length - 1 - i];
    return i < this.length && e ? [e.name, e.value] : undefined;
  }

  /** Decodes one complete header block; headers go to `out` until the list budget is spent. */
  decode(buf: Uint8Array, start: number, end: number, out: HeaderCallback): HpackStatus {
    this.pos = start;
    this.listSize = 0;
    this.error = '';
    let overList = false;
    let sawField = false;
    // Each representation consumes at least one byte, so this runs ≤ (end - start) times.
    while (this.pos < end) {
      const b = buf[this.pos]!;
      let name: string;
      let value: string;
      let size: number;
      if (b & 0x80) {
        const index = this.integer(buf, end, 7);
        if (index < 0) return this.fail('integer');
        const e = this.lookup(index);
        if (!e) return this.fail('index');
        name = e.name;
        value = e.value;
        size = e.size;
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update: only before the first field of a block (RFC 7541 §4.2).
        if (sawField) return this.fail('size_update_position');
        const max = this.integer(buf, end, 5);
        if (max < 0) return this.fail('integer');
        if (max > this.limits.tableBytes) {
          this.error = 'table_bytes';
          return HpackStatus.TableLimit;
        }
        if (max > this.settingsMax) return this.fail('size_update_above_settings');
        this.maxSize = max;
        this.evict(0);
        continue;
      } else {
        const incremental = (b & 0xc0) === 0x40;
        const index = this.integer(buf, end, incremental ? 6 : 4);
        if (index < 0) return this.fail('integer');
        let nameLen: number;
        if (index === 0) {
          const s = this.string(buf, end);
          if (s === undefined) return this.fail(this.error || 'string');
          name = s;
          nameLen = this.lastLen;
        } else {
          const e = this.lookup(index);
          if (!e) return this.fail('index');
          name = e.name;
          nameLen = e.nameLen;
        }
        const v = this.string(buf, end);
        if (v === undefined) return this.fail(this.error || 'string');
        value = v;
        size = nameLen + this.lastLen + 32;
        if (incremental) this.insert(name, value, nameLen, size);
      }
      sawField = true;
      this.listSize += size;
      if (this.listSize > this.limits.headerListBytes) overList = true;
      if (!overList) out(name, value);
    }
    if (overList) {
      this.error = 'header_list_bytes';
      return HpackStatus.ListLimit;
    }
    return HpackStatus.Ok;
  }

  /** Applies a SETTINGS_HEADER_TABLE_SIZE from the receiving peer. */
  setSettingsMax(n: number): void {
    this.settingsMax = n;
  }

  private fail(reason: string): HpackStatus {
    this.error = reason;
    return HpackStatus.Malformed;
  }

  /** RFC 7541 §5.1 integer with an N-bit prefix at `pos`; -1 when cut short or too large. */
  private integer(buf: Uint8Array, end: number, prefix: number): number {
    if (this.pos >= end) return -1;
    const mask = (1 << prefix) - 1;
    let v = buf[this.pos++]! & mask;
    if (v < mask) return v;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= end) return -1;
      const c = buf[this.pos++]!;
      v += (c & 0x7f) * 2 ** shift;
      shift += 7;
      if ((c & 0x80) === 0) return v <= MAX_INTEGER ? v : -1;
    }
    return -1;
  }

  /** RFC 7541 §5.2 string literal; sets lastLen to the full decoded length. */
  private string(buf: Uint8Array, end: number): string | undefined {
    if (this.pos >= end) return undefined;
    const huffman = (buf[this.pos]! & 0x80) !== 0;
    const len = this.integer(buf, end, 7);
    if (len < 0 || len > end - this.pos) {
      this.error = 'string_length';
      return undefined;
    }
    const s = this.pos;
    this.pos += len;
    if (!huffman) {
      this.lastLen = len;
      const keep = Math.min(len, this.limits.stringBytes);
      return latin1(buf, s, s + keep);
    }
    const r = huffmanDecode(buf, s, s + len, this.scratch, this.huff);
    if (r.error) {
      this.error = r.error;
      return undefined;
    }
    this.lastLen = r.length;
    return latin1(this.scratch, 0, r.written);
  }

  private lookup(index: number): Entry | undefined {
    if (index <= 0) return undefined;
    if (index <= STATIC_COUNT) return STATIC_ENTRIES[index];
    const i = index - STATIC_COUNT - 1;
    if (i >= this.length) return undefined;
    return this.entries[this.entries.length - 1 - i];
  }

  private insert(name: string, value: string, nameLen: number, size: number): void {
    // An entry larger than the table empties it and is not added (RFC 7541 §4.4).
    if (size > this.maxSize) {
      this.evict(this.maxSize + 1);
      return;
    }
    this.evict(size);
    this.entries.push({ name, value, nameLen, size });
    this.size += size;
  }

  /** Evicts oldest entries until `room` more octets fit under maxSize. */
  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.head < this.entries.length) {
      this.size -= this.entries[this.head]!.size;
      this.head++;
    }
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
      this.size = 0;
    } else if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  if (end <= start) return '';
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
}
