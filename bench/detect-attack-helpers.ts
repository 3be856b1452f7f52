/**
 * Small traffic programs for the labelled-capture generator (bench/detect-make-labelled-capture.sh),
 * for the attacks no installed tool makes in a bounded way. Each one stops by itself.
 *
 *   node dist/bench/detect-attack-helpers.js dns-tunnel SERVER DOMAIN COUNT RATE   TXT queries with base32 data labels
 *   node dist/bench/detect-attack-helpers.js dga SERVER COUNT RATE                 A queries for random .com/.net names
 *   node dist/bench/detect-attack-helpers.js stratum-server HOST PORT SECONDS      a pool answering stratum JSON-RPC
 *   node dist/bench/detect-attack-helpers.js stratum-client HOST PORT SECONDS      a miner: subscribe, authorize, submit
 *   node dist/bench/detect-attack-helpers.js http-sink HOST PORT SECONDS           accepts uploads, answers 200
 *   node dist/bench/detect-attack-helpers.js ws-server HOST PORT SECONDS           a WebSocket "C2" answering each frame
 *   node dist/bench/detect-attack-helpers.js ws-client URL SECONDS INTERVAL_MS     polls it with small frames (±10 % jitter)
 *   node dist/bench/detect-attack-helpers.js grpc-server HOST PORT SECONDS         h2c gRPC server: every method UNIMPLEMENTED
 *   node dist/bench/detect-attack-helpers.js grpc-probe URL COUNT                  calls COUNT made-up service methods
 */
import { createSocket } from 'node:dgram';
import { createServer, connect } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { createServer as createH2Server, connect as connectH2, constants as h2 } from 'node:http2';
import { WebSocketServer, WebSocket } from 'ws';

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** A DNS query message (RD set) for one name and type. */
function query(id: number, name: string, qtype: number): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0);
  const parts: Buffer[] = [Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'ascii'));
  parts.push(Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1]));
  return Buffer.concat(parts);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function sendQueries(server: string, names: string[], qtype: number, rate: number): Promise<void> {
  const sock = createSocket('udp4');
  let answered = 0;
  sock.on('message', () => answered++);
  for (let i = 0; i < names.length; i++) {
    sock.send(query((i * 7919 + 1) & 0xffff, names[i]!, qtype), 53, server);
    await sleep(1000 / rate);
  }
  await sleep(500);
  sock.close();
  process.stderr.write(`${names.length} queries, ${answered} answers\n`);
}

async function main(): Promise<void> {
  const [cmd, ...a] = process.argv.slice(2);
  if (cmd === 'dns-tunnel') {
    const [server = '', domain = '', count = '60', rate = '5'] = a;
    const names: string[] = [];
    for (let i = 0; i < Number(count); i++) {
      // 30 bytes of "data" per query in two labels, plus a sequence number: what tunnels send.
      const data = base32(randomBytes(30));
      names.push(`${data.slice(0, 30)}.${data.slice(30)}${i.toString(36)}.${domain}`);
    }
    await sendQueries(server, names, 16, Number(rate));
  } else if (cmd === 'dga') {
    const [server = '', count = '40', rate = '4'] = a;
    const names: string[] = [];
    for (let i = 0; i < Number(count); i++) {
      const len = 10 + (randomBytes(1)[0]! % 6);
      let label = '';
      for (const b of randomBytes(len)) label += 'abcdefghijklmnopqrstuvwxyz'[b % 26];
      names.push(`${label}.${i % 2 ? 'net' : 'com'}`);
    }
    await sendQueries(server, names, 1, Number(rate));
  } else if (cmd === 'stratum-server') {
    const [host = '', port = '3333', seconds = '60'] = a;
    const server = createServer((s) => {
      s.setEncoding('utf8');
      let buf = '';
      s.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let msg: { id?: number; method?: string };
          try {
            msg = JSON.parse(line) as { id?: number; method?: string };
          } catch {
            continue;
          }
          s.write(JSON.stringify({ id: msg.id ?? null, result: msg.method === 'mining.subscribe' ? [[['mining.notify', 'ae6812eb4cd7735a']], '08000002', 4] : true, error: null }) + '\n');
          if (msg.method === 'mining.authorize') {
            s.write(JSON.stringify({ id: null, method: 'mining.set_difficulty', params: [1] }) + '\n');
            s.write(JSON.stringify({ id: null, method: 'mining.notify', params: ['bf', '4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000', '01000000', '072f736c7573682f', [], '00000002', '1c2ac4af', '504e86b9', false] }) + '\n');
          }
        }
      });
      s.on('error', () => s.destroy());
    });
    server.listen(Number(port), host);
    setTimeout(() => server.close(), Number(seconds) * 1000).unref();
    await new Promise((r) => server.on('close', r));
  } else if (cmd === 'stratum-client') {
    const [host = '', port = '3333', seconds = '10'] = a;
    const s = connect(Number(port), host);
    await new Promise((r, j) => {
      s.once('connect', r);
      s.once('error', j);
    });
    s.on('data', () => {});
    let id = 1;
    const send = (method: string, params: unknown[]): void => void s.write(JSON.stringify({ id: id++, method, params }) + '\n');
    send('mining.subscribe', ['cpuminer/2.5.1']);
    send('mining.authorize', ['worker1.rig7', 'x']);
    const end = Date.now() + Number(seconds) * 1000;
    while (Date.now() < end) {
      await sleep(1000);
      send('mining.submit', ['worker1.rig7', 'bf', '00000001', '504e86ed', randomBytes(4).toString('hex')]);
    }
    s.end();
  } else if (cmd === 'http-sink') {
    const [host = '', port = '8080', seconds = '60'] = a;
    const server = createHttpServer((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(`received ${n}\n`));
    });
    server.listen(Number(port), host);
    setTimeout(() => server.close(), Number(seconds) * 1000).unref();
    await new Promise((r) => server.on('close', r));
  } else if (cmd === 'ws-server') {
    const [host = '', port = '8081', seconds = '60'] = a;
    const wss = new WebSocketServer({ host, port: Number(port) });
    wss.on('connection', (ws) => ws.on('message', () => ws.send(JSON.stringify({ task: 'sleep', n: randomBytes(2).readUInt16BE() }))));
    await sleep(Number(seconds) * 1000);
    for (const c of wss.clients) c.terminate();
    wss.close();
  } else if (cmd === 'ws-client') {
    const [url = '', seconds = '130', interval = '3000'] = a;
    const ws = new WebSocket(url);
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    ws.on('message', () => {});
    const end = Date.now() + Number(seconds) * 1000;
    let n = 0;
    while (Date.now() < end) {
      ws.send(JSON.stringify({ id: 'agent-7', seq: n++, status: 'ok' }));
      await sleep(Number(interval) * (0.9 + 0.2 * (randomBytes(1)[0]! / 255)));
    }
    ws.close();
  } else if (cmd === 'grpc-server') {
    const [host = '', port = '50051', seconds = '60'] = a;
    const server = createH2Server();
    server.on('stream', (stream) => {
      stream.on('data', () => {});
      stream.on('end', () => {
        stream.respond({ [h2.HTTP2_HEADER_STATUS]: 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '12', 'grpc-message': 'unknown service' }));
        stream.end();
      });
    });
    server.listen(Number(port), host);
    setTimeout(() => server.close(), Number(seconds) * 1000).unref();
    await new Promise((r) => server.on('close', r));
  } else if (cmd === 'grpc-probe') {
    const [url = '', count = '30'] = a;
    const client = connectH2(url);
    const services = ['admin.Admin', 'grpc.health.v1.Health', 'config.Config', 'users.Users', 'debug.Debug', 'backup.Backup'];
    for (let i = 0; i < Number(count); i++) {
      const path = `/${services[i % services.length]}/${['List', 'Get', 'Exec', 'Dump', 'Reset'][i % 5]}${i}`;
      const req = client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
      req.on('data', () => {});
      await new Promise<void>((r) => {
        req.on('close', () => r());
        req.end(Buffer.from([0, 0, 0, 0, 0]));
      });
      await sleep(50);
    }
    client.close();
  } else {
    process.stderr.write('usage: detect-attack-helpers.js dns-tunnel|dga|stratum-server|stratum-client|http-sink|ws-server|ws-client|grpc-server|grpc-probe ...\n');
    process.exitCode = 2;
  }
}

await main();
