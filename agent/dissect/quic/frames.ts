import { varintAt } from './header.js';

/**
 * Frames allowed in Initial packets (RFC 9000 §12.4, Table 3): PADDING, PING, ACK, CRYPTO,
 * CONNECTION_CLOSE (0x1c). gQUIC Q050/T05x Initials use the same frame numbering. Anything else
 * ends the walk of that packet and is reported.
 */
export interface FrameSink {
  crypto(offset: number, buf: Uint8Array, off: number, len: number): void;
  close(errorCode: number, frameType: number, reason: Uint8Array): void;
}

export interface FrameWalk {
  frames: number;
  cryptoFrames: number;
  ping: number;
  ack: number;
  /** Reason label when the walk stopped early (`frame.unknown_type`, `frame.truncated`, `limit.frames`), else ''. */
  stop: string;
}

const SZ = new Int32Array(1);

/**
 * Walks the frames of a decrypted Initial payload, bounded by `maxFrames` and `maxAckRanges`.
 * `gquic`: Q050/T050/T051 numbering (Wireshark packet-gquic.c): 0x00 PADDING to the end,
 * 0x07 PING, 0x08 CRYPTO (varint offset, varint length); other gQUIC frames end the walk.
 */
export function walkInitialFrames(
  p: Uint8Array,
  sink: FrameSink,
  maxFrames: number,
  maxAckRanges: number,
  out: FrameWalk,
  gquic = false,
): FrameWalk {
  out.frames = 0;
  out.cryptoFrames = 0;
  out.ping = 0;
  out.ack = 0;
  out.stop = '';
  const end = p.length;
  let i = 0;
  // Every iteration consumes at least one byte, so the walk is bounded by the payload length too.
  while (i < end) {
    const type = p[i]!;
    if (type === 0x00) {
      // A run of PADDING counts as one frame; in gQUIC it fills the rest of the packet.
      if (gquic) i = end;
      while (i < end && p[i] === 0) i++;
      out.frames++;
      continue;
    }
    if (out.frames >= maxFrames) {
      out.stop = 'limit.frames';
      return out;
    }
    out.frames++;
    i++;
    if (gquic && type !== 0x07 && type !== 0x08) return stop(out, 'frame.gquic_unsupported');
    if (type === (gquic ? 0x07 : 0x01)) {
      out.ping++;
      continue;
    }
    if (type === (gquic ? 0x08 : 0x06)) {
      const off = varintAt(p, i, end, SZ);
      if (off < 0) return stop(out, 'frame.truncated');
      i += SZ[0]!;
      const len = varintAt(p, i, end, SZ);
      if (len < 0) return stop(out, 'frame.truncated');
      i += SZ[0]!;
      if (len > end - i) return stop(out, 'frame.truncated');
      out.cryptoFrames++;
      sink.crypto(off, p, i, len);
      i += len;
      continue;
    }
    if (type === 0x02 || type === 0x03) {
      out.ack++;
      // Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range.
      let v = 0;
      let count = 0;
      for (let k = 0; k < 4; k++) {
        v = varintAt(p, i, end, SZ);
        if (v < 0) return stop(out, 'frame.truncated');
        i += SZ[0]!;
        if (k === 2) count = v;
      }
      if (count > maxAckRanges) return stop(out, 'limit.ack_ranges');
      const extra = count * 2 + (type === 0x03 ? 3 : 0);
      for (let k = 0; k < extra; k++) {
        v = varintAt(p, i, end, SZ);
        if (v < 0) return stop(out, 'frame.truncated');
        i += SZ[0]!;
      }
      continue;
    }
    if (type === 0x1c || type === 0x1d) {
      const code = varintAt(p, i, end, SZ);
      if (code < 0) return stop(out, 'frame.truncated');
      i += SZ[0]!;
      let ft = -1;
      if (type === 0x1c) {
        ft = varintAt(p, i, end, SZ);
        if (ft < 0) return stop(out, 'frame.truncated');
        i += SZ[0]!;
      }
      const rl = varintAt(p, i, end, SZ);
      if (rl < 0) return stop(out, 'frame.truncated');
      i += SZ[0]!;
      if (rl > end - i) return stop(out, 'frame.truncated');
      sink.close(code, ft, p.subarray(i, i + rl));
      i += rl;
      continue;
    }
    return stop(out, 'frame.unknown_type');
  }
  return out;
}

function stop(out: FrameWalk, reason: string): FrameWalk {
  out.stop = reason;
  return out;
}
