/** The stratum dissector the crypto-mining detector relies on: segment-size invariance, xmrig logins, limits, non-JSON. */
import t from 'tap';
import { driveDissector, type Chunk } from './helpers/dissect-driver.js';
import { stratumDissector, STRATUM_LIMITS, type StratumMeta } from '../agent/dissect/stratum/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const CLIENT = [
  '{"id":1,"method":"mining.subscribe","params":["cpuminer/2.5.1"]}\n',
  '{"id":2,"method":"mining.authorize","params":["worker1.rig7","x"]}\n',
  '{"id":3,"method":"mining.submit","params":["worker1.rig7","bf","00000001","504e86ed","b2957c02"]}\n',
].join('');
const SERVER = '{"id":null,"method":"mining.notify","params":["bf","4d16"]}\n{"id":1,"result":true,"error":null}\n';

t.test('same metadata whatever the segment sizes (a method key split across segments)', async (t) => {
  const whole = driveDissector<StratumMeta>(stratumDissector, { serverPort: 3333 }, [{ dir: 0, bytes: enc(CLIENT) }, { dir: 1, bytes: enc(SERVER) }]);
  t.same(whole.meta, {
    methods: ['mining.subscribe', 'mining.authorize', 'mining.submit', 'mining.notify'],
    miningMethods: ['mining.subscribe', 'mining.authorize', 'mining.submit', 'mining.notify'],
    submits: 1, jobs: 1, worker: 'worker1.rig7',
  });
  t.same(whole.events.map((e) => e.data.method), ['mining.subscribe', 'mining.authorize', 'mining.submit', 'mining.notify']);
  // The probe sees a direction's first segment only, so that one carries the start of a message.
  for (const size of [1, 3, 7, 50]) {
    const chunks: Chunk[] = [{ dir: 0, bytes: enc(CLIENT.slice(0, 20)) }];
    for (let i = 20; i < CLIENT.length; i += size) chunks.push({ dir: 0, bytes: enc(CLIENT.slice(i, i + size)) });
    chunks.push({ dir: 1, bytes: enc(SERVER) });
    const r = driveDissector<StratumMeta>(stratumDissector, { serverPort: 3333 }, chunks);
    t.same(r.meta, whole.meta, `${size}-byte segments`);
  }
});

t.test('xmrig login with an object of params; eth_submitLogin; stratumDissector.ecs/appProtocol', async (t) => {
  const x = driveDissector<StratumMeta>(stratumDissector, {}, [{ dir: 0, bytes: enc('{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4BCeEPhodgPMb","pass":"x","agent":"XMRig/6.21.0"}}\n') }]);
  t.equal(x.meta?.worker, '4BCeEPhodgPMb');
  t.same(x.meta?.miningMethods, ['login']);
  t.equal(stratumDissector.appProtocol!(x.meta!), 'stratum');
  t.match(stratumDissector.ecs(x.meta!), { picket: { stratum: { methods: ['login'], worker: '4BCeEPhodgPMb' } } });
  const plain = driveDissector<StratumMeta>(stratumDissector, {}, [{ dir: 0, bytes: enc('{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}\n') }]);
  t.same(plain.meta?.miningMethods, [], 'ordinary JSON-RPC is not mining');
  t.equal(stratumDissector.appProtocol!(plain.meta!), undefined);
});

t.test('not JSON-RPC: not claimed; bounded scan; hostile bytes never throw', async (t) => {
  t.notOk(driveDissector(stratumDissector, {}, [{ dir: 0, bytes: enc('GET / HTTP/1.1\r\n\r\n') }]).probed);
  t.notOk(driveDissector(stratumDissector, {}, [{ dir: 0, bytes: enc('{"a":1}') }]).probed);
  const big: Chunk[] = [{ dir: 0, bytes: enc('{"id":1,"method":"mining.subscribe","params":[]}\n') }];
  for (let i = 0; i < 40; i++) big.push({ dir: 0, bytes: enc(`{"id":${i},"method":"m${i}","params":[]}`.padEnd(1000, ' ') + '\n') });
  const r = driveDissector<StratumMeta>(stratumDissector, {}, big);
  t.equal(r.meta!.methods.length, STRATUM_LIMITS.maxMethods, 'method names capped');
  t.ok((r.counters.get('limit.scan_bytes') ?? 0) >= 1, 'scan budget hit and counted');
  let seed = 7;
  for (let n = 0; n < 300; n++) {
    const b = new Uint8Array(200);
    for (let i = 0; i < b.length; i++) b[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    const head = enc('{"method":"');
    b.set(head, 0);
    try {
      driveDissector(stratumDissector, {}, [{ dir: 0, bytes: b }, { dir: 0, bytes: b.subarray(50) }]);
    } catch (err) {
      t.fail(`threw on random input ${n}: ${String(err)}`);
    }
  }
  t.pass('300 random inputs parsed without throwing');
});
