/**
 * One captured frame as it leaves a packet source.
 *
 * Sources reuse a single instance and overwrite its fields for every packet, so consumers must
 * copy whatever they keep beyond the call (the bytes in `buf` are only valid until the next
 * packet). This keeps the hot path free of per-packet allocations.
 */
export class RawPacket {
  /** Backing bytes; the frame is `buf[off, off + capLen)`. */
  buf: Uint8Array = new Uint8Array(0);
  off = 0;
  /** Bytes captured (after snap length). */
  capLen = 0;
  /** Length of the frame on the wire. */
  wireLen = 0;
  /** Capture time in microseconds since the Unix epoch (fractional part keeps sub-µs digits). */
  tsUs = 0;
  /** Link-layer header type (LINKTYPE_* from the tcpdump.org registry). */
  linkType = 1;
  /** Interface index within the source (pcapng IDB index, or live interface number). */
  ifIndex = 0;
}

/** Receives packets; implemented by the pipeline. */
export interface PacketSink {
  packet(p: RawPacket): void;
}
