/** LINKTYPE_* values (tcpdump.org link-layer header types) that the decoder understands. */
export const LINKTYPE_NULL = 0; // BSD loopback: 4-byte address family in host byte order
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101; // raw IPv4/IPv6
export const LINKTYPE_RAW_ALT12 = 12; // DLT_RAW on some BSDs, found in old files
export const LINKTYPE_RAW_ALT14 = 14; // DLT_RAW on OpenBSD
export const LINKTYPE_LOOP = 108; // OpenBSD loopback: address family in network byte order
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;
export const LINKTYPE_PPP = 9; // PPP, optionally with HDLC-like framing (ff 03)
export const LINKTYPE_PPP_HDLC = 50;
export const LINKTYPE_C_HDLC = 104; // Cisco HDLC: address, control, ethertype

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
export const ETHERTYPE_QINQ_OLD = 0x9100;
export const ETHERTYPE_PPPOE_SESSION = 0x8864;
export const ETHERTYPE_MPLS = 0x8847;
export const ETHERTYPE_MPLS_MC = 0x8848;
export const ETHERTYPE_FABRICPATH = 0x8903; // Cisco FabricPath: 2-byte tag, then a whole Ethernet frame
export const ETHERTYPE_TEB = 0x6558; // transparent Ethernet bridging (GRE, Geneve)
export const ETHERTYPE_ERSPAN2 = 0x88be;

/** PPP protocol numbers for IP. */
export const PPP_IPV4 = 0x0021;
export const PPP_IPV6 = 0x0057;
export const PPP_MPLS_UNICAST = 0x0281;
export const PPP_MPLS_MULTICAST = 0x0283;
