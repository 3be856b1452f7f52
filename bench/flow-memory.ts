/**
 * Peak RSS with N concurrent flows (default 100 k): every flow gets a TCP handshake and a
 * request/response payload (so ordered-payload streams and dissector state exist), none ends.
 *
 *   node --expose-gc dist/bench/flow-memory.js [--flows 100000] [--no-dissect]
 */
import { RawPacket } from '../agent/source/raw-packet.js';
import { PacketPipeline } from '../agent/pipeline/packet-pipeline.js';
import { DissectStage } from '../agent/dissect/dissect-stage.js';
import { DISSECTORS } from '../agent/dissect/registry.js';
import { tcpFrame } from '../test/helpers/frames.js';

const args = process.argv.slice(2);
const flows = Number(args[args.indexOf('--flows') + 1] ?? 100_000) || 100_000;
const dissect = !args.includes('--no-dissect');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;

const rss = (): number => process.memoryUsage().rss / 1e6;
const heap = (): number => {
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 1e6;
};
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
gc();
const base = rss();
const baseHeap = heap();

const stage = dissect ? new DissectStage(only ? { dissectors: DISSECTORS.filter((d) => d.name === only) } : {}) : undefined;
const pipeline = new PacketPipeline({ ...(stage ? { observer: stage } : {}), onRecord: () => {} });
const raw = new RawPacket();
raw.linkType = 1;
const request = 'GET /index.html HTTP/1.1\r\nHost: example.test\r\nUser-Agent: bench\r\n\r\n';
const response = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/html\r\n\r\nhello';
// Frame templates; per flow only the client address and port bytes change.
const tpl = [
  tcpFrame({ src: '10.0.0.1', dst: '192.0.2.80', sport: 1, dport: 80, flags: 'S', seq: 1000 }),
  tcpFrame({ src: '192.0.2.80', dst: '10.0.0.1', sport: 80, dport: 1, flags: 'SA', seq: 5000, ack: 1001 }),
  tcpFrame({ src: '10.0.0.1', dst: '192.0.2.80', sport: 1, dport: 80, flags: 'A', seq: 1001, ack: 5001 }),
  tcpFrame({ src: '10.0.0.1', dst: '192.0.2.80', sport: 1, dport: 80, flags: 'PA', seq: 1001, ack: 5001, payload: request }),
  tcpFrame({ src: '192.0.2.80', dst: '10.0.0.1', sport: 80, dport: 1, flags: 'PA', seq: 5001, ack: 1001 + request.length, payload: response }),
];
const clientIsSrc = [true, false, true, true, false];
const t0 = performance.now();
let ts = 1_700_000_000e6;
for (let i = 0; i < flows; i++) {
  const a = 10;
  const b = (i >> 16) & 0xff;
  const c = (i >> 8) & 0xff;
  const d = i & 0xff;
  const port = 1024 + (i % 60000);
  for (let k = 0; k < tpl.length; k++) {
    const f = tpl[k]!;
    const ipOff = clientIsSrc[k] ? 14 + 12 : 14 + 16;
    f[ipOff] = a;
    f[ipOff + 1] = b;
    f[ipOff + 2] = c;
    f[ipOff + 3] = d;
    const portOff = clientIsSrc[k] ? 34 : 36;
    f[portOff] = port >> 8;
    f[portOff + 1] = port & 0xff;
    raw.buf = f;
    raw.off = 0;
    raw.capLen = raw.wireLen = f.length;
    raw.tsUs = ts += 1;
    pipeline.packet(raw);
  }
}
const secs = (performance.now() - t0) / 1000;
gc();
const active = pipeline.table.stats.active;
const now = rss();
process.stdout.write(
  `${active.toLocaleString('en-US')} concurrent flows (${dissect ? (only ?? 'all dissectors') : 'without dissectors'}): RSS ${now.toFixed(0)} MB ` +
    `(process baseline ${base.toFixed(0)} MB, +${(now - base).toFixed(0)} MB = ${(((now - base) * 1e6) / active).toFixed(0)} B/flow), ` +
    `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB; live heap + buffers +${(heap() - baseHeap).toFixed(0)} MB = ${(((heap() - baseHeap) * 1e6) / active).toFixed(0)} B/flow; ${((flows * tpl.length) / secs / 1e6).toFixed(2)} M packets/s while filling\n`,
);
