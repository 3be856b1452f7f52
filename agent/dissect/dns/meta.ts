/** What the DNS dissector puts in `FlowRecord.app.dns` (read by features, detectors, RMM). */

export interface DnsAnswerMeta {
  name: string;
  type: string;
  class: string;
  ttl: number;
  /** Presentation data for A, AAAA, CNAME, NS, PTR, MX, TXT, SOA, SRV; absent for other types. */
  data?: string;
  /** RDLENGTH (what is kept of other types). */
  size: number;
}

/** One distinct query name of the flow with its lexical features. */
export interface DnsQueryMeta {
  name: string;
  /** QTYPE name (A, AAAA, TXT, TYPE65...). */
  type: string;
  /** How many times this name/type was asked in the flow. */
  count: number;
  entropy: number;
  labelCount: number;
  longestLabel: number;
  digitRatio: number;
  /** RCODE of the first response that answered it. */
  responseCode?: string;
}

export interface DnsEdnsMeta {
  udpSize: number;
  do: boolean;
  version: number;
  options: number;
}

export interface DnsMeta {
  transport: 'udp' | 'tcp';
  /** Header of the first message seen. */
  id: number;
  opCode: string;
  /** RCODE of the first response (absent when no response was seen). */
  responseCode?: string;
  /** AA TC RD RA AD CD set in the first response, else in the first query. */
  headerFlags: string[];
  /** The first question. */
  question?: {
    name: string;
    type: string;
    class: string;
    registeredDomain?: string;
    subdomain?: string;
    topLevelDomain?: string;
  };
  /** Answers of the responses, in order (bounded). */
  answers: DnsAnswerMeta[];
  /** A/AAAA data of the answers (bounded). */
  resolvedIps: string[];
  /** Distinct query names in order of first appearance (bounded). */
  queries: DnsQueryMeta[];
  /** Messages with QR=0 / QR=1. */
  queryCount: number;
  responseCount: number;
  nxdomain: number;
  /** Responses with TC (truncated) set. */
  truncated: number;
  /** Bytes of TXT RDATA in all answers (tunnels carry data here). */
  txtBytes: number;
  /** Largest DNS message seen (bytes). */
  maxMessageSize: number;
  /** EDNS(0) of the first message carrying an OPT record. */
  edns?: DnsEdnsMeta;
  /** Distinct malformed-input reasons met in this flow (bounded). */
  malformed: string[];
  /** Queries never answered by the time the record was made. */
  unanswered: number;
}
