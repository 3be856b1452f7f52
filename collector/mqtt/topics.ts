/**
 * Collector topics. Sensors publish on `<prefix>/<site>/<sensor>/alert` and `.../status`; the
 * collector reads alerts through an MQTT 5 shared subscription (`$share/<group>/...`: the broker
 * hands each alert to one member of the group, so several collectors split the load) and every
 * status plainly (each collector keeps its own sensor table, and retained statuses are not sent
 * to shared subscriptions).
 */

export interface CollectorTopics {
  alertFilter: string;
  sharedAlertFilter: string;
  statusFilter: string;
}

export function collectorTopics(prefix: string, group: string): CollectorTopics {
  const alertFilter = `${prefix}/+/+/alert`;
  return { alertFilter, sharedAlertFilter: `$share/${group}/${alertFilter}`, statusFilter: `${prefix}/+/+/status` };
}

export interface ParsedTopic {
  site: string;
  sensorId: string;
  kind: 'alert' | 'status';
}

/** Splits `<prefix>/<site>/<sensor>/<kind>`; undefined for any other topic. */
export function parseTopic(topic: string, prefix: string): ParsedTopic | undefined {
  if (!topic.startsWith(prefix + '/')) return undefined;
  const rest = topic.slice(prefix.length + 1).split('/');
  if (rest.length !== 3) return undefined;
  const [site, sensorId, kind] = rest as [string, string, string];
  if (!site || !sensorId || site.length > 128 || sensorId.length > 128) return undefined;
  if (kind !== 'alert' && kind !== 'status') return undefined;
  return { site, sensorId, kind };
}
