/**
 * Remote-access / RMM tools and the public facts that identify their traffic. Adding a tool is
 * one entry. Every rule names its source next to it.
 *
 * Domain patterns: `*.example.com` matches example.com and every name below it; a pattern
 * without `*.` matches that name only. Certificate names match the subject/issuer CN or O, or a
 * SAN, exactly (case-insensitive). ALPN values match as a prefix. Ports are the weakest signal:
 * alone they give a `low` confidence result, and only for flows with payload both ways.
 */

/** Most domain lists come from LOLRMM's domain table, a public catalogue of RMM artefacts. */
const LOLRMM = 'https://github.com/magicsword-io/LOLRMM/blob/main/website/public/api/rmm_domains.csv';

export interface RmmPort {
  transport: 'tcp' | 'udp';
  port: number;
  /** Inclusive range end (defaults to `port`). */
  to?: number;
}

export interface RmmTool {
  /** Value of `picket.rmm.tool` (lower case, no spaces). */
  tool: string;
  /** Display name. */
  name: string;
  domains?: readonly string[];
  certNames?: readonly string[];
  alpn?: readonly string[];
  /** Case-insensitive substrings of the HTTP User-Agent. */
  userAgents?: readonly string[];
  /** Ids of byte signatures (payload-signatures.ts) that identify the tool. */
  payload?: readonly string[];
  ports?: readonly RmmPort[];
  /** The tool's own protocol when a payload signature matched (for network.protocol). */
  protocol?: string;
  sources: readonly string[];
}

export const RMM_TOOLS: readonly RmmTool[] = [
  {
    tool: 'anydesk',
    name: 'AnyDesk',
    domains: ['*.anydesk.com', 'boot.net.anydesk.com'],
    // Self-signed "AnyDesk Client" certificate of every install (how Shodan/Censys find AnyDesk),
    // relay chain "AnyNet Relay" / "AnyNet Root CA" / "philandro Software GmbH" (AnyDesk's former
    // company name), both visible in nDPI's anydesk.pcapng; ALPN "anydesk/<version>/<os>" ibid.
    certNames: ['AnyDesk Client', 'AnyNet Relay', 'AnyNet Root CA', 'philandro Software GmbH'],
    alpn: ['anydesk'],
    userAgents: ['AnyDesk/'],
    payload: ['anydesk-certificate'],
    // 7070: direct LAN connections (nDPI tests/cfgs/default/pcap/anydesk.pcapng).
    ports: [{ transport: 'tcp', port: 7070 }],
    sources: [LOLRMM, 'https://github.com/magicsword-io/LOLRMM/blob/main/yaml/anydesk.yaml', 'https://github.com/ntop/nDPI/blob/dev/tests/cfgs/default/result/anydesk.pcapng.out'],
  },
  {
    tool: 'teamviewer',
    name: 'TeamViewer',
    domains: ['*.teamviewer.com'],
    // nDPI teamviewer.c: TCP payload starting 0x17 0x24 (or 0x11 0x30 later), UDP bytes 11-12 = 0x17 0x24; port 5938.
    payload: ['teamviewer-header'],
    ports: [{ transport: 'tcp', port: 5938 }, { transport: 'udp', port: 5938 }],
    protocol: 'teamviewer',
    sources: [LOLRMM, 'https://github.com/ntop/nDPI/blob/dev/src/lib/protocols/teamviewer.c'],
  },
  {
    tool: 'rdp',
    name: 'Microsoft RDP',
    // [MS-RDPBCGR] 2.2.1.1 Client X.224 Connection Request PDU (TPKT + X.224 CR + "Cookie: mstshash=" /
    // RDP_NEG_REQ) and 2.2.1.2 Server X.224 Connection Confirm; TLS follows the negotiation.
    payload: ['rdp-x224'],
    ports: [{ transport: 'tcp', port: 3389 }],
    protocol: 'rdp',
    sources: ['https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-rdpbcgr/18a27ef9-6f9a-4501-b000-94b1fe3c2c10', 'https://github.com/ntop/nDPI/blob/dev/src/lib/protocols/rdp.c'],
  },
  {
    tool: 'vnc',
    name: 'VNC (RFB)',
    domains: ['*.realvnc.com'],
    // RFC 6143 §7.1.1 ProtocolVersion "RFB 003.008\n" (12 bytes); servers also send 003.003, 003.007, 004.001.
    payload: ['vnc-rfb'],
    ports: [{ transport: 'tcp', port: 5900, to: 5906 }],
    protocol: 'vnc',
    sources: ['https://www.rfc-editor.org/rfc/rfc6143#section-7.1.1', 'https://github.com/ntop/nDPI/blob/dev/src/lib/protocols/vnc.c'],
  },
  {
    tool: 'nomachine',
    name: 'NoMachine',
    domains: ['*.nomachine.com'],
    // nDPI nomachine.c: TCP handshake "NXSH-<version>" (client) / "NXD-<version>" (server) before TLS;
    // UDP media header (LE 1 at offset 2, LE length at 4, zero at 8); port 4000.
    payload: ['nomachine-nx', 'nomachine-udp'],
    ports: [{ transport: 'tcp', port: 4000 }, { transport: 'udp', port: 4000 }],
    protocol: 'nomachine',
    sources: [LOLRMM, 'https://github.com/ntop/nDPI/blob/dev/src/lib/protocols/nomachine.c'],
  },
  {
    tool: 'radmin',
    name: 'Radmin',
    domains: ['*.radmin.com'],
    // nDPI radmin.c: 10-byte client hello 01 00 00 00 01 .. .. .. 08 08, 46-byte reply, 14-byte 05 .. 27 27; port 4899 (IANA radmin-port).
    payload: ['radmin-handshake'],
    ports: [{ transport: 'tcp', port: 4899 }],
    protocol: 'radmin',
    sources: [LOLRMM, 'https://github.com/ntop/nDPI/blob/dev/src/lib/protocols/radmin.c'],
  },
  {
    tool: 'goto',
    name: 'GoTo / LogMeIn',
    domains: ['*.logmein.com', '*.logmein.eu', 'logmein-gateway.com', '*.logmein-gateway.com', '*.logmeininc.com', '*.logmeinrescue.com', '*.logmeinrescue.eu', '*.gotoassist.com', '*.gotoassist.me', '*.getgo.com', '*.fastsupport.com', '*.gotomypc.com', 'goto.com'],
    sources: [LOLRMM],
  },
  {
    tool: 'screenconnect',
    name: 'ConnectWise ScreenConnect',
    domains: ['*.screenconnect.com', 'control.connectwise.com', '*.itsupport247.net'],
    sources: [LOLRMM, 'https://github.com/magicsword-io/LOLRMM/blob/main/yaml/connectwise_control.yaml'],
  },
  {
    tool: 'splashtop',
    name: 'Splashtop',
    domains: ['*.splashtop.com', '*.splashtop.eu'],
    sources: [LOLRMM],
  },
  {
    tool: 'atera',
    name: 'Atera',
    domains: ['*.atera.com', 'getalphacontrol.com', 'atera.pubnubapi.com', 'atera-agent-heartbeat.servicebus.windows.net', 'agentreportingstore.blob.core.windows.net'],
    sources: [LOLRMM, 'https://github.com/magicsword-io/LOLRMM/blob/main/yaml/atera.yaml'],
  },
  {
    tool: 'rustdesk',
    name: 'RustDesk',
    domains: ['*.rustdesk.com'],
    // hbbs 21115-21116/tcp, 21116/udp (ID/rendezvous), hbbr 21117/tcp (relay), 21118-21119 web client.
    ports: [{ transport: 'tcp', port: 21115, to: 21119 }, { transport: 'udp', port: 21116 }],
    sources: [LOLRMM, 'https://rustdesk.com/docs/en/self-host/rustdesk-server-oss/install/'],
  },
  {
    tool: 'chrome_remote_desktop',
    name: 'Chrome Remote Desktop',
    domains: ['remotedesktop.google.com', 'remotedesktop-pa.googleapis.com', 'chromoting-client.talkgadget.google.com', 'chromoting-host.talkgadget.google.com', 'chromoting-oauth.talkgadget.google.com'],
    sources: [LOLRMM],
  },
  {
    tool: 'zoho_assist',
    name: 'Zoho Assist',
    domains: ['*.zohoassist.com', '*.zohoassist.jp', '*.zohoassist.com.cn', 'assist.zoho.com', 'gateway.zohoassist.com'],
    sources: [LOLRMM],
  },
  {
    tool: 'beyondtrust',
    name: 'BeyondTrust (Bomgar)',
    domains: ['*.beyondtrustcloud.com', '*.bomgarcloud.com'],
    sources: [LOLRMM],
  },
  {
    tool: 'kaseya',
    name: 'Kaseya VSA',
    domains: ['*.kaseya.net', 'kaseya.com', 'deploy01.kaseya.com'],
    sources: [LOLRMM],
  },
  {
    tool: 'ninjaone',
    name: 'NinjaOne',
    domains: ['*.ninjarmm.com', '*.ninjaone.com', '*.ninjarmm.net', '*.rmmservice.eu', '*.rmmservice.com.au', '*.rmmservice.ca', '*.ninja-backup.com'],
    sources: [LOLRMM],
  },
  {
    tool: 'meshcentral',
    name: 'MeshCentral',
    domains: ['*.meshcentral.com'],
    sources: [LOLRMM],
  },
  {
    tool: 'dwservice',
    name: 'DWService',
    domains: ['*.dwservice.net'],
    sources: [LOLRMM],
  },
  {
    tool: 'supremo',
    name: 'Supremo',
    domains: ['*.supremocontrol.com'],
    sources: [LOLRMM],
  },
  {
    tool: 'action1',
    name: 'Action1',
    domains: ['*.action1.com', 'a1-backend-packages.s3.amazonaws.com'],
    sources: [LOLRMM],
  },
  {
    tool: 'level',
    name: 'Level',
    domains: ['*.level.io'],
    sources: [LOLRMM],
  },
  {
    tool: 'simplehelp',
    name: 'SimpleHelp',
    domains: ['*.simple-help.com'],
    sources: [LOLRMM],
  },
  {
    tool: 'remote_utilities',
    name: 'Remote Utilities',
    domains: ['*.internetid.ru', '*.remoteutilities.com'],
    // 5650/tcp direct connections, 5655/tcp Internet-ID servers.
    ports: [{ transport: 'tcp', port: 5650 }, { transport: 'tcp', port: 5655 }],
    sources: [LOLRMM, 'https://www.remoteutilities.com/support/docs/ports-used-by-remote-utilities/'],
  },
  {
    tool: 'netsupport',
    name: 'NetSupport Manager',
    domains: ['*.netsupportmanager.com', 'geo.netsupportsoftware.com'],
    sources: [LOLRMM],
  },
  {
    tool: 'quick_assist',
    name: 'Microsoft Quick Assist',
    domains: ['*.support.services.microsoft.com'],
    sources: [LOLRMM],
  },
];
