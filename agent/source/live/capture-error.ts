/**
 * One clear line for each way a live capture can fail to start, built from the addon's
 * classification (`kind`) and libpcap's own text.
 */
import type { PcapErrorKind, PcapInterface } from './pcap-addon.js';

/** A capture failure meant for people: `message` says what is wrong and what to do. */
export class LiveCaptureError extends Error {
  constructor(
    message: string,
    readonly kind: PcapErrorKind | 'addon_missing',
    readonly device: string,
    /** libpcap's text, kept for logs and tests. */
    readonly pcapText: string,
  ) {
    super(message);
    this.name = 'LiveCaptureError';
  }
}

/** Pseudo devices libpcap lists that are never what someone meant by an interface name. */
const PSEUDO = /^(any|nflog|nfqueue|dbus-|bluetooth|usbmon|dbus)/;

/**
 * Turns an addon error into a LiveCaptureError with an actionable message.
 * `interfaces` (from listInterfaces) names the real choices when the device does not exist.
 */
export function describeCaptureError(
  kind: PcapErrorKind,
  device: string,
  pcapText: string,
  interfaces: readonly PcapInterface[] = [],
): LiveCaptureError {
  let msg: string;
  switch (kind) {
    case 'permission':
      msg =
        `capture on ${device} needs CAP_NET_RAW (run as root or grant it: ` +
        `setcap cap_net_raw+ep on the node binary, or AmbientCapabilities=CAP_NET_RAW in the systemd unit); ` +
        `libpcap: ${pcapText}`;
      break;
    case 'no_such_device': {
      const names = interfaces
        .filter((i) => !PSEUDO.test(i.name))
        .slice(0, 12)
        .map((i) => i.name);
      const choices = names.length > 0 ? ` (interfaces here: ${names.join(', ')})` : '';
      msg = `capture interface ${device} does not exist${choices}; check --interface or the config`;
      break;
    }
    case 'iface_down':
      msg = `capture interface ${device} is down (bring it up: ip link set ${device} up); libpcap: ${pcapText}`;
      break;
    case 'filter':
      msg = `${pcapText}; fix --filter or capture.filter (tcpdump syntax, see pcap-filter(7))`;
      break;
    case 'invalid':
      msg = `invalid capture option for ${device}: ${pcapText}`;
      break;
    default:
      msg = `capture on ${device} failed: ${pcapText}`;
  }
  return new LiveCaptureError(msg, kind, device, pcapText);
}
