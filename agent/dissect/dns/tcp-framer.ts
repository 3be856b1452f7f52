import type { Direction } from '../../flow/flow-observer.js';

/**
 * Receives one framed message: `whole` is false when the message was longer than the cap and
 * only its first `cap` bytes are given. Return false to stop framing the flow.
 */
export type OnFrame = (buf: Uint8Array, off: number, len: number, whole: boolean) => boolean;

const LEN = 0;
const BODY = 1;
const SKIP = 2;

class Direction1 {
  state = LEN;
  lenHi = -1;
  need = 0;
  keep = 0;
  have = 0;
  skip = 0;
  data: Uint8Array | null = null;
  dead = false;
}

/**
 * Splits each direction of a TCP stream into messages with a 2-byte big-endian length prefix
 * (DNS over TCP, RFC 1035 §4.2.2 / RFC 7766). Works for any chunking of the stream: messages
 * inside one chunk are passed without copying; a message split across chunks is copied into a
 * buffer of at most `cap` bytes. Anything longer is passed truncated, and its tail skipped.
 */
export class TcpFramer {
  private readonly dirs: [Direction1, Direction1] = [new Direction1(), new Direction1()];
  /** Set once a callback returned false. */
  rejected = false;

  constructor(readonly cap: number) {}

  /** Bytes were lost in a direction: its framing can no longer be trusted. */
  lose(dir: Direction): void {
    this.dirs[dir].dead = true;
    this.dirs[dir].data = null;
  }

  dead(): boolean {
    return this.dirs[0].dead && this.dirs[1].dead;
  }

  push(dir: Direction, buf: Uint8Array, off: number, len: number, onFrame: OnFrame): void {
    const d = this.dirs[dir];
    let p = off;
    const e = Math.min(buf.length, off + len);
    // Every iteration consumes at least one byte or delivers a frame that consumes `need` bytes.
    while (p < e && !d.dead && !this.rejected) {
      if (d.state === LEN) {
        let n: number;
        if (d.lenHi < 0) {
          if (e - p >= 2) {
            n = (buf[p]! << 8) | buf[p + 1]!;
            p += 2;
          } else {
            d.lenHi = buf[p]!;
            p++;
            continue;
          }
        } else {
          n = (d.lenHi << 8) | buf[p]!;
          d.lenHi = -1;
          p++;
        }
        d.need = n;
        d.keep = Math.min(n, this.cap);
        d.have = 0;
        d.state = BODY;
        if (n === 0) {
          d.state = LEN;
          if (!onFrame(buf, p, 0, true)) this.rejected = true;
        }
        continue;
      }
      if (d.state === SKIP) {
        const n = Math.min(d.skip, e - p);
        d.skip -= n;
        p += n;
        if (d.skip === 0) d.state = LEN;
        continue;
      }
      // BODY
      if (d.have === 0 && e - p >= d.need && d.need === d.keep) {
        const n = d.need;
        d.state = LEN;
        if (!onFrame(buf, p, n, true)) this.rejected = true;
        p += n;
        continue;
      }
      if (!d.data || d.data.length < d.keep) d.data = new Uint8Array(d.keep);
      const n = Math.min(d.keep - d.have, e - p);
      d.data.set(buf.subarray(p, p + n), d.have);
      d.have += n;
      p += n;
      if (d.have === d.keep) {
        const whole = d.keep === d.need;
        if (whole) d.state = LEN;
        else {
          d.skip = d.need - d.keep;
          d.state = SKIP;
        }
        if (!onFrame(d.data, 0, d.keep, whole)) this.rejected = true;
      }
    }
  }
}
