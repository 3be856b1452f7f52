import { Slot, VARLEN, slotFor } from './fields.js';
import type { ParsedTemplate } from './template-sets.js';

/** Occurrences of one (enterprise, field id) pair in data records; shared by every template using it. */
export interface EnterpriseFieldCounter {
  readonly pen: number;
  readonly id: number;
  records: number;
}

/**
 * A learned (options) template: the field layout of the data records that name its id.
 * Arrays are typed so decoding a record walks numbers only.
 */
export class Template {
  /** IE ids (enterprise bit cleared). */
  readonly ids: Uint16Array;
  /** Field lengths; VARLEN (0xffff) = IPFIX variable length. */
  readonly lengths: Uint16Array;
  /** Enterprise numbers, 0 for IANA fields. */
  readonly pens: Uint32Array;
  /** Internal slot per field (Slot.Skip for fields we do not use). */
  readonly slots: Uint8Array;
  /** Minimum bytes of one record (variable-length fields count their 1-byte length prefix). */
  readonly minLength: number;
  /** Bytes of one record when every field is fixed, else -1. */
  readonly fixedLength: number;
  /** Counters for the enterprise-specific fields this template carries (skipped by length). */
  enterpriseCounters: EnterpriseFieldCounter[] = [];
  /** When the template was last (re)announced, in ms (drives expiry). */
  refreshedMs: number;
  /** Data records decoded with this template. */
  records = 0;
  readonly id: number;
  /** Options templates describe metadata (sampling, system init time), not flows. */
  readonly isOptions: boolean;
  /** Number of leading scope fields (options templates). */
  readonly scopeCount: number;
  /** Learned from NetFlow v9 (no variable-length fields, no enterprise numbers). */
  readonly v9: boolean;

  constructor(p: ParsedTemplate, nowMs: number, v9: boolean) {
    const n = p.count;
    this.id = p.id;
    this.isOptions = p.isOptions;
    this.scopeCount = p.scopeCount;
    this.ids = p.ids.slice(0, n);
    this.lengths = p.lengths.slice(0, n);
    this.pens = p.pens.slice(0, n);
    this.slots = new Uint8Array(n);
    let min = 0;
    let fixed = 0;
    for (let i = 0; i < n; i++) {
      const len = this.lengths[i]!;
      // Variable length exists in IPFIX only; in v9 0xffff is just a (useless) fixed length.
      if (len === VARLEN && !v9) {
        min += 1;
        fixed = -1;
      } else {
        min += len;
        if (fixed >= 0) fixed += len;
      }
      // v9 options scope fields use their own type space (1 System, 2 Interface ...), not IEs.
      this.slots[i] = v9 && i < p.scopeCount ? Slot.Skip : slotFor(this.ids[i]!, this.pens[i]!);
    }
    this.minLength = min;
    this.fixedLength = fixed;
    this.refreshedMs = nowMs;
    this.v9 = v9;
  }

  get fieldCount(): number {
    return this.ids.length;
  }

  /** Same layout as a template record just read (a refresh, not a redefinition). */
  sameLayout(o: ParsedTemplate): boolean {
    const n = this.ids.length;
    if (o.isOptions !== this.isOptions || o.scopeCount !== this.scopeCount || o.count !== n) return false;
    for (let i = 0; i < n; i++) {
      if (o.ids[i] !== this.ids[i] || o.lengths[i] !== this.lengths[i] || o.pens[i] !== this.pens[i]) return false;
    }
    return true;
  }
}
