#!/usr/bin/env node
/**
 * Regenerates ws-frames.pcap: WebSocket connections made with Node's http `upgrade` event and a
 * raw TCP client sending hand-made RFC 6455 frames, captured by tcpdump in a private network
 * namespace (10.13.0.0/16 on its loopback). Needs root, `ip`, `tcpdump`.
 * Usage: node test/captures/websocket/generate.mjs [OUT.pcap]
 *
 * Needs tshark too (checks the capture has no missing segments); retries up to 3 times.
 *
 * Server 10.13.0.1, client 10.13.0.2. Frame counts per connection (what the test asserts):
 *  A. port 8765, subprotocol `chat` chosen from `chat, superchat`, permessage-deflate requested and
 *     declined. Client (masked): text "hello"; binary 300 B (16-bit length); text in 3 fragments
 *     (text + 2 continuations); ping; close 1000 "bye" → 7 frames, 3 messages.
 *     Server: text "welcome"; pong; binary 65536 B (64-bit length, the smallest that needs it); close 1000 → 4 frames.
 *  B. port 8766, permessage-deflate accepted: client 2 compressed text frames (RSV1), server 2
 *     compressed text frames, server closes 1001 "going away", client answers close 1001.
 *  C. port 8767, upgrade refused with 403 (plain HTTP, no frames).
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { CLIENT, runGenerator, SERVER, sleep } from '../netns-capture.mjs';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const here = dirname(fileURLToPath(import.meta.url));
/** Deterministic bytes (xorshift) so regenerated captures carry the same payloads. */
function pseudoRandom(n, seed) {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** One RFC 6455 frame; `mask` for client frames. */
function wsFrame(opcode, payload, { fin = true, mask = false, rsv1 = false } = {}) {
  const p = Buffer.from(payload);
  const len = p.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const h = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  h[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  h[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) h.writeUInt16BE(len, 2);
  if (ext === 8) h.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([h, p]);
  const key = randomBytes(4);
  key.copy(h, 2 + ext);
  const m = Buffer.alloc(len);
  for (let i = 0; i < len; i++) m[i] = p[i] ^ key[i & 3];
  return Buffer.concat([h, m]);
}

function closePayload(code, reason) {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

/** permessage-deflate body (RFC 7692 §7.2.1): raw deflate without the trailing 00 00 ff ff. */
function deflate(text) {
  const d = zlib.deflateRawSync(Buffer.from(text), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return d.subarray(0, d.length - 4);
}

/** Minimal frame reader for the scripted peers: calls back with (opcode, unmasked payload). */
function frames(socket, cb) {
  let buf = Buffer.alloc(0);
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      const masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f;
      let p = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        p = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        p = 10;
      }
      const key = masked ? buf.subarray(p, p + 4) : null;
      if (masked) p += 4;
      if (buf.length < p + len) return;
      const payload = Buffer.from(buf.subarray(p, p + len));
      if (key) for (let i = 0; i < len; i++) payload[i] ^= key[i & 3];
      cb(buf[0] & 0x0f, payload);
      buf = buf.subarray(p + len);
    }
  });
}

function serverOn(port, handler) {
  const server = http.createServer((req, res) => {
    res.writeHead(404);
    res.end();
  });
  server.on('upgrade', (req, socket) => handler(req, socket));
  server.listen(port, SERVER);
  return once(server, 'listening').then(() => server);
}

function accept(key) {
  return createHash('sha1').update(key + GUID).digest('base64');
}

async function clientHandshake(port, extraHeaders) {
  const c = net.connect({ host: SERVER, port, localAddress: CLIENT });
  await once(c, 'connect');
  c.setNoDelay(true);
  const key = randomBytes(16).toString('base64');
  c.write(`GET /chat?room=7 HTTP/1.1\r\nHost: ${SERVER}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://picket.test\r\n${extraHeaders}\r\n`);
  let head = '';
  const onData = (d) => (head += d.toString('latin1'));
  c.on('data', onData);
  while (!head.includes('\r\n\r\n')) await sleep(2);
  c.off('data', onData);
  return { c, head };
}

async function flowA() {
  const server = await serverOn(8765, async (req, socket) => {
    socket.setNoDelay(true);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(req.headers['sec-websocket-key'])}\r\nSec-WebSocket-Protocol: chat\r\n\r\n`);
    setTimeout(() => socket.write(wsFrame(1, 'welcome')), 5);
    frames(socket, async (op, payload) => {
      if (op === 9) {
        socket.write(wsFrame(10, payload));
        await sleep(10);
        socket.write(wsFrame(2, pseudoRandom(65536, 7)));
      }
      if (op === 8) {
        socket.end(wsFrame(8, payload.subarray(0, 2)));
      }
    });
  });
  const { c } = await clientHandshake(8765, 'Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n');
  const ended = once(c, 'end');
  let got = 0;
  frames(c, (op) => {
    got++;
    void op;
  });
  const send = async (f) => {
    c.write(f);
    await sleep(10);
  };
  await sleep(10);
  await send(wsFrame(1, 'hello', { mask: true }));
  await send(wsFrame(2, pseudoRandom(300, 3), { mask: true }));
  await send(wsFrame(1, 'part1-', { mask: true, fin: false }));
  await send(wsFrame(0, 'part2-', { mask: true, fin: false }));
  await send(wsFrame(0, 'part3', { mask: true }));
  await send(wsFrame(9, 'p1', { mask: true }));
  while (got < 3) await sleep(5); // welcome, pong, big binary
  await send(wsFrame(8, closePayload(1000, 'bye'), { mask: true }));
  await ended;
  c.end();
  server.close();
}

async function flowB() {
  const server = await serverOn(8766, async (req, socket) => {
    socket.setNoDelay(true);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(req.headers['sec-websocket-key'])}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`);
    let n = 0;
    frames(socket, async (op) => {
      if (op === 1 && ++n === 2) {
        for (const t of ['{"quote":"compressed answer one"}', '{"quote":"compressed answer two, a little longer"}']) {
          socket.write(wsFrame(1, deflate(t), { rsv1: true }));
          await sleep(10);
        }
        socket.write(wsFrame(8, closePayload(1001, 'going away')));
      }
      if (op === 8) socket.end();
    });
  });
  const { c } = await clientHandshake(8766, 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n');
  const ended = once(c, 'end');
  frames(c, (op, payload) => {
    if (op === 8) c.write(wsFrame(8, payload.subarray(0, 2), { mask: true }));
  });
  for (const t of ['{"ask":"first compressed question"}', '{"ask":"second compressed question"}']) {
    c.write(wsFrame(1, deflate(t), { mask: true, rsv1: true }));
    await sleep(10);
  }
  await ended;
  c.end();
  server.close();
}

async function flowC() {
  const server = await serverOn(8767, (req, socket) => {
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nforbidden\n');
  });
  const { c } = await clientHandshake(8767, '');
  await sleep(20);
  c.end();
  server.close();
}

async function traffic() {
  await flowA();
  await flowB();
  await flowC();
}

await runGenerator({ ns: 'pk-ws-gen', script: import.meta.url, defaultOut: join(here, 'ws-frames.pcap'), traffic });
