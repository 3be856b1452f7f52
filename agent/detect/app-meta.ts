/**
 * Defensive readers of dissector metadata on a flow record (`record.app.<name>`). Dissectors
 * evolve independently and NetFlow records carry none, so every accessor checks types and
 * returns undefined rather than trusting a shape.
 */
import type { FlowRecord } from '../flow/flow-record.js';

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** `record.app[name]` as an object, if present. */
export function appOf(r: FlowRecord, name: string): Obj | undefined {
  return obj(r.app?.[name]);
}

/** The server name the client asked for: TLS SNI, QUIC SNI, or the first HTTP Host. */
export function serverName(r: FlowRecord): string | undefined {
  const tls = appOf(r, 'tls');
  const quic = appOf(r, 'quic');
  const sni = str(tls?.sni) ?? str(quic?.sni);
  if (sni) return sni.toLowerCase();
  const host = httpHost(r);
  return host?.toLowerCase();
}

/** Host header of the first HTTP/1 transaction (port stripped). */
export function httpHost(r: FlowRecord): string | undefined {
  const http = appOf(r, 'http');
  const tx = Array.isArray(http?.transactions) ? obj(http!.transactions[0]) : undefined;
  const h = str(tx?.host);
  if (!h) return undefined;
  const colon = h.lastIndexOf(':');
  return colon > 0 && !h.includes(']') && /^\d+$/.test(h.slice(colon + 1)) ? h.slice(0, colon) : h;
}

/** JA4 of the TLS or QUIC client hello. */
export function ja4Of(r: FlowRecord): string | undefined {
  return str(appOf(r, 'tls')?.ja4) ?? str(appOf(r, 'quic')?.ja4);
}

export function stringField(o: Obj | undefined, key: string): string | undefined {
  return str(o?.[key]);
}

export function numberField(o: Obj | undefined, key: string): number | undefined {
  return num(o?.[key]);
}

export function objectField(o: Obj | undefined, key: string): Obj | undefined {
  return obj(o?.[key]);
}

export function arrayField(o: Obj | undefined, key: string): unknown[] {
  const v = o?.[key];
  return Array.isArray(v) ? v : [];
}

export { obj as asObject, str as asString, num as asNumber };
