import { createHash } from 'node:crypto';
import type { Direction } from '../../flow/flow-observer.js';
import { Verdict, type DissectContext, type Dissector } from '../dissector.js';
import { hasshString, type KexInit, type SshVersion } from './parser.js';
import { SshSide } from './side.js';

/** Budgets of the SSH dissector (per direction). */
export const SSH_LIMITS = {
  maxLineBytes: 512,
  maxPreBannerLines: 16,
  maxPacketBytes: 35000,
  maxPacketsBeforeKex: 4,
  maxNameListBytes: 8192,
} as const;

const SSH_PORT = 22;

export interface SshKexMeta {
  kexAlgorithms: string[];
  serverHostKeyAlgorithms: string[];
  encryption: string[];
  mac: string[];
  compression: string[];
}

/** What the SSH dissector puts in `FlowRecord.app.ssh`. */
export interface SshMeta {
  client?: SshVersion;
  server?: SshVersion;
  /** md5 of `hasshString`. */
  hassh?: string;
  hasshString?: string;
  hasshServer?: string;
  hasshServerString?: string;
  /** Client and server KEXINIT lists (encryption/mac/compression in their own sending direction). */
  clientKex?: SshKexMeta;
  serverKex?: SshKexMeta;
  /** Lines before the identification string. */
  preBannerLines?: number;
  malformed?: string[];
}

export interface SshState {
  sides: [SshSide, SshSide];
  counted: [boolean, boolean];
}

function md5(s: string): string {
  return createHash('md5').update(s, 'latin1').digest('hex');
}

function split(list: string): string[] {
  return list.length === 0 ? [] : list.split(',');
}

function kexMeta(k: KexInit, fromClient: boolean): SshKexMeta {
  return {
    kexAlgorithms: split(k.kexAlgorithms),
    serverHostKeyAlgorithms: split(k.serverHostKeyAlgorithms),
    encryption: split(fromClient ? k.encryptionClientToServer : k.encryptionServerToClient),
    mac: split(fromClient ? k.macClientToServer : k.macServerToClient),
    compression: split(fromClient ? k.compressionClientToServer : k.compressionServerToClient),
  };
}

/** The chunk starts with `SSH-`, or is a shorter prefix of it (a stream split very early). */
function startsWithSsh(buf: Uint8Array, off: number, len: number): boolean {
  const n = Math.min(len, 4);
  if (n === 0) return false;
  for (let i = 0; i < n; i++) if (buf[off + i] !== 'SSH-'.charCodeAt(i)) return false;
  return true;
}

function countProblem(s: SshState, dir: Direction, ctx: DissectContext): void {
  const side = s.sides[dir];
  if (s.counted[dir] || !side.problem) return;
  s.counted[dir] = true;
  ctx.count(side.problemIsLimit ? `limit.${side.problem}` : `malformed.${side.problem}`);
}

/**
 * SSH: identification strings of both sides (software, protocol version; lines before the
 * `SSH-` line allowed) and the KEXINIT of each side → HASSH / HASSH-server. Stops reading a
 * direction after its KEXINIT (everything after NEWKEYS is encrypted anyway).
 */
export const sshDissector: Dissector<SshState, SshMeta> = {
  name: 'ssh',
  transports: ['tcp'],
  limits: SSH_LIMITS,

  probe(buf, off, len, _dir, ctx) {
    return startsWithSsh(buf, off, len) || ctx.flow.serverPort === SSH_PORT || ctx.flow.clientPort === SSH_PORT;
  },

  create() {
    return { sides: [new SshSide(SSH_LIMITS), new SshSide(SSH_LIMITS)], counted: [false, false] };
  },

  payload(s, dir, buf, off, len, _tsUs, ctx) {
    const side = s.sides[dir];
    side.push(buf, off, len);
    countProblem(s, dir, ctx);
    const [c, sv] = s.sides;
    // Not SSH: binary first line, or no identification line within the budget on either side.
    if (!c.version && !sv.version && (side.notSsh || side.done)) return Verdict.Reject;
    return c.done && sv.done ? Verdict.Done : Verdict.More;
  },

  gap(s, dir, ctx) {
    // A hole in the stream: the packet framing of this side is lost.
    const side = s.sides[dir];
    if (!side.done) {
      side.problem ??= 'gap';
      side.phase = 2;
      countProblem(s, dir, ctx);
    }
    return s.sides[0].done && s.sides[1].done ? Verdict.Done : Verdict.More;
  },

  finish(s) {
    const [c, sv] = s.sides;
    if (!c.version && !sv.version) return undefined;
    const m: SshMeta = {};
    if (c.version) m.client = { ...c.version };
    if (sv.version) m.server = { ...sv.version };
    if (c.kex) {
      m.hasshString = hasshString(c.kex, true);
      m.hassh = md5(m.hasshString);
      m.clientKex = kexMeta(c.kex, true);
    }
    if (sv.kex) {
      m.hasshServerString = hasshString(sv.kex, false);
      m.hasshServer = md5(m.hasshServerString);
      m.serverKex = kexMeta(sv.kex, false);
    }
    const pre = c.preBannerLines + sv.preBannerLines;
    if (pre > 0) m.preBannerLines = pre;
    const problems = [c.problem, sv.problem].filter((x): x is string => x !== undefined);
    if (problems.length > 0) m.malformed = problems;
    return m;
  },

  appProtocol: () => 'ssh',

  ecs(m) {
    const ssh: Record<string, unknown> = {};
    const ver = (v: SshVersion): Record<string, unknown> => {
      const o: Record<string, unknown> = { software: v.software, protocol_version: v.protoVersion, banner: v.raw };
      if (v.comments !== undefined) o.comments = v.comments;
      return o;
    };
    if (m.client) ssh.client = ver(m.client);
    if (m.server) ssh.server = ver(m.server);
    if (m.hassh) ssh.hassh = m.hassh;
    if (m.hasshString) ssh.hassh_string = m.hasshString;
    if (m.hasshServer) ssh.hassh_server = m.hasshServer;
    if (m.hasshServerString) ssh.hassh_server_string = m.hasshServerString;
    const kex = (k: SshKexMeta): Record<string, unknown> => ({
      kex_algorithms: k.kexAlgorithms,
      host_key_algorithms: k.serverHostKeyAlgorithms,
      encryption_algorithms: k.encryption,
      mac_algorithms: k.mac,
      compression_algorithms: k.compression,
    });
    if (m.clientKex) {
      ssh.kex_algorithms = m.clientKex.kexAlgorithms;
      ssh.client_kex = kex(m.clientKex);
    }
    if (m.serverKex) ssh.server_kex = kex(m.serverKex);
    if (m.preBannerLines) ssh.pre_banner_lines = m.preBannerLines;
    if (m.malformed) ssh.malformed = m.malformed;
    return { picket: { ssh } };
  },
};
