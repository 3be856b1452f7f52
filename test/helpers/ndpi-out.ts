import { readFileSync } from 'node:fs';

/** One flow line of an nDPI `ndpiReader` result file (ndpi/result/<capture>.out). */
export interface NdpiFlow {
  transport: string; // TCP, UDP, ICMP...
  a: { ip: string; port: number };
  b: { ip: string; port: number };
  /** e.g. `TLS.Github` → master `TLS`, app `Github`. */
  protoName: string;
  master: string;
  app: string;
  sni?: string;
  ja3c?: string;
  ja3s?: string;
  ja4?: string;
  alpn?: string;
  risks: string[];
  raw: string;
}

function endpoint(text: string): { ip: string; port: number } {
  // 1.2.3.4:80 or [2001:db8::1]:443 or 2001:db8::1:443 (nDPI prints IPv6 with brackets)
  const m = /^\[(.*)\]:(\d+)$/.exec(text) ?? /^(.*):(\d+)$/.exec(text);
  return m ? { ip: m[1]!, port: Number(m[2]) } : { ip: text, port: 0 };
}

function field(line: string, name: string): string | undefined {
  const i = line.indexOf(`[${name}: `);
  if (i < 0) return undefined;
  const start = i + name.length + 3;
  const end = line.indexOf(']', start);
  return end < 0 ? undefined : line.slice(start, end);
}

/** Parses the per-flow lines of an nDPI .out file. */
export function readNdpiOut(path: string): NdpiFlow[] {
  const out: NdpiFlow[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    // Some lines carry tags such as `[VLAN: 10]` between the endpoints and the protocol.
    const m = /^\s*\d+\s+(\w+)\s+(\S+)\s+<?->\s+(\S+)\s+(?:\[(?!proto:)[^\]]*\]\s*)*\[proto: ([^\]]*)\]/.exec(line);
    if (!m) continue;
    const proto = m[4]!;
    const name = proto.includes('/') ? proto.slice(proto.indexOf('/') + 1) : proto;
    const [master = name, app = ''] = name.split('.');
    const risksText = field(line, 'Risk') ?? '';
    const flow: NdpiFlow = {
      transport: m[1]!,
      a: endpoint(m[2]!),
      b: endpoint(m[3]!),
      protoName: name,
      master,
      app,
      risks: risksText ? risksText.split('** ').map((r) => r.replace(/\*\*/g, '').trim()).filter(Boolean) : [],
      raw: line,
    };
    const sni = field(line, 'Hostname/SNI');
    if (sni !== undefined) flow.sni = sni;
    const ja3c = field(line, 'JA3C');
    if (ja3c !== undefined) flow.ja3c = ja3c;
    const ja3s = field(line, 'JA3S');
    if (ja3s !== undefined) flow.ja3s = ja3s;
    const ja4 = field(line, 'JA4');
    if (ja4 !== undefined) flow.ja4 = ja4;
    const alpn = field(line, '(Advertised) ALPNs');
    if (alpn !== undefined) flow.alpn = alpn;
    out.push(flow);
  }
  return out;
}

/** Order-independent key of a flow's endpoints, to match nDPI flows with Picket records. */
export function flowKey(transport: string, a: { ip: string; port: number }, b: { ip: string; port: number }): string {
  const x = `${a.ip}|${a.port}`;
  const y = `${b.ip}|${b.port}`;
  return `${transport.toLowerCase()}|${x < y ? `${x}|${y}` : `${y}|${x}`}`;
}
