import type { RawPacket } from '../raw-packet.js';
import { bump, MAX_FRAME_BYTES, type CaptureReader } from './capture-reader.js';
import type { ChunkedFile } from './chunked-file.js';

/** pcapng block types we read; all others are skipped by their length (and counted). */
const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const PB_OBSOLETE = 0x00000002;
const SPB = 0x00000003;
const EPB = 0x00000006;

/** Largest block we accept. A longer length field means a corrupt file (we stop reading it). */
const MAX_BLOCK_BYTES = MAX_FRAME_BYTES + 64 * 1024;
/** Interfaces per section; a file declaring more is hostile. */
const MAX_INTERFACES = 1024;
/** Options per block we look at. */
const MAX_OPTIONS = 256;

interface Interface {
  linkType: number;
  snapLen: number;
  /** Multiply a raw timestamp by this to get microseconds. */
  toUs: number;
  /** if_tsoffset in microseconds. */
  offsetUs: number;
}

/**
 * pcapng (draft-ietf-opsawg-pcapng): several sections, several interfaces with their own link
 * types and timestamp resolutions, enhanced/simple/obsolete packet blocks. Each section declares
 * its byte order in the SHB.
 */
export class PcapngReader implements CaptureReader {
  readonly format = 'pcapng';
  readonly errors = new Map<string, number>();
  readonly skipped = new Map<string, number>();
  private little = true;
  private interfaces: Interface[] = [];
  private done = false;
  private lastTsUs = 0;

  constructor(private readonly file: ChunkedFile) {}

  get offset(): number {
    return this.file.offset;
  }

  private u16(o: number): number {
    return this.little ? this.file.buf.readUInt16LE(o) : this.file.buf.readUInt16BE(o);
  }

  private u32(o: number): number {
    return this.little ? this.file.buf.readUInt32LE(o) : this.file.buf.readUInt32BE(o);
  }

  private stop(kind: string): false {
    bump(this.errors, kind);
    this.done = true;
    return false;
  }

  next(p: RawPacket): boolean {
    const f = this.file;
    // Bounded by the file size: every iteration consumes at least 12 bytes or stops.
    while (!this.done) {
      if (!f.ensure(12)) return f.available > 0 ? this.stop('pcapng.truncated_block_header') : ((this.done = true), false);
      let o = f.pos;
      const type = f.buf.readUInt32BE(o) === SHB ? SHB : this.u32(o);
      if (type === SHB) {
        if (!this.readSectionHeader()) return false;
        continue;
      }
      const len = this.u32(o + 4);
      if (len < 12 || len % 4 !== 0) return this.stop('pcapng.bad_block_length');
      if (len > MAX_BLOCK_BYTES) {
        // Unknown huge blocks (e.g. custom ones) can be skipped without buffering them.
        if (type === EPB || type === SPB || type === IDB || type === PB_OBSOLETE) return this.stop('pcapng.block_too_large');
        bump(this.skipped, `pcapng.block_0x${type.toString(16)}`);
        if (!f.skip(len)) return this.stop('pcapng.truncated_block');
        continue;
      }
      if (!f.ensure(len)) return this.stop('pcapng.truncated_block');
      o = f.pos; // ensure() may have moved the unread bytes to the front of the buffer
      if (this.u32(o + len - 4) !== len) return this.stop('pcapng.trailing_length_mismatch');
      let delivered = false;
      if (type === EPB) delivered = this.readPacketBlock(p, o, len, false);
      else if (type === SPB) delivered = this.readSimple(p, o, len);
      else if (type === IDB) this.readInterface(o, len);
      else if (type === PB_OBSOLETE) delivered = this.readPacketBlock(p, o, len, true);
      else bump(this.skipped, `pcapng.block_0x${type.toString(16)}`);
      f.pos = o + len;
      if (delivered) return true;
    }
    return false;
  }

  private readSectionHeader(): boolean {
    const f = this.file;
    if (!f.ensure(28)) return this.stop('pcapng.truncated_section_header');
    const o = f.pos;
    const bom = f.buf.readUInt32LE(o + 8);
    if (bom === 0x1a2b3c4d) this.little = true;
    else if (bom === 0x4d3c2b1a) this.little = false;
    else return this.stop('pcapng.bad_byte_order_magic');
    const len = this.u32(o + 4);
    if (len < 28 || len % 4 !== 0 || len > MAX_BLOCK_BYTES) return this.stop('pcapng.bad_block_length');
    if (!f.ensure(len)) return this.stop('pcapng.truncated_section_header');
    this.interfaces = [];
    f.pos += len;
    return true;
  }

  private readInterface(o: number, len: number): void {
    if (len < 20) {
      bump(this.errors, 'pcapng.short_interface_block');
      return;
    }
    if (this.interfaces.length >= MAX_INTERFACES) {
      bump(this.errors, 'pcapng.too_many_interfaces');
      return;
    }
    const iface: Interface = { linkType: this.u16(o + 8), snapLen: this.u32(o + 12), toUs: 1, offsetUs: 0 };
    const b = this.file.buf;
    // Options: code(2) length(2) value padded to 4, ended by opt_endofopt or the block end.
    let q = o + 16;
    const end = o + len - 4;
    for (let i = 0; i < MAX_OPTIONS && q + 4 <= end; i++) {
      const code = this.u16(q);
      const olen = this.u16(q + 2);
      if (code === 0) break;
      if (q + 4 + olen > end) {
        bump(this.errors, 'pcapng.bad_option_length');
        break;
      }
      if (code === 9 && olen >= 1) {
        // if_tsresol: MSB clear = negative power of 10, set = negative power of 2.
        const v = b[q + 4]!;
        const exp = v & 0x7f;
        const unitsPerSec = v & 0x80 ? 2 ** exp : 10 ** exp;
        iface.toUs = 1e6 / unitsPerSec;
      } else if (code === 14 && olen >= 8) {
        const hi = this.u32(q + 4 + (this.little ? 4 : 0));
        const lo = this.u32(q + 4 + (this.little ? 0 : 4));
        // Signed 64-bit seconds; offsets beyond 2^53 s are nonsense anyway.
        iface.offsetUs = ((hi | 0) * 4294967296 + lo) * 1e6;
      }
      q += 4 + ((olen + 3) & ~3);
    }
    this.interfaces.push(iface);
  }

  private fill(p: RawPacket, iface: Interface, data: number, capLen: number, wireLen: number, ifIndex: number): void {
    p.buf = this.file.buf;
    p.off = data;
    p.capLen = capLen;
    p.wireLen = wireLen < capLen ? capLen : wireLen;
    p.linkType = iface.linkType;
    p.ifIndex = ifIndex;
  }

  /**
   * Enhanced (EPB) and obsolete (PB) packet blocks share their layout but for the interface id:
   * 32 bits in an EPB, 16 bits (followed by a drop count) in a PB.
   */
  private readPacketBlock(p: RawPacket, o: number, len: number, obsolete: boolean): boolean {
    if (len < 32) return this.skipBad('pcapng.short_packet_block');
    const ifIndex = obsolete ? this.u16(o + 8) : this.u32(o + 8);
    const iface = this.interfaces[ifIndex];
    if (!iface) return this.skipBad('pcapng.unknown_interface');
    const capLen = this.u32(o + 20);
    if (capLen > len - 32) return this.skipBad('pcapng.captured_length_exceeds_block');
    const ts = this.u32(o + 12) * 4294967296 + this.u32(o + 16);
    this.fill(p, iface, o + 28, capLen, this.u32(o + 24), ifIndex);
    p.tsUs = this.lastTsUs = ts * iface.toUs + iface.offsetUs;
    return true;
  }

  private readSimple(p: RawPacket, o: number, len: number): boolean {
    if (len < 16) return this.skipBad('pcapng.short_packet_block');
    const iface = this.interfaces[0];
    if (!iface) return this.skipBad('pcapng.unknown_interface');
    const wireLen = this.u32(o + 8);
    let capLen = Math.min(wireLen, len - 16);
    if (iface.snapLen > 0) capLen = Math.min(capLen, iface.snapLen);
    this.fill(p, iface, o + 12, capLen, wireLen, 0);
    // Simple packet blocks carry no timestamp: reuse the last one seen (keeps time monotonic).
    p.tsUs = this.lastTsUs;
    return true;
  }

  private skipBad(kind: string): false {
    bump(this.errors, kind);
    return false;
  }

  close(): void {
    this.file.close();
  }
}
