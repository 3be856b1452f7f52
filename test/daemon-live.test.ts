/**
 * `picket run` as a real process capturing on a veth in a namespace (pk-dmn-a, 10.17.1.0/24):
 * /metrics counts exactly the packets sent; SIGHUP changes the filter (ICMP appears) while the
 * flow table keeps its flows and their counters (one UDP flow record with every packet from
 * before and after the reload); a bad reload keeps the running config; SIGTERM exports the flows
 * and exits within a few seconds.
 *
 * Needs root, iproute2, iputils-ping.
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainIsolationForest, saveModel } from '../agent/detect/iforest/index.js';
import { FLOW_FEATURE_SCHEMA } from '../agent/detect/anomaly/anomaly-hooks.js';
import { createVeth, deleteVeth, fetchText, metric, PicketProcess, sh, sleep, udpFromNs, type LogLine } from './daemon-process.js';

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root (network namespaces, capture)');
} else {
  const v = createVeth('a', 1);
  t.teardown(() => deleteVeth(v));
  // A neighbour that does not exist: frames go out on the wire, nothing answers (no ICMP errors).
  const ghost = '10.17.1.99';
  sh('ip', ['netns', 'exec', v.ns, 'ip', 'neigh', 'add', ghost, 'lladdr', '02:00:00:00:00:99', 'dev', v.nsIf]);
  const dir = mkdtempSync(join(tmpdir(), 'pk-dmn-live-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  // A small real model, so picket_model_age_seconds has something to report.
  // (Trained on the flow feature schema of this build, which the daemon requires.)
  const nf = FLOW_FEATURE_SCHEMA.names.length;
  const rows = new Float64Array(200 * nf).map((_, i) => (i * 7919) % 101);
  const model = trainIsolationForest(rows, 200, FLOW_FEATURE_SCHEMA, { nTrees: 10, sampleSize: 64, seed: 1, createdAt: new Date(Date.now() - 3_600_000) });
  const modelPath = join(dir, 'model.pif');
  await saveModel(modelPath, model);

  const configPath = join(dir, 'picket.yaml');
  const flowsPath = join(dir, 'flows.jsonl');
  const config = (filter: string, extra = ''): string =>
    [
      'capture:',
      `  interfaces: [${v.hostIf}]`,
      `  filter: "${filter}"`,
      '  timeout_ms: 20',
      '  stats_interval: 0.5',
      'flows:',
      '  idle_timeout:',
      '    udp: 600',
      '    icmp: 600',
      `  jsonl: ${flowsPath}`,
      'metrics:',
      '  listen: 127.0.0.1:0',
      'model:',
      `  path: ${modelPath}`,
      extra,
      '',
    ].join('\n');
  writeFileSync(configPath, config('udp'));

  const picket = new PicketProcess(['run', '--config', configPath]);
  t.teardown(async () => {
    if (picket.running) await picket.stop(2000);
  });

  const started = await picket.started();
  const port = started.metricsPort as number;
  t.ok(port > 0, `metrics on port ${port}`);
  const url = `http://127.0.0.1:${port}/metrics`;
  t.match(started.msg, new RegExp(`capturing on ${v.hostIf} \\(filter "udp"\\)`));

  const scrape = async (until: (m: string) => boolean): Promise<string> => {
    let text = '';
    for (let i = 0; i < 100; i++) {
      text = await fetchText(url);
      if (until(text)) break;
      await sleep(100);
    }
    return text;
  };
  const iface = `interface="${v.hostIf}"`;
  /** Echo requests to the ghost neighbour (no replies: ping exits 1, which is expected). */
  const ping = (n: number): void => {
    try {
      sh('ip', ['netns', 'exec', v.ns, 'ping', '-c', String(n), '-i', '0.2', '-W', '1', ghost], 30_000);
    } catch {
      // no replies
    }
  };

  t.test('metrics count what was sent', async (t) => {
    udpFromNs(v, ghost, 5555, 50, 100, 40000);
    const m = await scrape((x) => metric(x, 'picket_packets_total', iface) === 50);
    t.equal(metric(m, 'picket_packets_total', iface), 50, 'picket_packets_total');
    // 100 bytes of payload + UDP 8 + IPv4 20 + Ethernet 14 = 142 on the wire.
    t.equal(metric(m, 'picket_bytes_total', iface), 50 * 142, 'picket_bytes_total');
    t.equal(metric(m, 'picket_drops_total', iface), 0, 'picket_drops_total');
    t.equal(metric(m, 'picket_interface_up', iface), 1);
    t.equal(metric(m, 'picket_flows_active'), 1, 'one UDP flow');
    t.equal(metric(m, 'picket_flows_evicted_total'), 0);
    t.equal(metric(m, 'picket_netflow_records_total'), 0);
    t.equal(metric(m, 'picket_parse_errors_total', 'dissector="dns"'), 0, 'parse errors labelled by dissector');
    t.equal(metric(m, 'picket_alerts_total', 'severity="high"'), 0, 'alerts by severity');
    t.equal(metric(m, 'picket_queue_depth'), 0);
    const age = metric(m, 'picket_model_age_seconds', `model="${modelPath}"`);
    t.ok(age !== undefined && age >= 3600 && age < 3700, `model age ${age} s (trained an hour ago)`);
    t.match(m, /# HELP picket_decode_errors_total/);
    t.match(m, /process_resident_memory_bytes/);
    const notFound = await fetch(url.replace('/metrics', '/'));
    t.equal(notFound.status, 404);
  });

  t.test('SIGHUP: new filter applies, flows keep their counters', async (t) => {
    // ICMP is filtered out by "udp".
    ping(2);
    await sleep(300);
    let m = await fetchText(url);
    t.equal(metric(m, 'picket_packets_total', iface), 50, 'ICMP not captured under filter "udp"');
    writeFileSync(configPath, config('udp or icmp', 'logging:\n  level: info\nalerts:\n  window: 60'));
    const before = picket.lines().length;
    picket.signal('SIGHUP');
    const reloaded = await picket.waitLog((l) => l.event === 'reloaded');
    t.match(reloaded.msg, /applied capture\.filter; filter "udp or icmp".*1 flows kept/);
    const cold = await picket.waitLog((l) => l.event === 'reload_needs_restart');
    t.match(cold.msg, /need a restart were not applied: alerts\.window/);
    t.ok(picket.lines().length > before);
    ping(3);
    udpFromNs(v, ghost, 5555, 30, 100, 40000);
    m = await scrape((x) => metric(x, 'picket_packets_total', iface) === 83);
    t.equal(metric(m, 'picket_packets_total', iface), 83, '50 + 30 UDP + 3 ICMP');
    t.equal(metric(m, 'picket_flows_active'), 2, 'the UDP flow and the new ICMP flow');
    t.equal(metric(m, 'picket_config_reloads_total', 'result="ok"'), 1);
  });

  t.test('a bad reload keeps the running configuration', async (t) => {
    writeFileSync(configPath, config('udp or icmp', 'flows:\n  max: lots').replace('flows:\n  idle_timeout', 'flowz:\n  idle_timeout'));
    picket.signal('SIGHUP');
    const failed = await picket.waitLog((l) => l.event === 'reload_failed');
    t.match(failed.msg, /^reload failed, keeping the running configuration: picket\.yaml:\d+: /);
    const bad = picket.lines().filter((l) => l.event === 'reload_failed');
    t.ok(bad.every((l: LogLine) => /picket\.yaml:\d+: /.test(l.msg)), bad.map((l) => l.msg).join('\n'));
    writeFileSync(configPath, config('port 99999'));
    picket.signal('SIGHUP');
    await picket.waitLog((l) => l.event === 'reload_failed' && /bad capture filter "port 99999"/.test(l.msg));
    const m = await fetchText(url);
    t.equal(metric(m, 'picket_config_reloads_total', 'result="failed"'), 2);
    udpFromNs(v, ghost, 5555, 5, 100, 40000);
    const after = await scrape((x) => metric(x, 'picket_packets_total', iface) === 88);
    t.equal(metric(after, 'picket_packets_total', iface), 88, 'still capturing with the old filter');
  });

  t.test('SIGTERM exports the flows and exits within a few seconds', async (t) => {
    const e = await picket.stop(10_000);
    t.equal(e.code, 0, 'exit code 0');
    t.ok(e.ms < 5000, `exited ${e.ms} ms after SIGTERM`);
    const stopped = picket.lines().find((l) => l.event === 'stopped');
    t.ok(stopped, 'a "stopped" line');
    t.match(stopped?.msg, /88 packets, 0 dropped, 2 flow records/);
    const flows = readFileSync(flowsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const udp = flows.filter((f) => f.network.transport === 'udp');
    t.equal(udp.length, 1, 'one UDP flow record: the reload did not split it');
    t.equal(udp[0]?.source.packets, 85, 'with the packets from before and after the reloads');
    t.equal(udp[0]?.source.port, 40000);
    t.equal(udp[0]?.picket?.flow?.end_reason, 'end_of_input', 'exported at shutdown');
    const icmp = flows.filter((f) => f.network.transport === 'icmp');
    t.equal(icmp.length, 1);
    t.equal(icmp[0]?.source.packets, 3);
    // One line per state change: nothing per packet.
    t.ok(picket.lines().length < 20, `${picket.lines().length} log lines in the whole run`);
    t.equal(picket.stderr, '', 'nothing on stderr');
  });
}
