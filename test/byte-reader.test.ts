import t from 'tap';
import { ByteReader } from '../agent/util/byte-reader.js';

t.test('reads big and little endian within bounds', async (t) => {
  const r = new ByteReader(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xfe]));
  t.equal(r.u8(), 1);
  t.equal(r.u16(), 0x0203);
  t.equal(r.u32(), 0x04050607);
  t.equal(r.remaining, 3);
  t.equal(r.u16le(), 0xff08);
  t.equal(r.failed, false);
  t.equal(r.u16(), 0, 'a read past the end returns 0');
  t.equal(r.failed, true, 'and latches failed');
  t.equal(r.u8(), 0, 'later reads keep failing even if a byte is left');
});

t.test('u32 keeps values above 2^31 positive', async (t) => {
  const r = new ByteReader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  t.equal(r.u32(), 0xffffffff);
  t.equal(r.u32le(), 0xffffffff);
});

t.test('QUIC varints of every length (RFC 9000 appendix A.1 examples)', async (t) => {
  const r = new ByteReader(
    Uint8Array.from([0x25, 0x7b, 0xbd, 0x9d, 0x7f, 0x3e, 0x7d, 0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c]),
  );
  t.equal(r.varint(), 37);
  t.equal(r.varint(), 15293);
  t.equal(r.varint(), 494878333);
  t.equal(r.varint(), 151288809941952652, 'nearest float64 of the 8-byte example');
  t.equal(r.failed, false);
  t.equal(r.varint(), 0);
  t.equal(r.failed, true);
});

t.test('sub readers and views stay inside their window', async (t) => {
  const r = new ByteReader(Uint8Array.from([3, 9, 8, 7, 6]));
  const n = r.u8();
  const s = r.sub(n);
  t.same([...s.bytes(3)], [9, 8, 7]);
  t.equal(s.u8(), 0);
  t.equal(s.failed, true, 'the sub reader cannot see past its length');
  t.equal(r.u8(), 6, 'the parent continues after the window');
  t.equal(r.sub(4).failed, true, 'a window longer than what is left fails');
  t.equal(new ByteReader(Uint8Array.from([1, 2])).peek(5), -1);
});
