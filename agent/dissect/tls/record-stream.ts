/**
 * One direction of a TLS-over-TCP byte stream → records (RFC 8446 §5.1, RFC 5246 §6.2) →
 * handshake messages reassembled across records and TCP segments, alerts, ChangeCipherSpec and
 * application data. A push parser: it keeps only a 5-byte record header, a 4-byte handshake
 * header, one bounded message buffer and 1 pending alert byte, so the same bytes give the same
 * events however the stream is split.
 */

import { byteView } from '../byte-view.js';

export const CONTENT = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23, heartbeat: 24 } as const;

/** RFC 8446 §5.2: a record never exceeds 2^14 + 256 bytes; TLS 1.2 allowed 2^14 + 2048. */
export const MAX_RECORD_LENGTH = 16384 + 2048;

/** Budgets of one direction. */
export interface RecordLimits {
  /** Records parsed before the direction stops. */
  readonly maxRecords: number;
  /** Stream bytes inspected before the direction stops. */
  readonly maxBytes: number;
  /** Largest handshake message buffered (certificate chains are the big ones). */
  readonly maxHandshakeMessage: number;
  /** Handshake messages parsed (the rest are skipped). */
  readonly maxHandshakeMessages: number;
}

/** What the owner does with what the stream finds. Bodies are only valid during the call. */
export interface RecordSink {
  /** A complete handshake message of a type `wantHandshake` accepted. */
  handshake(type: number, body: Uint8Array, tsUs: number): void;
  /** Handshake types worth buffering; others are skipped without a copy. */
  wantHandshake(type: number): boolean;
  /** A plaintext alert. */
  alert(level: number, description: number, tsUs: number): void;
  /** An alert record after ChangeCipherSpec (content unreadable). */
  encryptedAlert(tsUs: number): void;
  changeCipherSpec(tsUs: number): void;
  applicationData(length: number, tsUs: number): void;
  /** A limit was hit (`limit.<name>`) or input was malformed (`malformed.<reason>`). */
  problem(kind: string): void;
  /** After every record header and every stop: the owner may `halt()` both directions. */
  checkpoint(): void;
}

export type StopReason = 'malformed' | 'limit' | 'gap' | 'done';

/** Record-layer state of one direction. */
export class RecordStream {
  records = 0;
  bytes = 0;
  /** Why the direction stopped parsing, if it did. */
  stopped: StopReason | undefined;
  /** Handshake content is encrypted from here on (set by the owner after a TLS ≤ 1.2 CCS or a TLS 1.3 ServerHello; here after application data). */
  encrypted = false;
  /** Versions seen in record headers (first one). */
  firstRecordVersion = 0;
  handshakeMessages = 0;
  /** Records whose body was seen to the end. */
  completeRecords = 0;

  // Record and handshake headers are gathered into numbers, not small typed arrays: each of
  // those costs ~300 bytes in V8, and every TLS flow has two streams.
  /** Record header bytes gathered so far (0..5) and their values. */
  private hdrFill = 0;
  private hdrType = 0;
  private hdrVersion = 0;
  private hdrLength = 0;
  private recType = 0;
  private recLeft = 0;
  /** Handshake header bytes gathered so far (0..4). */
  private hsHdrFill = 0;
  private hsType = 0;
  private hsLeft = 0;
  private hsBuf: Uint8Array | undefined;
  private hsFill = 0;
  private alertByte = -1;

  constructor(
    private readonly limits: RecordLimits,
    private readonly sink: RecordSink,
  ) {}

  /** True while bytes are still parsed. */
  get active(): boolean {
    return this.stopped === undefined;
  }

  /**
   * The owner has what it needs: ignore the rest, also the rest of the current segment, so the
   * result does not depend on where the segments were cut.
   */
  halt(): void {
    if (this.stopped === undefined) this.stopped = 'done';
    this.hsBuf = undefined;
  }

  /** Bytes were lost: record framing is gone for good. */
  gap(): void {
    if (this.stopped === undefined) this.stopped = 'gap';
    this.hsBuf = undefined;
  }

  private stop(reason: StopReason, kind: string): void {
    this.stopped = reason;
    this.hsBuf = undefined;
    this.sink.problem(kind);
    this.sink.checkpoint();
  }

  /** Feeds the next in-order bytes of this direction. */
  feed(buf: Uint8Array, off: number, len: number, tsUs: number): void {
    if (this.stopped !== undefined) return;
    let p = off;
    let end = off + len;
    const room = this.limits.maxBytes - this.bytes;
    let capped = false;
    if (len > room) {
      end = off + Math.max(0, room);
      capped = true;
    }
    this.bytes += end - p;
    // Bounded: every iteration consumes ≥ 1 byte or breaks.
    while (p < end && this.stopped === undefined) {
      if (this.recLeft === 0) {
        const take = Math.min(5 - this.hdrFill, end - p);
        for (let i = 0; i < take; i++) this.headerByte(buf[p++]!);
        if (this.hdrFill < 5) break;
        this.hdrFill = 0;
        this.startRecord(tsUs);
        continue;
      }
      const n = Math.min(this.recLeft, end - p);
      this.body(buf, p, n, tsUs);
      p += n;
      this.recLeft -= n;
      if (this.recLeft === 0) this.completeRecords++;
      if (this.recLeft === 0 && this.recType === CONTENT.alert) this.alertByte = -1;
    }
    if (capped && this.stopped === undefined) this.stop('limit', 'limit.bytes_inspected');
  }

  /** One byte of the 5-byte record header: type, version (2), length (2). */
  private headerByte(b: number): void {
    const i = this.hdrFill++;
    if (i === 0) this.hdrType = b;
    else if (i <= 2) this.hdrVersion = ((this.hdrVersion << 8) | b) & 0xffff;
    else this.hdrLength = ((this.hdrLength << 8) | b) & 0xffff;
  }

  private startRecord(tsUs: number): void {
    const type = this.hdrType;
    const version = this.hdrVersion;
    const length = this.hdrLength;
    if (type < CONTENT.changeCipherSpec || type > CONTENT.heartbeat || version >> 8 !== 3 || (version & 0xff) > 4) {
      this.stop('malformed', 'malformed.record_header');
      return;
    }
    if (length > MAX_RECORD_LENGTH) {
      this.stop('malformed', 'malformed.record_length');
      return;
    }
    if (this.records >= this.limits.maxRecords) {
      this.stop('limit', 'limit.records');
      return;
    }
    this.records++;
    if (this.firstRecordVersion === 0) this.firstRecordVersion = version;
    this.recType = type;
    this.recLeft = length;
    if (length === 0) this.completeRecords++;
    switch (type) {
      case CONTENT.changeCipherSpec:
        // The owner decides whether this starts encryption: a TLS 1.3 CCS is a compatibility dummy.
        this.sink.changeCipherSpec(tsUs);
        break;
      case CONTENT.applicationData:
        // Anything after application data (renegotiation) is encrypted.
        this.encrypted = true;
        this.sink.applicationData(length, tsUs);
        break;
      case CONTENT.alert:
        this.alertByte = -1;
        if (this.encrypted) this.sink.encryptedAlert(tsUs);
        break;
    }
    this.sink.checkpoint();
  }

  private body(buf: Uint8Array, p: number, n: number, tsUs: number): void {
    if (this.recType === CONTENT.handshake) {
      if (!this.encrypted) this.handshakeBytes(buf, p, n, tsUs);
    } else if (this.recType === CONTENT.alert && !this.encrypted) {
      for (let i = 0; i < n; i++) {
        const b = buf[p + i]!;
        if (this.alertByte < 0) this.alertByte = b;
        else {
          this.sink.alert(this.alertByte, b, tsUs);
          this.alertByte = -1;
        }
      }
    }
  }

  private handshakeBytes(buf: Uint8Array, p: number, n: number, tsUs: number): void {
    const end = p + n;
    // Bounded: each iteration consumes ≥ 1 byte, or delivers a message and resets the header.
    while (p < end && !this.encrypted && this.stopped === undefined) {
      if (this.hsHdrFill < 4) {
        // msg_type (1) then a uint24 length, gathered into hsType / hsLeft.
        const b = buf[p++]!;
        if (this.hsHdrFill++ === 0) {
          this.hsType = b;
          this.hsLeft = 0;
        } else this.hsLeft = (this.hsLeft << 8) | b;
        if (this.hsHdrFill < 4) continue;
        this.hsFill = 0;
        this.hsBuf = undefined;
        if (++this.handshakeMessages > this.limits.maxHandshakeMessages) {
          this.stop('limit', 'limit.handshake_messages');
          return;
        }
        if (this.sink.wantHandshake(this.hsType)) {
          if (this.hsLeft > this.limits.maxHandshakeMessage) this.sink.problem('limit.handshake_message_size');
          else if (this.hsLeft > 0 && this.hsLeft <= end - p) {
            // The whole message is in this piece (the usual case): hand over a view, no copy.
            const size = this.hsLeft;
            this.hsLeft = 0;
            this.hsHdrFill = 0;
            this.sink.handshake(this.hsType, byteView(buf, p, p + size), tsUs);
            p += size;
            continue;
          } else this.hsBuf = new Uint8Array(this.hsLeft);
        }
        if (this.hsLeft === 0) this.deliver(tsUs);
        continue;
      }
      const take = Math.min(this.hsLeft, end - p);
      if (this.hsBuf) this.hsBuf.set(byteView(buf, p, p + take), this.hsFill);
      this.hsFill += take;
      this.hsLeft -= take;
      p += take;
      if (this.hsLeft === 0) this.deliver(tsUs);
    }
  }

  private deliver(tsUs: number): void {
    const body = this.hsBuf;
    this.hsBuf = undefined;
    this.hsHdrFill = 0;
    if (body) this.sink.handshake(this.hsType, body, tsUs);
  }
}
