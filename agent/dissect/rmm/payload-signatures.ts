/**
 * Byte signatures of remote-access protocols, tested on the first bytes of each direction of a
 * stream (the "head", accumulated across TCP chunks so any chunking gives the same answer) or on
 * one UDP datagram. Sources are named in tools.ts next to the tools that use them.
 *
 * Head tests read `h[at, at + n)`: the head is usually the start of the payload buffer itself,
 * tested in place (a view per flow direction was one of the classifier's larger allocations).
 */

/** Bytes of each direction's stream start kept for the head signatures. */
export const HEAD_BYTES = 32;

function startsWith(h: Uint8Array, at: number, n: number, s: string): boolean {
  if (n < s.length) return false;
  for (let i = 0; i < s.length; i++) if (h[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** RFC 6143 §7.1.1: "RFB xxx.yyy\n". */
export function vncHead(h: Uint8Array, at: number, n: number): boolean {
  if (!startsWith(h, at, n, 'RFB ') || n < 12) return false;
  for (const i of [4, 5, 6, 8, 9, 10]) if (!isDigit(h[at + i])) return false;
  return h[at + 7] === 0x2e && h[at + 11] === 0x0a;
}

/** nDPI nomachine.c: "NXSH-<version>\n" / "NXD-<version>\n" (10–14 bytes). */
export function nomachineHead(h: Uint8Array, at: number, n: number): boolean {
  const p = startsWith(h, at, n, 'NXSH-') ? 5 : startsWith(h, at, n, 'NXD-') ? 4 : -1;
  if (p < 0) return false;
  for (let i = p; i < Math.min(n, 15); i++) {
    const c = h[at + i]!;
    if (c === 0x0a) return i > p;
    if (!isDigit(c) && c !== 0x2e) return false;
  }
  return false;
}

/**
 * [MS-RDPBCGR] 2.2.1.1 / 2.2.1.2: TPKT (version 3) + X.224 Connection Request (0xE0) with a
 * routing token / "Cookie: mstshash=" or an RDP_NEG_REQ, or a Connection Confirm (0xD0) with
 * an RDP_NEG_RSP / RDP_NEG_FAILURE (or none, for legacy servers).
 */
export function rdpHead(h: Uint8Array, at: number, n: number): boolean {
  if (n < 11 || h[at] !== 3 || h[at + 1] !== 0) return false;
  const tpktLen = (h[at + 2]! << 8) | h[at + 3]!;
  const li = h[at + 4]!;
  if (tpktLen < 11 || li !== tpktLen - 5) return false;
  const code = h[at + 5]!;
  if (code === 0xe0) {
    if (tpktLen === 11) return true;
    if (n >= 19 && h[at + 11] === 0x01 && h[at + 13] === 0x08 && h[at + 14] === 0) return true;
    return startsWith(h, at + 11, n - 11, 'Cookie: ');
  }
  if (code === 0xd0) {
    if (tpktLen === 11) return true;
    return n >= 19 && (h[at + 11] === 0x02 || h[at + 11] === 0x03) && h[at + 13] === 0x08 && h[at + 14] === 0;
  }
  return false;
}

/** nDPI radmin.c: the three handshake messages, all starting 01 00 00 00. */
export function radminHead(h: Uint8Array, at: number, n: number): boolean {
  if (n < 10 || h[at] !== 1 || h[at + 1] !== 0 || h[at + 2] !== 0 || h[at + 3] !== 0) return false;
  if (h[at + 4] === 0x01 && h[at + 8] === 0x08 && h[at + 9] === 0x08) return true;
  if (h[at + 4] === 0x05 && h[at + 8] === 0x27 && h[at + 9] === 0x27) return true;
  return n >= 14 && h[at + 4] === 0x25 && h[at + 7] === 0x02 && h[at + 8] === 0x12 && h[at + 9] === 0x08 && h[at + 10] === 0x02 && h[at + 13] === 0x0a;
}

/** nDPI teamviewer.c: TCP messages start 0x17 0x24 (0x11 0x30 follow-ups). */
export function teamviewerTcpHead(h: Uint8Array, at: number, n: number): boolean {
  return n >= 2 && ((h[at] === 0x17 && h[at + 1] === 0x24) || (h[at] === 0x11 && h[at + 1] === 0x30));
}

/** nDPI teamviewer.c: UDP datagrams longer than 13 bytes with 0x17 0x24 at offset 11. */
export function teamviewerUdp(buf: Uint8Array, off: number, len: number): boolean {
  return len > 13 && buf[off + 11] === 0x17 && buf[off + 12] === 0x24;
}

/** nDPI nomachine.c: UDP media header, LE u16 1 at offset 2, LE u16 datagram length at 4, zero u16 at 8. */
export function nomachineUdp(buf: Uint8Array, off: number, len: number): boolean {
  return len > 9 && buf[off + 2] === 1 && buf[off + 3] === 0 && (buf[off + 4]! | (buf[off + 5]! << 8)) === len && buf[off + 8] === 0 && buf[off + 9] === 0;
}

/** TLS handshake record start: the AnyDesk certificate scan runs only on such streams. */
export function tlsHead(h: Uint8Array, at: number, n: number): boolean {
  return n >= 3 && h[at] === 0x16 && h[at + 1] === 0x03;
}

/** Strings of AnyDesk's certificates (see tools.ts), searched in the first bytes of TLS streams. */
export const ANYDESK_CERT_STRINGS: readonly Uint8Array[] = ['AnyDesk Client', 'AnyNet Relay', 'philandro Software GmbH'].map((s) => Uint8Array.from(Buffer.from(s, 'latin1')));

/** Longest scan pattern minus one: bytes carried across chunk boundaries. */
export const SCAN_CARRY = Math.max(...ANYDESK_CERT_STRINGS.map((p) => p.length)) - 1;
