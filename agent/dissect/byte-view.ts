/**
 * `buf[start, end)` as a plain Uint8Array view (no copy). Payload arrives in Node Buffers, and
 * Buffer#subarray builds its result through the FastBuffer subclass constructor, several times
 * slower than this; dissectors take views on hot paths.
 */
export function byteView(buf: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset + start, end - start);
}
