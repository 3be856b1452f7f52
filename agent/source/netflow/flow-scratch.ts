import { Slot, VARLEN } from './fields.js';
import type { Template } from './template.js';

/**
 * The values of one data record, decoded into a single reused object (no allocation per
 * record). Absent numeric fields are -1 (or NaN for times); addresses are copied into fixed
 * 16-byte arrays with their length (0 = absent).
 */
export class FlowScratch {
  octets = -1;
  packets = -1;
  totalOctets = -1;
  totalPackets = -1;
  postOctets = -1;
  postPackets = -1;
  initiatorOctets = -1;
  responderOctets = -1;
  initiatorPackets = -1;
  responderPackets = -1;
  revOctets = -1;
  revPackets = -1;
  revTotalOctets = -1;
  revTotalPackets = -1;
  protocol = -1;
  tos = -1;
  tcpFlags = -1;
  revTcpFlags = -1;
  srcPort = -1;
  dstPort = -1;
  /** IPv4 and IPv6 addresses are kept apart: templates often carry both, one of them zero. */
  readonly src4 = new Uint8Array(4);
  readonly dst4 = new Uint8Array(4);
  readonly src6 = new Uint8Array(16);
  readonly dst6 = new Uint8Array(16);
  hasSrc4 = false;
  hasDst4 = false;
  hasSrc6 = false;
  hasDst6 = false;
  inIf = -1;
  outIf = -1;
  srcAs = -1;
  dstAs = -1;
  icmpTypeCode = -1;
  /** RFC 5103 reverse icmpTypeCode: the type/code of the reverse direction's messages. */
  revIcmpTypeCode = -1;
  icmpType = -1;
  icmpCode = -1;
  vlan = -1;
  flowEndReason = -1;
  direction = -1;
  ipVersion = -1;
  // Times: ms since the epoch for absolute values, raw ms for sysUptime, µs for deltas.
  startUptimeMs = -1;
  endUptimeMs = -1;
  startAbsMs = NaN;
  endAbsMs = NaN;
  startDeltaUs = -1;
  endDeltaUs = -1;
  durationMs = -1;
  systemInitMs = -1;
  revStartUptimeMs = -1;
  revEndUptimeMs = -1;
  revStartAbsMs = NaN;
  revEndAbsMs = NaN;
  revStartDeltaUs = -1;
  revEndDeltaUs = -1;
  // Sampling.
  samplingInterval = -1;
  samplingAlgorithm = -1;
  samplerId = -1;
  samplerMode = -1;
  samplerRandomInterval = -1;
  samplingPacketInterval = -1;
  samplingPacketSpace = -1;
  samplingSize = -1;
  samplingPopulation = -1;
  samplingProbability = -1;
  /** Fields whose length made no sense for their type (value ignored). */
  badFields = 0;

  reset(): void {
    this.octets = this.packets = this.totalOctets = this.totalPackets = -1;
    this.postOctets = this.postPackets = -1;
    this.initiatorOctets = this.responderOctets = this.initiatorPackets = this.responderPackets = -1;
    this.revOctets = this.revPackets = this.revTotalOctets = this.revTotalPackets = -1;
    this.protocol = this.tos = this.tcpFlags = this.revTcpFlags = -1;
    this.srcPort = this.dstPort = -1;
    this.hasSrc4 = this.hasDst4 = this.hasSrc6 = this.hasDst6 = false;
    this.inIf = this.outIf = this.srcAs = this.dstAs = -1;
    this.icmpTypeCode = this.revIcmpTypeCode = this.icmpType = this.icmpCode = -1;
    this.vlan = this.flowEndReason = this.direction = this.ipVersion = -1;
    this.startUptimeMs = this.endUptimeMs = -1;
    this.startAbsMs = this.endAbsMs = NaN;
    this.startDeltaUs = this.endDeltaUs = this.durationMs = this.systemInitMs = -1;
    this.revStartUptimeMs = this.revEndUptimeMs = -1;
    this.revStartAbsMs = this.revEndAbsMs = NaN;
    this.revStartDeltaUs = this.revEndDeltaUs = -1;
    this.samplingInterval = this.samplingAlgorithm = this.samplerId = this.samplerMode = -1;
    this.samplerRandomInterval = this.samplingPacketInterval = this.samplingPacketSpace = -1;
    this.samplingSize = this.samplingPopulation = this.samplingProbability = -1;
    this.badFields = 0;
  }

  /** Stores one field value. Lengths that do not fit the type are counted in `badFields`. */
  set(slot: number, b: Uint8Array, off: number, len: number): void {
    switch (slot) {
      case Slot.SrcV4:
      case Slot.DstV4:
        if (len !== 4) {
          this.badFields++;
          return;
        }
        if (slot === Slot.SrcV4) {
          copy(b, off, this.src4, 4);
          this.hasSrc4 = true;
        } else {
          copy(b, off, this.dst4, 4);
          this.hasDst4 = true;
        }
        return;
      case Slot.SrcV6:
      case Slot.DstV6:
        if (len !== 16) {
          this.badFields++;
          return;
        }
        if (slot === Slot.SrcV6) {
          copy(b, off, this.src6, 16);
          this.hasSrc6 = true;
        } else {
          copy(b, off, this.dst6, 16);
          this.hasDst6 = true;
        }
        return;
      case Slot.StartNtpUs:
      case Slot.EndNtpUs:
      case Slot.StartNtpNs:
      case Slot.EndNtpNs: {
        if (len !== 8) {
          this.badFields++;
          return;
        }
        const ms = ntpToMs(b, off);
        if (slot === Slot.StartNtpUs || slot === Slot.StartNtpNs) this.startAbsMs = ms;
        else this.endAbsMs = ms;
        return;
      }
      case Slot.SamplingProbability: {
        if (len === 8) this.samplingProbability = new DataView(b.buffer, b.byteOffset + off, 8).getFloat64(0);
        else if (len === 4) this.samplingProbability = new DataView(b.buffer, b.byteOffset + off, 4).getFloat32(0);
        else this.badFields++;
        return;
      }
      default:
        break;
    }
    if (len < 1 || len > 8) {
      // Numbers are 1–8 bytes (RFC 7011 §6.2 reduced-size encoding); anything else is not one.
      this.badFields++;
      return;
    }
    const v = readUint(b, off, len);
    switch (slot) {
      case Slot.Octets: this.octets = v; return;
      case Slot.Packets: this.packets = v; return;
      case Slot.TotalOctets: this.totalOctets = v; return;
      case Slot.TotalPackets: this.totalPackets = v; return;
      case Slot.PostOctets: this.postOctets = v; return;
      case Slot.PostPackets: this.postPackets = v; return;
      case Slot.InitiatorOctets: this.initiatorOctets = v; return;
      case Slot.ResponderOctets: this.responderOctets = v; return;
      case Slot.InitiatorPackets: this.initiatorPackets = v; return;
      case Slot.ResponderPackets: this.responderPackets = v; return;
      case Slot.Protocol: this.protocol = v & 0xff; return;
      case Slot.Tos: this.tos = v & 0xff; return;
      case Slot.TcpFlags: this.tcpFlags = v & 0xfff; return;
      case Slot.SrcPort: this.srcPort = v & 0xffff; return;
      case Slot.DstPort: this.dstPort = v & 0xffff; return;
      case Slot.InIf: this.inIf = v; return;
      case Slot.OutIf: this.outIf = v; return;
      case Slot.SrcAs: this.srcAs = v; return;
      case Slot.DstAs: this.dstAs = v; return;
      case Slot.IcmpTypeCode: this.icmpTypeCode = v & 0xffff; return;
      case Slot.IcmpType: this.icmpType = v & 0xff; return;
      case Slot.IcmpCode: this.icmpCode = v & 0xff; return;
      case Slot.Vlan: if (this.vlan <= 0) this.vlan = v & 0xfff; return;
      case Slot.EndSysUptime: this.endUptimeMs = v; return;
      case Slot.StartSysUptime: this.startUptimeMs = v; return;
      case Slot.StartSec: this.startAbsMs = v * 1000; return;
      case Slot.EndSec: this.endAbsMs = v * 1000; return;
      case Slot.StartMs: this.startAbsMs = v; return;
      case Slot.EndMs: this.endAbsMs = v; return;
      case Slot.StartDeltaUs: this.startDeltaUs = v; return;
      case Slot.EndDeltaUs: this.endDeltaUs = v; return;
      case Slot.SystemInitMs: this.systemInitMs = v; return;
      case Slot.DurationMs: this.durationMs = v; return;
      case Slot.DurationUs: this.durationMs = v / 1000; return;
      case Slot.FlowEndReason: this.flowEndReason = v; return;
      case Slot.Direction: this.direction = v; return;
      case Slot.IpVersion: this.ipVersion = v; return;
      case Slot.SamplingInterval: this.samplingInterval = v; return;
      case Slot.SamplingAlgorithm: this.samplingAlgorithm = v; return;
      case Slot.SamplerId: this.samplerId = v; return;
      case Slot.SamplerMode: this.samplerMode = v; return;
      case Slot.SamplerRandomInterval: this.samplerRandomInterval = v; return;
      case Slot.SamplingPacketInterval: this.samplingPacketInterval = v; return;
      case Slot.SamplingPacketSpace: this.samplingPacketSpace = v; return;
      case Slot.SamplingSize: this.samplingSize = v; return;
      case Slot.SamplingPopulation: this.samplingPopulation = v; return;
      case Slot.RevOctets: this.revOctets = v; return;
      case Slot.RevPackets: this.revPackets = v; return;
      case Slot.RevTotalOctets: this.revTotalOctets = v; return;
      case Slot.RevTotalPackets: this.revTotalPackets = v; return;
      case Slot.RevTcpFlags: this.revTcpFlags = v & 0xfff; return;
      case Slot.RevStartSec: this.revStartAbsMs = v * 1000; return;
      case Slot.RevEndSec: this.revEndAbsMs = v * 1000; return;
      case Slot.RevStartMs: this.revStartAbsMs = v; return;
      case Slot.RevEndMs: this.revEndAbsMs = v; return;
      case Slot.RevStartDeltaUs: this.revStartDeltaUs = v; return;
      case Slot.RevEndDeltaUs: this.revEndDeltaUs = v; return;
      case Slot.RevEndSysUptime: this.revEndUptimeMs = v; return;
      case Slot.RevStartSysUptime: this.revStartUptimeMs = v; return;
      case Slot.RevIcmpTypeCode: this.revIcmpTypeCode = v & 0xffff; return;
      default: return;
    }
  }
}

function copy(b: Uint8Array, off: number, to: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) to[i] = b[off + i]!;
}

function allZero(a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

/**
 * The IP version a record describes: its ipVersion field when present, else the family whose
 * addresses it carries (when it carries both, the one that is not all zeros), 0 for none.
 */
export function recordIpVersion(s: FlowScratch): 0 | 4 | 6 {
  const has4 = s.hasSrc4 && s.hasDst4;
  const has6 = s.hasSrc6 && s.hasDst6;
  if (s.ipVersion === 4 && has4) return 4;
  if (s.ipVersion === 6 && has6) return 6;
  if (has4 && has6) return allZero(s.src4) && allZero(s.dst4) ? 6 : 4;
  return has4 ? 4 : has6 ? 6 : 0;
}

/** Unsigned big-endian integer of 1–8 bytes; exact below 2^53 (counters never get there). */
export function readUint(b: Uint8Array, off: number, len: number): number {
  let v = 0;
  for (let i = 0; i < len; i++) v = v * 256 + b[off + i]!;
  return v;
}

/** Seconds between the NTP era 0 epoch (1900) and the Unix epoch. */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** RFC 7011 §6.1.9/10 dateTimeMicroseconds/Nanoseconds (NTP 64-bit format) → ms since the Unix epoch. */
export function ntpToMs(b: Uint8Array, off: number): number {
  const sec = readUint(b, off, 4);
  const frac = readUint(b, off + 4, 4);
  return (sec - NTP_UNIX_OFFSET_S) * 1000 + (frac / 0x1_0000_0000) * 1000;
}

/**
 * Decodes one data record of `t` starting at `off` into `s` (after `s.reset()` by the caller).
 * Returns the offset after the record, or -1 when the record does not fit before `end`
 * (truncated record or variable-length prefix pointing past the set).
 */
export function readRecord(t: Template, b: Uint8Array, off: number, end: number, s: FlowScratch): number {
  const lengths = t.lengths;
  const slots = t.slots;
  const n = lengths.length;
  const varlen = t.v9 ? -1 : VARLEN;
  let p = off;
  for (let i = 0; i < n; i++) {
    let len = lengths[i]!;
    if (len === varlen) {
      // RFC 7011 §7: one length byte, or 255 followed by a 2-byte length.
      if (p >= end) return -1;
      len = b[p++]!;
      if (len === 255) {
        if (p + 2 > end) return -1;
        len = (b[p]! << 8) | b[p + 1]!;
        p += 2;
      }
    }
    if (p + len > end) return -1;
    const slot = slots[i]!;
    if (slot !== Slot.Skip) s.set(slot, b, p, len);
    p += len;
  }
  return p;
}
