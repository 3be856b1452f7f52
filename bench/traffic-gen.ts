/**
 * Client side of the benchmark traffic: real TCP/TLS/UDP conversations against real servers
 * (nginx, dnsmasq) in a network namespace. Run inside the client namespace by
 * make-bench-capture.sh; every loop is bounded by a count.
 *
 *   node dist/bench/traffic-gen.js SERVER_IP [scale]
 */
import http from 'node:http';
import https from 'node:https';
import dgram from 'node:dgram';

const server = process.argv[2] ?? '10.20.0.1';
const scale = Number(process.argv[3] ?? 1);

async function httpRequests(n: number, secure: boolean, paths: string[], parallel: number): Promise<number> {
  // A fresh connection per request (agent without keep-alive): many short flows, as browsers and bots make.
  const mod = secure ? https : http;
  let done = 0;
  let failed = 0;
  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const req = mod.request(
        {
          host: server,
          port: secure ? 443 : 80,
          path: paths[i % paths.length],
          agent: false, // a new TCP connection for every request
          rejectUnauthorized: false,
          headers: { 'user-agent': `picket-bench/${i % 7}`, connection: 'close' },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            done++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end();
    });
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) await one(next++);
    }),
  );
  if (failed) process.stderr.write(`${failed} ${secure ? 'https' : 'http'} requests failed\n`);
  return done;
}

function dnsQuery(id: number, name: string): Buffer {
  const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
  return Buffer.concat([Buffer.from([id >> 8, id & 0xff, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

async function dns(n: number): Promise<number> {
  // Many client ports (one socket per 500 queries), paced so dnsmasq keeps up.
  let answered = 0;
  for (let base = 0; base < n; base += 500) {
    const sock = dgram.createSocket('udp4');
    sock.on('message', () => answered++);
    await new Promise<void>((r) => sock.bind(0, r));
    for (let i = base; i < Math.min(n, base + 500); i++) {
      const name = i % 3 === 0 ? `host${i % 50}.bench.local` : i % 3 === 1 ? `nx-${i.toString(36)}.bench.local` : 'www.bench.local';
      sock.send(dnsQuery(i & 0xffff, name), 53, server);
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise((r) => setTimeout(r, 50));
    sock.close();
  }
  return answered;
}

async function udpStream(packets: number, size: number, port: number): Promise<void> {
  // An RTP-like constant stream to a UDP sink.
  const sock = dgram.createSocket('udp4');
  const payload = Buffer.alloc(size, 0x5a);
  for (let i = 0; i < packets; i++) {
    payload.writeUInt32BE(i, 0);
    sock.send(payload, port, server);
    if (i % 200 === 0) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 200));
  sock.close();
}

const t0 = Date.now();
const small = ['/small.html', '/index.html', '/small.html?x=1', '/missing', '/medium.bin'];
const results = await Promise.all([
  httpRequests(Math.round(12000 * scale), false, small, 16),
  httpRequests(Math.round(3000 * scale), true, small, 8),
  httpRequests(Math.round(40 * scale), false, ['/large.bin'], 2),
  dns(Math.round(40000 * scale)),
  udpStream(Math.round(350000 * scale), 172, 5004),
]);
process.stderr.write(`traffic: http ${results[0]}, https ${results[1]}, large ${results[2]}, dns answered ${results[3]}; ${(Date.now() - t0) / 1000} s\n`);
