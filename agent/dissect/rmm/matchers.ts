import type { RmmPort, RmmTool } from './tools.js';

export interface Hit {
  tool: RmmTool;
  /** The rule that matched, for `picket.rmm.signal` (e.g. `*.anydesk.com`). */
  rule: string;
}

/** Longest name looked at (names are ≤ 255 octets; escapes can make them longer). */
const MAX_NAME = 1024;
/** Results remembered per lookup kind; the memo is cleared when full (it is only a shortcut). */
const MEMO_ENTRIES = 4096;

/**
 * Remembers lookups by their input: the same host names and user agents come back on flow after
 * flow, and one Map get is cheaper than lower-casing and walking the labels again.
 */
class Memo {
  private readonly map = new Map<string, Hit | null>();

  get(key: string): Hit | null | undefined {
    return this.map.get(key);
  }

  set(key: string, hit: Hit | undefined): Hit | undefined {
    if (this.map.size >= MEMO_ENTRIES) this.map.clear();
    this.map.set(key, hit ?? null);
    return hit;
  }
}

/**
 * Domain, certificate-name, ALPN, user-agent and port lookups compiled from the tool table.
 * Domain lookups walk the name's label boundaries (bounded by its length), one Map get each.
 */
export class RmmMatchers {
  private readonly exact = new Map<string, Hit>();
  private readonly suffix = new Map<string, Hit>();
  private readonly certs = new Map<string, Hit>();
  private readonly alpns: Hit[] = [];
  private readonly agents: Hit[] = [];
  private readonly ports: Array<{ tool: RmmTool; p: RmmPort }> = [];
  private readonly domainMemo = new Memo();
  private readonly agentMemo = new Memo();

  constructor(tools: readonly RmmTool[]) {
    for (const tool of tools) {
      for (const d of tool.domains ?? []) {
        const lower = d.toLowerCase();
        if (lower.startsWith('*.')) this.suffix.set(lower.slice(2), { tool, rule: lower });
        else this.exact.set(lower, { tool, rule: lower });
      }
      for (const c of tool.certNames ?? []) this.certs.set(c.toLowerCase(), { tool, rule: c });
      for (const a of tool.alpn ?? []) this.alpns.push({ tool, rule: a.toLowerCase() });
      for (const u of tool.userAgents ?? []) this.agents.push({ tool, rule: u.toLowerCase() });
      for (const p of tool.ports ?? []) this.ports.push({ tool, p });
    }
  }

  domain(name: string): Hit | undefined {
    const known = this.domainMemo.get(name);
    if (known !== undefined) return known ?? undefined;
    return this.domainMemo.set(name, this.lookupDomain(name));
  }

  private lookupDomain(name: string): Hit | undefined {
    if (name.length === 0 || name.length > MAX_NAME) return undefined;
    let n = name.toLowerCase();
    if (n.endsWith('.')) n = n.slice(0, -1);
    const e = this.exact.get(n);
    if (e) return e;
    // n itself, then each parent: a.b.example.com → b.example.com → example.com → com
    for (let i = 0; i >= 0 && i < n.length; ) {
      const s = this.suffix.get(i === 0 ? n : n.slice(i));
      if (s) return s;
      const dot = n.indexOf('.', i);
      i = dot < 0 ? -1 : dot + 1;
    }
    return undefined;
  }

  cert(value: string): Hit | undefined {
    return value.length > MAX_NAME ? undefined : this.certs.get(value.toLowerCase());
  }

  alpn(value: string): Hit | undefined {
    const v = value.toLowerCase();
    return this.alpns.find((h) => v.startsWith(h.rule));
  }

  userAgent(value: string): Hit | undefined {
    const known = this.agentMemo.get(value);
    if (known !== undefined) return known ?? undefined;
    const v = value.slice(0, MAX_NAME).toLowerCase();
    return this.agentMemo.set(value, this.agents.find((h) => v.includes(h.rule)));
  }

  port(transport: string, port: number): Hit | undefined {
    for (const { tool, p } of this.ports) {
      if (p.transport === transport && port >= p.port && port <= (p.to ?? p.port)) return { tool, rule: String(port) };
    }
    return undefined;
  }
}
