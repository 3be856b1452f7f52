import { writeFileSync } from 'node:fs';

export interface FrameAt {
  tsUs: number;
  frame: Uint8Array;
  /** Wire length when the frame was cut by a snap length. */
  wireLen?: number;
}

/** Writes a classic little-endian µs pcap (or ns with `nano`) of the given link type. */
export function writePcap(path: string, frames: readonly FrameAt[], linkType = 1, nano = false): void {
  const parts: Buffer[] = [];
  const h = Buffer.alloc(24);
  h.writeUInt32LE(nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(linkType, 20);
  parts.push(h);
  for (const f of frames) {
    const r = Buffer.alloc(16);
    const sec = Math.floor(f.tsUs / 1e6);
    const frac = nano ? Math.round((f.tsUs - sec * 1e6) * 1000) : Math.round(f.tsUs - sec * 1e6);
    r.writeUInt32LE(sec, 0);
    r.writeUInt32LE(frac, 4);
    r.writeUInt32LE(f.frame.length, 8);
    r.writeUInt32LE(f.wireLen ?? f.frame.length, 12);
    parts.push(r, Buffer.from(f.frame));
  }
  writeFileSync(path, Buffer.concat(parts));
}
