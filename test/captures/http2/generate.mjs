#!/usr/bin/env node
/**
 * Regenerates h2c-grpc.pcap: real cleartext HTTP/2 traffic from Node's http2 module, captured by
 * tcpdump inside a private network namespace (10.13.0.0/16 on its loopback). Needs root, `ip`,
 * `tcpdump`. Usage: node test/captures/http2/generate.mjs [OUT.pcap]
 *
 * Needs tshark too (checks the capture has no missing segments); retries up to 3 times.
 *
 * Flows (server 10.13.0.1, client 10.13.0.2):
 *  A. prior knowledge, port 50051, five gRPC-shaped calls on one connection (streams 1,3,5,7,9):
 *     /picket.test.Echo/Say         unary              1 → 1 message, grpc-status 0
 *     /picket.test.Feed/Subscribe   server streaming   1 → 5, grpc-status 0
 *     /picket.test.Upload/Send      client streaming   4 → 1 (one message split over two DATA
 *                                                      frames, prefix apart from body), status 0
 *     /picket.test.Chat/Talk        bidirectional      3 → 3 (one 20000-byte response spans two
 *                                                      DATA frames), grpc-status 0
 *     /picket.test.Echo/Missing     unary, trailers-only grpc-status 5, grpc-message "no such item: é"
 *  B. prior knowledge, port 8080: plain GET /hello → 200 text/plain (no gRPC)
 *  C. HTTP/1.1 Upgrade: h2c, port 8081, hand-made frames: GET /upgraded → 101, then the server
 *     answers stream 1 with :status 200 and 6 bytes of DATA.
 */
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { CLIENT, runGenerator, SERVER, sleep } from '../netns-capture.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** gRPC length-prefixed message: flag 0, 4-byte big-endian length, body. */
function grpcMessage(body) {
  const b = Buffer.from(body);
  const m = Buffer.alloc(5 + b.length);
  m.writeUInt32BE(b.length, 1);
  b.copy(m, 5);
  return m;
}

/** Reads length-prefixed messages from a stream, calls back with each body. */
function onMessages(stream, cb) {
  let pending = Buffer.alloc(0);
  stream.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 5) {
      const len = pending.readUInt32BE(1);
      if (pending.length < 5 + len) break;
      cb(pending.subarray(5, 5 + len));
      pending = pending.subarray(5 + len);
    }
  });
}

async function grpcServer() {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const path = headers[':path'];
    if (path === '/picket.test.Echo/Missing') {
      // Trailers-only response (gRPC spec): status in the only HEADERS frame.
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': encodeURIComponent('no such item: é') }, { endStream: true });
      return;
    }
    const got = [];
    stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-encoding': 'identity' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK' }));
    const reply = async (body) => {
      stream.write(grpcMessage(body));
      await sleep(5);
    };
    onMessages(stream, async (m) => {
      got.push(m);
      if (path === '/picket.test.Chat/Talk') await reply(got.length === 2 ? 'x'.repeat(20000) : `echo ${m}`);
    });
    stream.on('end', async () => {
      if (path === '/picket.test.Echo/Say') await reply(`hello ${got[0]}`);
      if (path === '/picket.test.Feed/Subscribe') for (let i = 0; i < 5; i++) await reply(`tick ${i}`);
      if (path === '/picket.test.Upload/Send') await reply(`stored ${got.length}`);
      stream.end();
    });
  });
  server.listen(50051, SERVER);
  await once(server, 'listening');
  return server;
}

async function grpcClient() {
  const session = http2.connect(`http://${SERVER}:50051`, { createConnection: () => net.connect({ host: SERVER, port: 50051, localAddress: CLIENT }) });
  const call = async (path, messages, opts = {}) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc+proto', te: 'trailers', 'user-agent': 'picket-grpc-gen/1.0' });
    req.on('data', () => {});
    const done = once(req, 'close');
    for (const m of messages) {
      if (opts.split && m === messages[1]) {
        const whole = grpcMessage(m);
        req.write(whole.subarray(0, 5));
        await sleep(5);
        req.write(whole.subarray(5));
      } else req.write(grpcMessage(m));
      await sleep(5);
    }
    req.end();
    await done;
  };
  await call('/picket.test.Echo/Say', ['world']);
  await call('/picket.test.Feed/Subscribe', ['topic-a']);
  await call('/picket.test.Upload/Send', ['part-1', 'part-2-split', 'part-3', 'part-4'], { split: true });
  await call('/picket.test.Chat/Talk', ['hi', 'big please', 'bye']);
  await call('/picket.test.Echo/Missing', ['item-42']);
  session.close();
  await once(session, 'close');
}

async function plainH2() {
  const server = http2.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello over h2c\n');
  });
  server.listen(8080, SERVER);
  await once(server, 'listening');
  const session = http2.connect(`http://${SERVER}:8080`, { createConnection: () => net.connect({ host: SERVER, port: 8080, localAddress: CLIENT }) });
  const req = session.request({ ':method': 'GET', ':path': '/hello', 'user-agent': 'picket-h2-gen/1.0' });
  req.on('data', () => {});
  await once(req, 'close');
  session.close();
  await once(session, 'close');
  server.close();
}

function frame(type, flags, stream, payload) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

/** h2c upgrade with hand-made frames (Node's http2 has no Upgrade support). */
async function h2cUpgrade() {
  const server = net.createServer((sock) => {
    let head = '';
    sock.on('data', async (d) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n') || sock.upgraded) return;
      sock.upgraded = true;
      sock.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
      sock.write(frame(4, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100]))); // SETTINGS max_concurrent_streams 100
      await sleep(20);
      // Stream 1 response: HEADERS {:status 200 (static index 8), content-type: text/plain (literal, indexed name 31)}
      const block = Buffer.concat([Buffer.from([0x88, 0x0f, 0x10, 10]), Buffer.from('text/plain')]);
      sock.write(frame(1, 4, 1, block));
      sock.write(frame(0, 1, 1, Buffer.from('hello\n')));
      await sleep(20);
      sock.end();
    });
  });
  server.listen(8081, SERVER);
  await once(server, 'listening');
  const c = net.connect({ host: SERVER, port: 8081, localAddress: CLIENT });
  await once(c, 'connect');
  c.write('GET /upgraded HTTP/1.1\r\nHost: 10.13.0.1:8081\r\nUser-Agent: picket-h2c-gen/1.0\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAEAAEAAAAIAAAAA\r\n\r\n');
  let buf = '';
  c.on('data', (d) => (buf += d.toString('latin1')));
  while (!buf.includes('\r\n\r\n')) await sleep(5);
  c.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'));
  c.write(frame(4, 0, 0, Buffer.alloc(0)));
  await sleep(10);
  c.write(frame(4, 1, 0, Buffer.alloc(0))); // SETTINGS ACK
  await once(c, 'end');
  c.end();
  server.close();
}

async function traffic() {
  const s = await grpcServer();
  await grpcClient();
  s.close();
  await plainH2();
  await h2cUpgrade();
}

await runGenerator({ ns: 'pk-h2-gen', script: import.meta.url, defaultOut: join(here, 'h2c-grpc.pcap'), traffic });
