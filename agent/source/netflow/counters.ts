/**
 * What the NetFlow/IPFIX decoder counts. Every record, set or packet that is not turned into a
 * FlowRecord is counted under exactly one error kind, so "decoded + counted = received".
 */
export interface NetflowCounters {
  /** Export datagrams given to the decoder. */
  packets: number;
  bytes: number;
  packetsV5: number;
  packetsV9: number;
  packetsIpfix: number;
  /** Flow records delivered (FlowRecords built). */
  records: number;
  /** Options data records read (sampling, system init time...). */
  optionsRecords: number;
  /** Data records that describe no IP flow (no addresses, e.g. L2-only templates): read, not delivered. */
  recordsWithoutAddresses: number;
  templatesLearned: number;
  /** Same template id announced again with a different layout. */
  templatesReplaced: number;
  /** IPFIX template withdrawals honoured (single and "all"). */
  templatesWithdrawn: number;
  /** Templates dropped because they were not refreshed within the template timeout. */
  templatesExpired: number;
  /** Data sets held because their template had not arrived yet. */
  setsBuffered: number;
  /** Buffered data sets decoded after their template arrived. */
  setsDecodedLate: number;
  /** Data sets whose template never arrived (buffer full, expired, or buffering disabled). */
  unknownTemplateSets: number;
  /**
   * IPFIX records with sysUptime-relative times but no systemInitTimeMilliseconds from the
   * exporter: their end is anchored at export time (duration kept). Not an error: Cisco IOS XR
   * exports this way.
   */
  recordsUnanchoredTime: number;
  /**
   * NetFlow v9 export packets lost between exporter and collector (network, or our socket:
   * compare `socketDrops`), from gaps in the per-source-id packet sequence (RFC 3954 §5.1). A gap
   * is only seen when a later packet arrives. (IPFIX and v5 sequences count records, and
   * exporters disagree on how: not checked.)
   */
  exportPacketsLost: number;
  /** v9 sequence numbers that went backwards or jumped ≥ 2^31 (exporter restart, reordering): resynchronised, not counted as loss. */
  sequenceResets: number;
  /** Malformed input and limits hit, by kind (see README for the list). */
  errors: Record<string, number>;
  /**
   * Enterprise-specific fields skipped in data records: `pen:id` → occurrences (a template may
   * repeat a pair). Bounded by `maxEnterpriseFieldKeys`; the rest are counted under `other`.
   */
  enterpriseFields: Record<string, number>;
}

export function emptyCounters(): NetflowCounters {
  return {
    packets: 0,
    bytes: 0,
    packetsV5: 0,
    packetsV9: 0,
    packetsIpfix: 0,
    records: 0,
    optionsRecords: 0,
    recordsWithoutAddresses: 0,
    templatesLearned: 0,
    templatesReplaced: 0,
    templatesWithdrawn: 0,
    templatesExpired: 0,
    setsBuffered: 0,
    setsDecodedLate: 0,
    unknownTemplateSets: 0,
    recordsUnanchoredTime: 0,
    exportPacketsLost: 0,
    sequenceResets: 0,
    errors: {},
    enterpriseFields: {},
  };
}

/** Error kinds, used as counter labels. */
export const NetflowError = {
  /** Datagram shorter than its version's header. */
  shortHeader: 'short_header',
  /** First two bytes are not 5, 9 or 10. */
  badVersion: 'bad_version',
  /** IPFIX message length smaller than its header or larger than the datagram. */
  badMessageLength: 'bad_message_length',
  /** v5 count field disagrees with the datagram length (decoded what fits). */
  v5BadCount: 'v5_bad_count',
  /** Set/FlowSet length < 4 or past the end of the message. */
  badSetLength: 'bad_set_length',
  /** Set id 4–255 (v9: 2–255): reserved. */
  reservedSetId: 'reserved_set_id',
  /** Template record cut off by the end of its set. */
  truncatedTemplate: 'truncated_template',
  /** Template id below 256. */
  badTemplateId: 'bad_template_id',
  /** NetFlow v9 template with no fields (IPFIX uses 0 fields for withdrawal). */
  templateNoFields: 'template_no_fields',
  /** Template whose records would be 0 bytes long (all fields of length 0). */
  templateZeroLength: 'template_zero_length',
  /** Options template with a scope count of 0 or larger than its field count. */
  badScopeCount: 'bad_scope_count',
  /** More fields than `maxFieldsPerTemplate`. */
  templateTooManyFields: 'template_too_many_fields',
  /** Session already holds `maxTemplatesPerSession` templates. */
  templateLimit: 'template_limit',
  /** More exporter sessions than `maxSessions`. */
  sessionLimit: 'session_limit',
  /** Data record cut off by the end of its set. */
  truncatedRecord: 'truncated_record',
  /** A field length that cannot hold its type (e.g. 5-byte IPv4 address); value ignored. */
  badFieldLength: 'bad_field_length',
  /** Set longer than 4 bytes that held no complete record (not padding). */
  setShorterThanRecord: 'set_shorter_than_record',
  /** Pending buffer full (count or bytes): data set dropped. */
  pendingOverflow: 'pending_overflow',
  /** Data set waited longer than `pendingTimeoutMs` for its template. */
  pendingExpired: 'pending_expired',
  /** Data set for a template id never announced, buffering disabled. */
  unknownTemplate: 'unknown_template',
  /** Options record with a sampler id beyond `maxSamplersPerSession`. */
  samplerLimit: 'sampler_limit',
} as const;

export function countError(c: NetflowCounters, kind: string, n = 1): void {
  c.errors[kind] = (c.errors[kind] ?? 0) + n;
}
