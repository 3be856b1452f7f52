/**
 * Helpers for the live-capture tests (not a test file): network namespaces with a veth pair whose
 * host end stays in the test's namespace, so the addon captures there while traffic is generated
 * inside the namespace. Names start with pk-live-, addresses are 10.6.<subnet>.0/24.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** One namespace + veth pair: `hostIf` (10.6.N.1) here, `nsIf` (10.6.N.2) inside `ns`. */
export interface Veth {
  ns: string;
  hostIf: string;
  nsIf: string;
  hostAddr: string;
  nsAddr: string;
  subnet: number;
}

/** Runs a command and returns stdout; throws with stderr on failure. */
export function sh(cmd: string, args: readonly string[], timeoutMs = 30_000): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command inside a namespace. */
export function nsExec(ns: string, cmd: string, args: readonly string[], timeoutMs = 30_000): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
}

function quiet(cmd: string, args: readonly string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // absent already
  }
}

/** Makes the names for `id` (at most 5 characters so interface names fit in 15). */
export function vethNames(id: string, subnet: number): Veth {
  if (id.length > 5) throw new Error('veth id too long');
  return {
    ns: `pk-live-${id}`,
    hostIf: `pk-live-${id}h`,
    nsIf: `pk-live-${id}n`,
    hostAddr: `10.6.${subnet}.1`,
    nsAddr: `10.6.${subnet}.2`,
    subnet,
  };
}

/**
 * Creates namespace + veth pair, both ends up with IPv6 off (no router solicitations or MLD
 * reports to disturb packet counts). Removes leftovers of an earlier crashed run first.
 */
export function createVeth(id: string, subnet: number): Veth {
  const v = vethNames(id, subnet);
  deleteVeth(v);
  sh('ip', ['netns', 'add', v.ns]);
  addLink(v);
  nsExec(v.ns, 'ip', ['link', 'set', 'lo', 'up']);
  return v;
}

/** (Re)creates only the veth pair of an existing namespace, as after an interface was deleted. */
export function addLink(v: Veth): void {
  sh('ip', ['link', 'add', v.hostIf, 'type', 'veth', 'peer', 'name', v.nsIf, 'netns', v.ns]);
  sh('sysctl', ['-qw', `net.ipv6.conf.${v.hostIf}.disable_ipv6=1`]);
  nsExec(v.ns, 'sysctl', ['-qw', `net.ipv6.conf.${v.nsIf}.disable_ipv6=1`]);
  sh('ip', ['addr', 'add', `${v.hostAddr}/24`, 'dev', v.hostIf]);
  nsExec(v.ns, 'ip', ['addr', 'add', `${v.nsAddr}/24`, 'dev', v.nsIf]);
  sh('ip', ['link', 'set', v.hostIf, 'up']);
  nsExec(v.ns, 'ip', ['link', 'set', v.nsIf, 'up']);
}

/** Deletes the host end (which removes its peer too). */
export function deleteLink(v: Veth): void {
  quiet('ip', ['link', 'del', v.hostIf]);
}

/** Removes everything createVeth made; safe to call twice. */
export function deleteVeth(v: Veth): void {
  deleteLink(v);
  quiet('ip', ['netns', 'del', v.ns]);
}

/**
 * Sends `count` UDP datagrams of `size` payload bytes from inside the namespace to the host end
 * (a node one-liner, so the number sent is exact). Resolves when all were handed to the kernel.
 */
export function udpBurst(v: Veth, port: number, count: number, size: number, timeoutMs = 60_000): void {
  // Close only after every send callback: closing earlier silently discards queued datagrams.
  const script =
    `const s=require('dgram').createSocket('udp4');const b=Buffer.alloc(${size},0x61);let n=0,done=0;` +
    `const cb=()=>{if(++done===${count})s.close();};` +
    `function go(){while(n<${count}){s.send(b,${port},'${v.hostAddr}',cb);n++;if(n%200===0)return setImmediate(go);}}go();`;
  nsExec(v.ns, process.execPath, ['-e', script], timeoutMs);
}

/** A running tcpdump writing nothing but counting what it captured. */
export interface TcpdumpCounter {
  stop(): Promise<{ captured: number; dropped: number }>;
}

/**
 * Starts tcpdump on `iface` with `filter` and resolves once it is listening; stop() ends it and
 * returns tcpdump's "N packets captured".
 */
export async function startTcpdump(iface: string, filter: string): Promise<TcpdumpCounter> {
  // -B 32 MiB: with its default 2 MiB ring in immediate mode, tcpdump itself dropped 227 of 546
  // small packets of a burst here, which would make it a poor reference.
  const args = ['-n', '-i', iface, '-B', '32768', '--immediate-mode', '-w', '/dev/null', filter];
  const child: ChildProcess = spawn('tcpdump', args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8');
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: string) => {
      err += d;
      if (err.includes('listening on')) resolve();
    });
    child.on('exit', () => reject(new Error(`tcpdump exited: ${err}`)));
  });
  await listening;
  return {
    async stop(): Promise<{ captured: number; dropped: number }> {
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      await exited;
      const c = /(\d+) packets? captured/.exec(err);
      const d = /(\d+) packets? dropped by kernel/.exec(err);
      if (c === null || d === null) throw new Error(`no counts from tcpdump: ${err}`);
      return { captured: Number(c[1]), dropped: Number(d[1]) };
    },
  };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until `cond()` holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(stepMs);
  }
  return cond();
}
