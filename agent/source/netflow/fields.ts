/**
 * Information Elements the collector understands, and the internal "slot" each maps to.
 *
 * NetFlow v9 field types 1–127 and IPFIX Information Element ids are the same registry for
 * everything used here (RFC 3954 §8, IANA "IPFIX Information Elements"). A template field is
 * mapped to a slot once, when the template is learned, so decoding a data record is a switch on
 * a small integer instead of a lookup per field.
 */

/** IANA Private Enterprise Number of the RFC 5103 reverse Information Elements. */
export const PEN_REVERSE = 29305;

/** IPFIX variable-length field marker (RFC 7011 §7). */
export const VARLEN = 0xffff;

/** Internal slots a field value is stored into (see FlowScratch). 0 = ignored. A plain object, not an
 * enum, so the file stays erasable TypeScript. */
export const Slot = {
  Skip: 0,
  Octets: 1,
  Packets: 2,
  TotalOctets: 3,
  TotalPackets: 4,
  PostOctets: 5,
  PostPackets: 6,
  InitiatorOctets: 7,
  ResponderOctets: 8,
  InitiatorPackets: 9,
  ResponderPackets: 10,
  Protocol: 11,
  Tos: 12,
  TcpFlags: 13,
  SrcPort: 14,
  DstPort: 15,
  SrcV4: 16,
  DstV4: 17,
  SrcV6: 18,
  DstV6: 19,
  InIf: 20,
  OutIf: 21,
  SrcAs: 22,
  DstAs: 23,
  IcmpTypeCode: 24,
  IcmpType: 25,
  IcmpCode: 26,
  Vlan: 27,
  EndSysUptime: 28,
  StartSysUptime: 29,
  StartSec: 30,
  EndSec: 31,
  StartMs: 32,
  EndMs: 33,
  StartNtpUs: 34,
  EndNtpUs: 35,
  StartNtpNs: 36,
  EndNtpNs: 37,
  StartDeltaUs: 38,
  EndDeltaUs: 39,
  SystemInitMs: 40,
  DurationMs: 41,
  DurationUs: 42,
  FlowEndReason: 43,
  Direction: 44,
  IpVersion: 45,
  SamplingInterval: 46,
  SamplingAlgorithm: 47,
  SamplerId: 48,
  SamplerMode: 49,
  SamplerRandomInterval: 50,
  SamplingPacketInterval: 51,
  SamplingPacketSpace: 52,
  SamplingSize: 53,
  SamplingPopulation: 54,
  SamplingProbability: 55,
  RevOctets: 56,
  RevPackets: 57,
  RevTotalOctets: 58,
  RevTotalPackets: 59,
  RevTcpFlags: 60,
  RevStartSec: 61,
  RevEndSec: 62,
  RevStartMs: 63,
  RevEndMs: 64,
  RevStartDeltaUs: 65,
  RevEndDeltaUs: 66,
  RevEndSysUptime: 67,
  RevStartSysUptime: 68,
  RevIcmpTypeCode: 69,
} as const;
/** One of the Slot values. */
export type Slot = (typeof Slot)[keyof typeof Slot];

/** IANA IE id → slot, for enterprise 0 (and all NetFlow v9 fields). */
const STANDARD: ReadonlyMap<number, Slot> = new Map<number, Slot>([
  [1, Slot.Octets], // octetDeltaCount / IN_BYTES
  [2, Slot.Packets], // packetDeltaCount / IN_PKTS
  [4, Slot.Protocol],
  [5, Slot.Tos],
  [6, Slot.TcpFlags],
  [7, Slot.SrcPort],
  [8, Slot.SrcV4],
  [10, Slot.InIf],
  [11, Slot.DstPort],
  [12, Slot.DstV4],
  [14, Slot.OutIf],
  [16, Slot.SrcAs],
  [17, Slot.DstAs],
  [21, Slot.EndSysUptime], // flowEndSysUpTime / LAST_SWITCHED
  [22, Slot.StartSysUptime], // flowStartSysUpTime / FIRST_SWITCHED
  [23, Slot.PostOctets], // postOctetDeltaCount / OUT_BYTES
  [24, Slot.PostPackets],
  [27, Slot.SrcV6],
  [28, Slot.DstV6],
  [32, Slot.IcmpTypeCode], // icmpTypeCodeIPv4
  [34, Slot.SamplingInterval],
  [35, Slot.SamplingAlgorithm],
  [48, Slot.SamplerId], // samplerId / FLOW_SAMPLER_ID
  [49, Slot.SamplerMode],
  [50, Slot.SamplerRandomInterval],
  [58, Slot.Vlan], // vlanId / SRC_VLAN
  [60, Slot.IpVersion],
  [61, Slot.Direction],
  [85, Slot.TotalOctets],
  [86, Slot.TotalPackets],
  [136, Slot.FlowEndReason],
  [139, Slot.IcmpTypeCode], // icmpTypeCodeIPv6
  [150, Slot.StartSec],
  [151, Slot.EndSec],
  [152, Slot.StartMs],
  [153, Slot.EndMs],
  [154, Slot.StartNtpUs],
  [155, Slot.EndNtpUs],
  [156, Slot.StartNtpNs],
  [157, Slot.EndNtpNs],
  [158, Slot.StartDeltaUs],
  [159, Slot.EndDeltaUs],
  [160, Slot.SystemInitMs],
  [161, Slot.DurationMs],
  [162, Slot.DurationUs],
  [176, Slot.IcmpType], // icmpTypeIPv4
  [177, Slot.IcmpCode],
  [178, Slot.IcmpType], // icmpTypeIPv6
  [179, Slot.IcmpCode],
  [180, Slot.SrcPort], // udpSourcePort
  [181, Slot.DstPort],
  [182, Slot.SrcPort], // tcpSourcePort
  [183, Slot.DstPort],
  [231, Slot.InitiatorOctets], // initiatorOctets (also NSEL fwd bytes)
  [232, Slot.ResponderOctets],
  [243, Slot.Vlan], // dot1qVlanId
  [298, Slot.InitiatorPackets],
  [299, Slot.ResponderPackets],
  [302, Slot.SamplerId], // selectorId
  [305, Slot.SamplingPacketInterval],
  [306, Slot.SamplingPacketSpace],
  [309, Slot.SamplingSize],
  [310, Slot.SamplingPopulation],
  [311, Slot.SamplingProbability],
]);

/** RFC 5103: reverse IEs reuse the forward id under PEN 29305. */
const REVERSE: ReadonlyMap<number, Slot> = new Map<number, Slot>([
  [1, Slot.RevOctets],
  [2, Slot.RevPackets],
  [6, Slot.RevTcpFlags],
  [21, Slot.RevEndSysUptime],
  [32, Slot.RevIcmpTypeCode],
  [139, Slot.RevIcmpTypeCode],
  [22, Slot.RevStartSysUptime],
  [85, Slot.RevTotalOctets],
  [86, Slot.RevTotalPackets],
  [150, Slot.RevStartSec],
  [151, Slot.RevEndSec],
  [152, Slot.RevStartMs],
  [153, Slot.RevEndMs],
  [158, Slot.RevStartDeltaUs],
  [159, Slot.RevEndDeltaUs],
]);

/** Slot for a template field; enterprise fields other than the reverse ones are skipped by length. */
export function slotFor(id: number, pen: number): Slot {
  if (pen === 0) return STANDARD.get(id) ?? Slot.Skip;
  if (pen === PEN_REVERSE) return REVERSE.get(id) ?? Slot.Skip;
  return Slot.Skip;
}
