import t from 'tap';
import { TcpReassembly, type StreamSink } from '../agent/flow/tcp-stream.js';

class Recorder implements StreamSink {
  chunks: number[][] = [];
  gaps: number[] = [];
  deliver(_slot: number, buf: Uint8Array, off: number, len: number): void {
    this.chunks.push([...buf.subarray(off, off + len)]);
  }
  gap(_slot: number, lost: number): void {
    this.gaps.push(lost);
  }
  get bytes(): number[] {
    return this.chunks.flat();
  }
}

const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7 + 3) & 0xff);

/** One stream (slot 3 of a small table, to catch slot arithmetic mistakes) with a test API. */
class One {
  constructor(readonly t: TcpReassembly) {}
  segment(seq: number, syn: boolean, buf: Uint8Array, off: number, len: number): void {
    if (syn) {
      this.t.syn(3, seq);
      if (len > 0) this.t.segment(3, (seq + 1) >>> 0, buf, off, len);
      return;
    }
    this.t.segment(3, seq, buf, off, len);
  }
  get retransmits(): number {
    return this.t.counters(3).retransmits;
  }
  get outOfOrder(): number {
    return this.t.counters(3).outOfOrder;
  }
  get done(): boolean {
    const before = this.t.counters(3).delivered;
    this.t.segment(3, 0, data, 0, 1); // anything: a finished stream ignores it
    return this.t.counters(3).delivered === before;
  }
}

function stream(budget = 1 << 20, pending = 1 << 20): { s: One; r: Recorder } {
  const r = new Recorder();
  return { s: new One(new TcpReassembly(4, budget, pending, r)), r };
}

t.test('in-order segments pass straight through', async (t) => {
  const { s, r } = stream();
  s.segment(999, true, data, 0, 0); // SYN, ISN 999
  s.segment(1000, false, data, 0, 100);
  s.segment(1100, false, data, 100, 50);
  t.same(r.bytes, [...data.subarray(0, 150)]);
  t.equal(s.retransmits, 0);
});

t.test('out-of-order segments wait for the gap; retransmissions and overlaps are trimmed', async (t) => {
  const { s, r } = stream();
  s.segment(0, true, data, 0, 0);
  s.segment(201, false, data, 200, 100); // ahead
  s.segment(101, false, data, 100, 100); // ahead
  t.same(r.bytes, [], 'nothing before the first bytes arrive');
  s.segment(1, false, data, 0, 100);
  t.same(r.bytes, [...data.subarray(0, 300)], 'the held segments follow in order');
  s.segment(1, false, data, 0, 100); // full retransmission
  s.segment(251, false, data, 250, 100); // overlaps 50 old bytes
  t.same(r.bytes, [...data.subarray(0, 350)]);
  t.equal(s.retransmits, 2);
  t.equal(s.outOfOrder, 2);
});

t.test('the byte budget stops delivery for good', async (t) => {
  const { s, r } = stream(120);
  s.segment(0, false, data, 0, 100);
  s.segment(100, false, data, 100, 100);
  s.segment(200, false, data, 200, 100);
  t.equal(r.bytes.length, 120);
  t.equal(s.done, true, 'nothing is delivered after the budget');
  t.same(r.bytes, [...data.subarray(0, 120)]);
});

t.test('a gap that never fills is skipped once the pending cap is reached', async (t) => {
  const { s, r } = stream(1 << 20, 250);
  s.segment(0, false, data, 0, 100);
  s.segment(200, false, data, 200, 100); // lost 100..199
  s.segment(300, false, data, 300, 100);
  s.segment(400, false, data, 400, 100); // exceeds pending cap (300 > 250): skip the hole
  t.same(r.gaps, [100]);
  t.same(r.bytes, [...data.subarray(0, 100), ...data.subarray(200, 500)]);
});

t.test('sequence numbers wrap around 2^32', async (t) => {
  const { s, r } = stream();
  s.segment(0xffffff00, true, data, 0, 0);
  s.segment(0xffffff01, false, data, 0, 0x80);
  s.segment(((0xffffff01 + 0x100) >>> 0), false, data, 0x100, 0x40); // ahead, after the wrap
  s.segment(((0xffffff01 + 0x80) >>> 0), false, data, 0x80, 0x80);
  t.same(r.bytes, [...data.subarray(0, 0x140)]);
});

t.test('SYN data (TCP Fast Open) starts after the SYN', async (t) => {
  const { s, r } = stream();
  s.segment(500, true, data, 0, 10);
  s.segment(511, false, data, 10, 10);
  t.same(r.bytes, [...data.subarray(0, 20)]);
});

t.test('any segmentation, order and duplication yields the original bytes', async (t) => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const total = 500 + rnd(4000);
    const segs: Array<[number, number]> = [];
    for (let off = 0; off < total; ) {
      const len = Math.min(total - off, 1 + rnd(600));
      segs.push([off, len]);
      off += len;
    }
    // Local reordering (a few positions) plus duplicates, as networks do.
    for (let i = 0; i < segs.length; i++) {
      const j = Math.min(segs.length - 1, i + rnd(3));
      [segs[i], segs[j]] = [segs[j]!, segs[i]!];
    }
    const sent = [...segs, ...segs.filter(() => rnd(4) === 0)];
    const { s, r } = stream(1 << 20, 64 * 1024);
    s.segment(99, true, data, 0, 0);
    for (const [off, len] of sent) s.segment(100 + off, false, data, off, len);
    if (r.bytes.length !== total || r.gaps.length) {
      t.fail(`round ${round}: delivered ${r.bytes.length} of ${total}, gaps ${r.gaps.length}`);
      return;
    }
    t.same(r.bytes, [...data.subarray(0, total)], `round ${round}`);
  }
});
