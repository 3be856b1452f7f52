import type { DnsMeta } from './meta.js';

/**
 * ECS `dns.*` fields (https://www.elastic.co/guide/en/ecs/current/ecs-dns.html) plus
 * `picket.dns.*` for what ECS lacks (counts, lexical features, EDNS, malformed input).
 */
export function dnsEcs(m: DnsMeta): Record<string, unknown> {
  const dns: Record<string, unknown> = {
    id: String(m.id),
    op_code: m.opCode,
    header_flags: m.headerFlags,
    type: m.responseCount > 0 ? 'answer' : 'query',
  };
  if (m.responseCode !== undefined) dns.response_code = m.responseCode;
  if (m.question) {
    const q: Record<string, unknown> = { name: m.question.name, type: m.question.type, class: m.question.class };
    if (m.question.registeredDomain) q.registered_domain = m.question.registeredDomain;
    if (m.question.subdomain) q.subdomain = m.question.subdomain;
    if (m.question.topLevelDomain) q.top_level_domain = m.question.topLevelDomain;
    dns.question = q;
  }
  if (m.answers.length > 0) {
    dns.answers = m.answers.map((a) => {
      const o: Record<string, unknown> = { name: a.name, type: a.type, class: a.class, ttl: a.ttl };
      if (a.data !== undefined) o.data = a.data;
      else o.size = a.size;
      return o;
    });
  }
  if (m.resolvedIps.length > 0) dns.resolved_ip = m.resolvedIps;
  const first = m.queries[0];
  const picket: Record<string, unknown> = {
    transport: m.transport,
    queries: m.queryCount,
    responses: m.responseCount,
    nxdomain: m.nxdomain,
    txt_bytes: m.txtBytes,
    max_message_size: m.maxMessageSize,
    query_names: m.queries.map((q) => ({
      name: q.name,
      type: q.type,
      count: q.count,
      entropy: q.entropy,
      label_count: q.labelCount,
      longest_label: q.longestLabel,
      digit_ratio: q.digitRatio,
    })),
  };
  if (first) {
    picket.entropy = first.entropy;
    picket.label_count = first.labelCount;
    picket.longest_label = first.longestLabel;
    picket.digit_ratio = first.digitRatio;
  }
  if (m.truncated) picket.truncated = m.truncated;
  if (m.unanswered) picket.unanswered = m.unanswered;
  if (m.edns) picket.edns = { udp_size: m.edns.udpSize, do: m.edns.do, version: m.edns.version, options: m.edns.options };
  if (m.malformed.length > 0) picket.malformed = m.malformed;
  return { dns, picket: { dns: picket } };
}
