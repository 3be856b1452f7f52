import { writeFileSync } from 'node:fs';

/** Blocks for a hand-made pcapng (tests of interfaces, resolutions, byte orders, odd blocks). */
export type PcapngBlock =
  | { kind: 'idb'; linkType: number; snapLen?: number; tsresol?: number; tsoffset?: number }
  | { kind: 'epb'; ifIndex: number; ts: bigint; frame: Uint8Array; wireLen?: number }
  | { kind: 'spb'; frame: Uint8Array; wireLen?: number }
  | { kind: 'raw'; type: number; body: Uint8Array };

class Out {
  parts: Buffer[] = [];
  constructor(readonly little: boolean) {}
  u16(v: number): Buffer {
    const b = Buffer.alloc(2);
    if (this.little) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return b;
  }
  u32(v: number): Buffer {
    const b = Buffer.alloc(4);
    if (this.little) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return b;
  }
  block(type: number, body: Buffer): void {
    const pad = Buffer.alloc((4 - (body.length % 4)) % 4);
    const len = 12 + body.length + pad.length;
    this.parts.push(this.u32(type), this.u32(len), body, pad, this.u32(len));
  }
}

function option(o: Out, code: number, value: Buffer): Buffer {
  const pad = Buffer.alloc((4 - (value.length % 4)) % 4);
  return Buffer.concat([o.u16(code), o.u16(value.length), value, pad]);
}

/** Writes one section with the given blocks; `little` picks the section's byte order. */
export function writePcapng(path: string, blocks: readonly PcapngBlock[], little = true): void {
  const o = new Out(little);
  // SHB: byte-order magic, version 1.0, section length unknown (-1).
  o.block(0x0a0d0d0a, Buffer.concat([o.u32(0x1a2b3c4d), o.u16(1), o.u16(0), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]));
  for (const b of blocks) {
    if (b.kind === 'idb') {
      const opts: Buffer[] = [];
      if (b.tsresol !== undefined) opts.push(option(o, 9, Buffer.from([b.tsresol])));
      if (b.tsoffset !== undefined) {
        const v = Buffer.alloc(8);
        if (little) v.writeBigInt64LE(BigInt(b.tsoffset));
        else v.writeBigInt64BE(BigInt(b.tsoffset));
        opts.push(option(o, 14, v));
      }
      if (opts.length) opts.push(o.u32(0));
      o.block(1, Buffer.concat([o.u16(b.linkType), o.u16(0), o.u32(b.snapLen ?? 262144), ...opts]));
    } else if (b.kind === 'epb') {
      const hi = Number(b.ts >> 32n);
      const lo = Number(b.ts & 0xffffffffn);
      o.block(6, Buffer.concat([o.u32(b.ifIndex), o.u32(hi), o.u32(lo), o.u32(b.frame.length), o.u32(b.wireLen ?? b.frame.length), Buffer.from(b.frame)]));
    } else if (b.kind === 'spb') {
      o.block(3, Buffer.concat([o.u32(b.wireLen ?? b.frame.length), Buffer.from(b.frame)]));
    } else {
      o.block(b.type, Buffer.from(b.body));
    }
  }
  writeFileSync(path, Buffer.concat(o.parts));
}
