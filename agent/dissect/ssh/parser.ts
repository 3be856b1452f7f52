import { ByteReader } from '../../util/byte-reader.js';
import { limitHit, malformed, ok, type ParseResult } from '../../util/result.js';

/**
 * SSH version exchange and KEXINIT (RFC 4253 §4.2, §6, §7.1): pure parsers over bytes.
 */

/** The identification string `SSH-protoversion-softwareversion SP comments`. */
export interface SshVersion {
  /** `2.0`, `1.99`, `1.5`... */
  protoVersion: string;
  software: string;
  comments?: string;
  /** The whole line without CR LF (printable ASCII, others escaped). */
  raw: string;
}

/** Printable text of a line: bytes outside 0x20–0x7e become `\xNN`. */
export function lineText(buf: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = off; i < off + len; i++) {
    const c = buf[i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}

/** Parses one identification line (without CR LF). Fails unless it starts with `SSH-`. */
export function parseVersionLine(buf: Uint8Array, off: number, len: number): ParseResult<SshVersion> {
  if (len < 4 || buf[off] !== 0x53 || buf[off + 1] !== 0x53 || buf[off + 2] !== 0x48 || buf[off + 3] !== 0x2d) return malformed('version.not_ssh');
  const raw = lineText(buf, off, len);
  const rest = raw.slice(4);
  const dash = rest.indexOf('-');
  if (dash <= 0) return malformed('version.no_software');
  const protoVersion = rest.slice(0, dash);
  const sw = rest.slice(dash + 1);
  const sp = sw.indexOf(' ');
  const v: SshVersion = { protoVersion, software: sp < 0 ? sw : sw.slice(0, sp), raw };
  if (sp >= 0) v.comments = sw.slice(sp + 1);
  return ok(v);
}

/** The ten algorithm name-lists of SSH_MSG_KEXINIT, in wire order. */
export interface KexInit {
  kexAlgorithms: string;
  serverHostKeyAlgorithms: string;
  encryptionClientToServer: string;
  encryptionServerToClient: string;
  macClientToServer: string;
  macServerToClient: string;
  compressionClientToServer: string;
  compressionServerToClient: string;
  languagesClientToServer: string;
  languagesServerToClient: string;
  firstKexPacketFollows: boolean;
}

export const SSH_MSG_KEXINIT = 20;
export const SSH_MSG_NEWKEYS = 21;

/**
 * Parses a KEXINIT payload (message byte, 16-byte cookie, ten name-lists, boolean, reserved).
 * Each name-list longer than `maxNameList` fails with `limit`.
 */
export function parseKexInit(buf: Uint8Array, off: number, len: number, maxNameList: number): ParseResult<KexInit> {
  const r = new ByteReader(buf, off, off + len);
  if (r.u8() !== SSH_MSG_KEXINIT) return malformed('kexinit.not_kexinit');
  r.skip(16);
  const lists: string[] = [];
  for (let i = 0; i < 10; i++) {
    const n = r.u32();
    if (r.failed) return malformed('kexinit.truncated');
    if (n > maxNameList) return limitHit('name_list_bytes');
    const b = r.bytes(n);
    if (r.failed) return malformed('kexinit.truncated');
    lists.push(lineText(b, 0, b.length));
  }
  const follows = r.u8();
  if (r.failed) return malformed('kexinit.truncated');
  return ok({
    kexAlgorithms: lists[0]!,
    serverHostKeyAlgorithms: lists[1]!,
    encryptionClientToServer: lists[2]!,
    encryptionServerToClient: lists[3]!,
    macClientToServer: lists[4]!,
    macServerToClient: lists[5]!,
    compressionClientToServer: lists[6]!,
    compressionServerToClient: lists[7]!,
    languagesClientToServer: lists[8]!,
    languagesServerToClient: lists[9]!,
    firstKexPacketFollows: follows !== 0,
  });
}

/**
 * HASSH input strings (Salesforce HASSH: https://github.com/salesforce/hassh): the client
 * fingerprint uses the client's kex;enc_c2s;mac_c2s;cmp_c2s lists, the server fingerprint the
 * server's kex;enc_s2c;mac_s2c;cmp_s2c lists.
 */
export function hasshString(k: KexInit, fromClient: boolean): string {
  return fromClient
    ? `${k.kexAlgorithms};${k.encryptionClientToServer};${k.macClientToServer};${k.compressionClientToServer}`
    : `${k.kexAlgorithms};${k.encryptionServerToClient};${k.macServerToClient};${k.compressionServerToClient}`;
}
