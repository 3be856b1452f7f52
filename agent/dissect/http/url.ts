/** The parts of a request target and Host header that ECS `url.*` holds. */
export interface UrlParts {
  original: string;
  scheme?: string;
  domain?: string;
  port?: number;
  path?: string;
  query?: string;
}

/** `host[:port]` or `[v6]:port` → domain and port (port only when it is a number 0–65535). */
export function splitHostPort(value: string): { domain: string; port?: number } {
  let host = value.trim();
  let portText = '';
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close > 0) {
      portText = host.slice(close + 1).startsWith(':') ? host.slice(close + 2) : '';
      host = host.slice(1, close);
    }
  } else {
    const colon = host.lastIndexOf(':');
    // More than one colon without brackets is a bare IPv6 address, not host:port.
    if (colon >= 0 && host.indexOf(':') === colon) {
      portText = host.slice(colon + 1);
      host = host.slice(0, colon);
    }
  }
  const out: { domain: string; port?: number } = { domain: host.toLowerCase() };
  if (/^\d{1,5}$/.test(portText)) {
    const port = Number(portText);
    if (port <= 65535) out.port = port;
  }
  return out;
}

function pathAndQuery(out: UrlParts, rest: string): void {
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  out.path = q >= 0 ? rest.slice(0, q) : rest;
  if (q >= 0) out.query = rest.slice(q + 1);
}

/**
 * Splits a request target (RFC 9112 §3.2: origin, absolute, authority or asterisk form) into
 * ECS url fields; the domain comes from the target when absolute, else from the Host header.
 */
export function urlParts(target: string, host: string | undefined, method: string): UrlParts {
  const out: UrlParts = { original: target };
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(target);
  if (scheme) {
    out.scheme = scheme[1]!.toLowerCase();
    const rest = target.slice(scheme[0].length);
    let slash = rest.search(/[/?#]/);
    if (slash < 0) slash = rest.length;
    const authority = rest.slice(0, slash);
    const at = authority.lastIndexOf('@');
    Object.assign(out, splitHostPort(at >= 0 ? authority.slice(at + 1) : authority));
    pathAndQuery(out, rest.slice(slash) || '/');
    return out;
  }
  if (method.toUpperCase() === 'CONNECT') {
    Object.assign(out, splitHostPort(target));
    return out;
  }
  if (target.startsWith('/')) pathAndQuery(out, target);
  if (host !== undefined && host !== '') Object.assign(out, splitHostPort(host));
  return out;
}
