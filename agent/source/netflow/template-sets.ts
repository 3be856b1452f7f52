import { countError, NetflowError, type NetflowCounters } from './counters.js';

/** A template record as read from the wire, before it becomes a Template. */
export interface ParsedTemplate {
  id: number;
  isOptions: boolean;
  scopeCount: number;
  /** Field count; the arrays below hold `count` valid entries. */
  count: number;
  ids: Uint16Array;
  lengths: Uint16Array;
  pens: Uint32Array;
}

/** What the set parser reports for each template record. */
export interface TemplateSink {
  /** A template definition (the arrays are reused: copy what you keep). */
  template(t: ParsedTemplate): void;
  /** IPFIX withdrawal of one template id. */
  withdraw(id: number): void;
  /** IPFIX "all data templates" (set 2) or "all options templates" (set 3) withdrawal. */
  withdrawAll(options: boolean): void;
}

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
}

/**
 * Parses template records out of template sets. One instance per decoder: the field arrays are
 * allocated once at `maxFields` and reused, so a refresh of a known template allocates nothing.
 */
export class TemplateSetParser {
  private readonly t: ParsedTemplate;

  constructor(
    private readonly maxFields: number,
    private readonly c: NetflowCounters,
  ) {
    this.t = {
      id: 0,
      isOptions: false,
      scopeCount: 0,
      count: 0,
      ids: new Uint16Array(maxFields),
      lengths: new Uint16Array(maxFields),
      pens: new Uint32Array(maxFields),
    };
  }

  /**
   * IPFIX template (set 2) or options template (set 3) set body `b[p, end)` (RFC 7011 §3.4).
   * Stops at the first record it cannot trust; trailing bytes shorter than a record header are
   * padding.
   */
  ipfix(b: Uint8Array, p: number, end: number, options: boolean, sink: TemplateSink): void {
    const t = this.t;
    // Each pass consumes ≥ 4 bytes, so the loop ends within (end - p) / 4 passes.
    while (end - p >= 4) {
      const id = u16(b, p);
      const count = u16(b, p + 2);
      p += 4;
      if (count === 0) {
        // RFC 7011 §8.1: field count 0 is a withdrawal; id 2/3 (the set id) withdraws all.
        if (id === (options ? 3 : 2)) sink.withdrawAll(options);
        else if (id >= 256) sink.withdraw(id);
        else if (id !== 0) countError(this.c, NetflowError.badTemplateId);
        // id 0 with count 0: zero padding up to the set end.
        continue;
      }
      if (id < 256) {
        countError(this.c, NetflowError.badTemplateId);
        return;
      }
      let scope = 0;
      if (options) {
        if (end - p < 2) {
          countError(this.c, NetflowError.truncatedTemplate);
          return;
        }
        scope = u16(b, p);
        p += 2;
      }
      if (count > this.maxFields) {
        countError(this.c, NetflowError.templateTooManyFields);
        return;
      }
      for (let i = 0; i < count; i++) {
        if (end - p < 4) {
          countError(this.c, NetflowError.truncatedTemplate);
          return;
        }
        let fid = u16(b, p);
        t.lengths[i] = u16(b, p + 2);
        p += 4;
        let pen = 0;
        if (fid & 0x8000) {
          if (end - p < 4) {
            countError(this.c, NetflowError.truncatedTemplate);
            return;
          }
          pen = u32(b, p);
          p += 4;
          fid &= 0x7fff;
        }
        t.ids[i] = fid;
        t.pens[i] = pen;
      }
      if (options && (scope === 0 || scope > count)) {
        countError(this.c, NetflowError.badScopeCount);
        continue;
      }
      t.id = id;
      t.isOptions = options;
      t.scopeCount = scope;
      t.count = count;
      sink.template(t);
    }
  }

  /** NetFlow v9 template FlowSet (id 0) body (RFC 3954 §5.2). */
  v9Templates(b: Uint8Array, p: number, end: number, sink: TemplateSink): void {
    // Each pass consumes ≥ 4 bytes, so the loop ends within (end - p) / 4 passes.
    while (end - p >= 4) {
      const id = u16(b, p);
      const count = u16(b, p + 2);
      p += 4;
      if (id === 0 && count === 0) return; // padding
      if (id < 256) {
        countError(this.c, NetflowError.badTemplateId);
        return;
      }
      p = this.v9Fields(b, p, end, id, count, false, 0, sink);
      if (p < 0) return;
    }
  }

  /** NetFlow v9 options template FlowSet (id 1) body (RFC 3954 §6.1): lengths are in bytes. */
  v9Options(b: Uint8Array, p: number, end: number, sink: TemplateSink): void {
    // Each pass consumes ≥ 6 bytes, so the loop ends within (end - p) / 6 passes.
    while (end - p >= 6) {
      const id = u16(b, p);
      const scopeBytes = u16(b, p + 2);
      const optionBytes = u16(b, p + 4);
      p += 6;
      if (id === 0) return; // padding
      if (id < 256) {
        countError(this.c, NetflowError.badTemplateId);
        return;
      }
      if (scopeBytes % 4 !== 0 || optionBytes % 4 !== 0) {
        countError(this.c, NetflowError.badScopeCount);
        return;
      }
      const scope = scopeBytes / 4;
      p = this.v9Fields(b, p, end, id, scope + optionBytes / 4, true, scope, sink);
      if (p < 0) return;
    }
  }

  /**
   * The `count` field specifiers (type, length) at `p` of a v9 template or options template: hands
   * the template to the sink and returns the offset after them, the same offset for a template
   * without fields (counted, skipped), or -1 when the rest of the FlowSet cannot be trusted.
   */
  private v9Fields(b: Uint8Array, p: number, end: number, id: number, count: number, isOptions: boolean, scope: number, sink: TemplateSink): number {
    if (count === 0) {
      countError(this.c, NetflowError.templateNoFields);
      return p;
    }
    if (count > this.maxFields) {
      countError(this.c, NetflowError.templateTooManyFields);
      return -1;
    }
    if (end - p < count * 4) {
      countError(this.c, NetflowError.truncatedTemplate);
      return -1;
    }
    const t = this.t;
    for (let i = 0; i < count; i++) {
      t.ids[i] = u16(b, p);
      t.lengths[i] = u16(b, p + 2);
      t.pens[i] = 0;
      p += 4;
    }
    t.id = id;
    t.isOptions = isOptions;
    t.scopeCount = scope;
    t.count = count;
    sink.template(t);
    return p;
  }
}
