import { malformed, ok, type ParseResult } from '../../util/result.js';
import { ipv4ToString, ipv6ToString } from '../../util/ip-format.js';
import { NAME_FLAG_REASONS, type NameReader } from './name.js';
import {
  TYPE_A, TYPE_AAAA, TYPE_CNAME, TYPE_MX, TYPE_NS, TYPE_OPT, TYPE_PTR, TYPE_SOA, TYPE_SRV, TYPE_TXT,
} from './constants.js';

/** Per-message budgets (all counted when they hit). */
export interface DnsMessageLimits {
  /** Questions decoded per message (QDCOUNT is 1 in practice). */
  readonly maxQuestions: number;
  /** Records decoded per section (answer, authority, additional). */
  readonly maxRecordsPerSection: number;
  /** Names decoded per message, owner names and names inside RDATA together. */
  readonly maxNamesPerMessage: number;
  /** Characters kept of one record's presentation data (TXT can be 64 KiB). */
  readonly maxDataChars: number;
}

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** RDLENGTH. */
  size: number;
  /** Presentation form for A, AAAA, CNAME, NS, PTR, MX, TXT, SOA, SRV; absent for other types. */
  data?: string;
}

/** The OPT pseudo-record (RFC 6891 §6.1.3). */
export interface DnsEdns {
  udpSize: number;
  /** DNSSEC OK bit. */
  do: boolean;
  version: number;
  /** Upper 8 bits of the 12-bit RCODE. */
  extendedRcode: number;
  options: number;
}

export interface DnsMessage {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  z: boolean;
  ad: boolean;
  cd: boolean;
  /** Full RCODE (EDNS extended bits included). */
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  edns: DnsEdns | undefined;
  /** Message length in bytes. */
  size: number;
  /** RDATA bytes of TXT records in the answer section. */
  txtBytes: number;
  names: number;
  /** Malformed-input reasons met while parsing (parsing stops at the first structural one). */
  problems: string[];
  /** Declared limits that hit. */
  limits: string[];
}

const HEADER = 12;

/** Last text made per slot for A-record addresses: answers repeat, and each text is a new string. */
const A_SLOTS = 1024;
const aKeys = new Float64Array(A_SLOTS).fill(-1);
const aTexts: string[] = new Array<string>(A_SLOTS).fill('');

function ipv4Text(a: number): string {
  const slot = Math.imul(a, 0x9e3779b1) >>> 22;
  if (aKeys[slot] === a) return aTexts[slot]!;
  const s = ipv4ToString(a);
  aKeys[slot] = a;
  aTexts[slot] = s;
  return s;
}

/** An empty message, for parseDnsMessage(…, into) to fill again and again. */
export function newDnsMessage(): DnsMessage {
  return {
    id: 0, qr: false, opcode: 0, aa: false, tc: false, rd: false, ra: false, z: false, ad: false, cd: false, rcode: 0,
    qdcount: 0, ancount: 0, nscount: 0, arcount: 0,
    questions: [], answers: [], edns: undefined, size: 0, txtBytes: 0, names: 0, problems: [], limits: [],
  };
}

/** A copy of a message that no later parse changes (for one that was parsed `into` a reused one). */
export function copyDnsMessage(m: DnsMessage): DnsMessage {
  return {
    ...m,
    // Records too: a message parsed `into` a reused one reuses its first question object.
    questions: m.questions.map((q) => ({ ...q })),
    answers: m.answers.map((a) => ({ ...a })),
    edns: m.edns ? { ...m.edns } : undefined,
    problems: m.problems.slice(),
    limits: m.limits.slice(),
  };
}

/**
 * Parses one DNS message `buf[off, off+len)`. Fails only when the 12-byte header is missing;
 * otherwise returns what could be decoded, with `problems` naming what was wrong (a malformed
 * name or record stops parsing, because nothing after it can be located reliably).
 *
 * `into`: a message to overwrite instead of allocating one (its lists are emptied and reused).
 * Messages were the DNS dissector's largest allocation, one per datagram; it keeps only copies of
 * the first query and response.
 */
export function parseDnsMessage(
  buf: Uint8Array,
  off: number,
  len: number,
  limits: DnsMessageLimits,
  names: NameReader,
  into?: DnsMessage,
): ParseResult<DnsMessage> {
  const end = Math.min(buf.length, off + len);
  if (end - off < HEADER) return malformed('header.short');
  const flags = (buf[off + 2]! << 8) | buf[off + 3]!;
  const m = into ?? newDnsMessage();
  m.id = (buf[off]! << 8) | buf[off + 1]!;
  m.qr = (flags & 0x8000) !== 0;
  m.opcode = (flags >> 11) & 0xf;
  m.aa = (flags & 0x0400) !== 0;
  m.tc = (flags & 0x0200) !== 0;
  m.rd = (flags & 0x0100) !== 0;
  m.ra = (flags & 0x0080) !== 0;
  m.z = (flags & 0x0040) !== 0;
  m.ad = (flags & 0x0020) !== 0;
  m.cd = (flags & 0x0010) !== 0;
  m.rcode = flags & 0xf;
  m.qdcount = (buf[off + 4]! << 8) | buf[off + 5]!;
  m.ancount = (buf[off + 6]! << 8) | buf[off + 7]!;
  m.nscount = (buf[off + 8]! << 8) | buf[off + 9]!;
  m.arcount = (buf[off + 10]! << 8) | buf[off + 11]!;
  // Fresh (shared, empty) lists rather than length = 0, which would also empty the reused
  // one-question list below.
  m.questions = NO_QUESTIONS;
  m.answers = NO_RECORDS;
  m.edns = undefined;
  m.size = end - off;
  m.txtBytes = 0;
  m.names = 0;
  m.problems.length = 0;
  m.limits.length = 0;
  const p = cursor;
  p.reset(buf, off, end, m, limits, names, into !== undefined);
  names.newMessage();
  p.run();
  names.endMessage();
  p.reset(EMPTY, 0, 0, m, limits, names, false); // keep no reference to the payload buffer
  return ok(m);
}

const EMPTY = new Uint8Array(0);
/** Empty section lists a message starts from; never pushed to (the first entry replaces them). */
const NO_QUESTIONS: DnsQuestion[] = [];
const NO_RECORDS: DnsRecord[] = [];

/**
 * Walks the sections; `pos` only moves forward and every loop is bounded by a count. One cursor
 * serves every parse (parsing never nests), reset for each message.
 */
class Cursor {
  pos = 0;
  buf: Uint8Array = EMPTY;
  start = 0;
  end = 0;
  m!: DnsMessage;
  limits!: DnsMessageLimits;
  names!: NameReader;

  /** Parsing into a reused message: its first question object and list are reused as well. */
  reuse = false;
  private readonly q0: DnsQuestion = { name: '', type: 0, class: 0 };
  private readonly q0List: DnsQuestion[] = [this.q0];

  reset(buf: Uint8Array, start: number, end: number, m: DnsMessage, limits: DnsMessageLimits, names: NameReader, reuse: boolean): void {
    this.reuse = reuse;
    this.buf = buf;
    this.start = start;
    this.end = end;
    this.m = m;
    this.limits = limits;
    this.names = names;
    this.pos = start + HEADER;
  }

  run(): void {
    const m = this.m;
    const qn = Math.min(m.qdcount, this.limits.maxQuestions);
    for (let i = 0; i < qn; i++) if (!this.question()) return;
    if (m.qdcount > qn) {
      // Questions beyond the budget cannot be skipped without decoding them: stop here.
      m.limits.push('questions');
      return;
    }
    if (!this.section(m.ancount, 'answer')) return;
    if (!this.section(m.nscount, 'authority')) return;
    this.section(m.arcount, 'additional');
  }

  /** Decodes a name at `at`; records problems. Returns undefined when it was malformed. */
  private name(at: number): string | undefined {
    const m = this.m;
    if (m.names >= this.limits.maxNamesPerMessage) {
      m.limits.push('names');
      return undefined;
    }
    m.names++;
    if (this.names.read(this.buf, this.start, this.end, at)) return this.names.name;
    for (const [bit, reason] of NAME_FLAG_REASONS) if (this.names.flags & bit) m.problems.push(reason);
    return undefined;
  }

  private question(): boolean {
    const name = this.name(this.pos);
    if (name === undefined) return false;
    const p = this.names.end;
    if (p + 4 > this.end) {
      this.m.problems.push('question.truncated');
      return false;
    }
    const b = this.buf;
    const type = (b[p]! << 8) | b[p + 1]!;
    const cls = (b[p + 2]! << 8) | b[p + 3]!;
    const m = this.m;
    if (m.questions.length === 0 && this.reuse) {
      // Every datagram has a question: the reused message keeps one object and list for it.
      const q = this.q0;
      q.name = name;
      q.type = type;
      q.class = cls;
      m.questions = this.q0List;
    } else {
      const q: DnsQuestion = { name, type, class: cls };
      // An exact one-entry array for the usual single question ([] would reserve 17 slots).
      if (m.questions.length === 0) m.questions = [q];
      else if (m.questions === this.q0List) m.questions = [{ ...this.q0 }, q];
      else m.questions.push(q);
    }
    this.pos = p + 4;
    return true;
  }

  private section(count: number, which: 'answer' | 'authority' | 'additional'): boolean {
    const n = Math.min(count, this.limits.maxRecordsPerSection);
    for (let i = 0; i < n; i++) if (!this.record(which)) return false;
    if (count > n) {
      this.m.limits.push('records');
      return false;
    }
    return true;
  }

  private record(which: 'answer' | 'authority' | 'additional'): boolean {
    const m = this.m;
    const b = this.buf;
    const owner = this.name(this.pos);
    if (owner === undefined) return false;
    const p = this.names.end;
    if (p + 10 > this.end) {
      m.problems.push('record.truncated');
      return false;
    }
    const type = (b[p]! << 8) | b[p + 1]!;
    const cls = (b[p + 2]! << 8) | b[p + 3]!;
    const ttlRaw = ((b[p + 4]! << 24) >>> 0) + ((b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!);
    const rdlen = (b[p + 8]! << 8) | b[p + 9]!;
    const rd = p + 10;
    if (rd + rdlen > this.end) {
      m.problems.push('rdata.truncated');
      return false;
    }
    this.pos = rd + rdlen;
    if (type === TYPE_OPT) {
      if (which !== 'additional' || m.edns) m.problems.push('opt.misplaced');
      else {
        m.edns = { udpSize: cls, extendedRcode: ttlRaw >>> 24, version: (ttlRaw >>> 16) & 0xff, do: (ttlRaw & 0x8000) !== 0, options: this.countOptions(rd, rdlen) };
        m.rcode |= m.edns.extendedRcode << 4;
      }
      return true;
    }
    if (which !== 'answer') return true;
    // RFC 2181 §8: a TTL with the top bit set is treated as zero.
    const rec: DnsRecord = { name: owner, type, class: cls, ttl: ttlRaw > 0x7fffffff ? 0 : ttlRaw, size: rdlen };
    if (type === TYPE_TXT) m.txtBytes += rdlen;
    const data = this.rdata(type, rd, rdlen);
    if (data === null) return false;
    if (data !== undefined) rec.data = data;
    if (m.answers.length === 0) m.answers = [rec];
    else m.answers.push(rec);
    return true;
  }

  /** EDNS options in the OPT RDATA (bounded by its length: each option takes ≥ 4 bytes). */
  private countOptions(at: number, len: number): number {
    let n = 0;
    let p = at;
    const e = at + len;
    while (p + 4 <= e) {
      const olen = (this.buf[p + 2]! << 8) | this.buf[p + 3]!;
      p += 4 + olen;
      n++;
    }
    if (p !== e) this.m.problems.push('opt.option_truncated');
    return n;
  }

  /** Presentation data; undefined for types not decoded, null when the RDATA was malformed. */
  private rdata(type: number, at: number, len: number): string | undefined | null {
    const b = this.buf;
    switch (type) {
      case TYPE_A:
        if (len !== 4) return this.bad('rdata.a_length');
        return ipv4Text((((b[at]! << 24) >>> 0) + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!)) >>> 0);
      case TYPE_AAAA: {
        if (len !== 16) return this.bad('rdata.aaaa_length');
        const w = (i: number): number => (((b[at + i]! << 24) >>> 0) + ((b[at + i + 1]! << 16) | (b[at + i + 2]! << 8) | b[at + i + 3]!)) >>> 0;
        return ipv6ToString(w(0), w(4), w(8), w(12));
      }
      case TYPE_CNAME:
      case TYPE_NS:
      case TYPE_PTR:
        return this.nameWithin(at, len);
      case TYPE_MX: {
        if (len < 3) return this.bad('rdata.mx_length');
        const host = this.nameWithin(at + 2, len - 2);
        return host === null ? null : `${(b[at]! << 8) | b[at + 1]!} ${host}`;
      }
      case TYPE_SRV: {
        if (len < 7) return this.bad('rdata.srv_length');
        const host = this.nameWithin(at + 6, len - 6);
        if (host === null) return null;
        return `${(b[at]! << 8) | b[at + 1]!} ${(b[at + 2]! << 8) | b[at + 3]!} ${(b[at + 4]! << 8) | b[at + 5]!} ${host}`;
      }
      case TYPE_SOA: {
        const mname = this.nameWithin(at, len);
        if (mname === null) return null;
        const p1 = this.names.end;
        const rname = this.nameWithin(p1, at + len - p1);
        if (rname === null) return null;
        const p = this.names.end;
        if (p + 20 !== at + len) return this.bad('rdata.soa_length');
        const u32 = (i: number): number => ((b[p + i]! << 24) >>> 0) + ((b[p + i + 1]! << 16) | (b[p + i + 2]! << 8) | b[p + i + 3]!);
        return `${mname} ${rname} ${u32(0)} ${u32(4)} ${u32(8)} ${u32(12)} ${u32(16)}`;
      }
      case TYPE_TXT:
        return this.txt(at, len);
      default:
        return undefined;
    }
  }

  private bad(reason: string): null {
    this.m.problems.push(reason);
    return null;
  }

  /** A name that must end inside `[at, at+len)` (its pointers may reach earlier bytes). */
  private nameWithin(at: number, len: number): string | null {
    const name = this.name(at);
    if (name === undefined) return null;
    if (this.names.end > at + len) return this.bad('rdata.name_overrun');
    return name;
  }

  /** TXT character-strings concatenated (RFC 7208 §3.3 semantics), escaped and capped. */
  private txt(at: number, len: number): string | null {
    const b = this.buf;
    const cap = this.limits.maxDataChars;
    let out = '';
    let p = at;
    const e = at + len;
    while (p < e) {
      const l = b[p]!;
      if (p + 1 + l > e) return this.bad('rdata.txt_overrun');
      for (let i = p + 1; i < p + 1 + l && out.length < cap; i++) {
        const c = b[i]!;
        out += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`;
      }
      p += 1 + l;
    }
    if (out.length >= cap) this.m.limits.push('data_chars');
    return out;
  }
}

const cursor = new Cursor();
