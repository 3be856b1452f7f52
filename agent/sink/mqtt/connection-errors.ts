/**
 * Turns what mqtt.js and Node report while connecting (socket errors, TLS verification codes,
 * CONNACK refusals) into one line for a person: what is wrong and what to do. The `key` groups
 * retries of the same problem so the publisher logs it once, not once per retry.
 */

export interface ConnectionContext {
  url: string;
  protocolVersion: 4 | 5;
  sensorId: string;
  username?: string;
  caFile?: string;
  certFile?: string;
}

export interface ConnectionProblem {
  /** Stable class of the problem, e.g. `refused`, `tls-untrusted`, `auth`. */
  key: string;
  /** One line: what is wrong and what to do. */
  message: string;
}

const RETRY = 'alerts stay queued and are retried with backoff';

/** Error code the publisher uses when the broker hung up before CONNACK without an error. */
export const CLOSED_BEFORE_CONNACK = 'PICKET_CLOSED_BEFORE_CONNACK';

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}

/** CONNACK refusals: MQTT 3.1.1 return codes and MQTT 5 reason codes. */
function connackProblem(code: number, ctx: ConnectionContext): ConnectionProblem | undefined {
  const who = ctx.username !== undefined ? `user "${ctx.username}"` : 'an anonymous client';
  const v5 = ctx.protocolVersion === 5;
  const auth = (why: string): ConnectionProblem => ({
    key: 'auth',
    message: `broker ${ctx.url} refused login as ${who} (${why}): check --broker-user and --broker-password-file against the broker's password file; ${RETRY}`,
  });
  if ((!v5 && code === 4) || code === 0x86) return auth('bad user name or password');
  if ((!v5 && code === 5) || code === 0x87) return auth('not authorized');
  if (code === 0x8c) return auth('bad authentication method');
  if ((!v5 && code === 1) || code === 0x84) {
    return {
      key: 'protocol',
      message: `broker ${ctx.url} does not accept MQTT ${v5 ? '5' : '3.1.1'}: try --mqtt-version ${v5 ? '3.1.1' : '5'}; ${RETRY}`,
    };
  }
  if ((!v5 && code === 2) || code === 0x85) {
    return { key: 'client-id', message: `broker ${ctx.url} rejected client id "${ctx.sensorId}": choose another --sensor; ${RETRY}` };
  }
  if (code === 0x8a) return { key: 'banned', message: `broker ${ctx.url} has banned client "${ctx.sensorId}": ask the broker's operator; ${RETRY}` };
  if ((!v5 && code === 3) || code === 0x88 || code === 0x89 || code === 0x9f) {
    return { key: 'unavailable', message: `broker ${ctx.url} is busy or unavailable (code ${code}); ${RETRY}` };
  }
  return undefined;
}

export function describeConnectionError(err: unknown, ctx: ConnectionContext): ConnectionProblem {
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  const code = e.code;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const host = hostOf(ctx.url);
  if (typeof code === 'number') {
    const p = connackProblem(code, ctx);
    if (p) return p;
  }
  const c = typeof code === 'string' ? code : '';
  switch (c) {
    case 'ECONNREFUSED':
      return { key: 'refused', message: `broker ${ctx.url} refused the connection (nothing listening?): check that the broker runs and --broker is right; ${RETRY}` };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { key: 'dns', message: `cannot resolve broker host "${host}" (${c}): check --broker and DNS; ${RETRY}` };
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return { key: 'unreachable', message: `broker ${ctx.url} is unreachable (${c}): check the network path and firewall; ${RETRY}` };
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return { key: 'tls-expired', message: `TLS: the certificate of broker ${host} is not valid now (${c}): renew it or check this machine's clock; ${RETRY}` };
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return { key: 'tls-name', message: `TLS: the certificate of broker ${host} does not name "${host}": use a host name the certificate lists in --broker; ${RETRY}` };
    default:
      break;
  }
  if (UNTRUSTED.has(c)) {
    const ca = ctx.caFile ? `the CA in --broker-ca ${ctx.caFile}` : 'the system CAs (no --broker-ca given)';
    return { key: 'tls-untrusted', message: `TLS: the certificate of broker ${host} is not signed by ${ca} (${c}): give --broker-ca the CA that issued the broker's certificate; ${RETRY}` };
  }
  if (/CERTIFICATE_REQUIRED/.test(c) || (/ALERT_HANDSHAKE_FAILURE/.test(c) && !ctx.certFile)) {
    return { key: 'tls-client-missing', message: `TLS: broker ${host} requires a client certificate: set --broker-cert and --broker-key; ${RETRY}` };
  }
  if (/ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|DECRYPT_ERROR|ACCESS_DENIED|HANDSHAKE_FAILURE)/.test(c)) {
    return {
      key: 'tls-client-rejected',
      message: `TLS: broker ${host} rejected our client certificate ${ctx.certFile ?? ''} (${c}): use a certificate signed by a CA the broker trusts; ${RETRY}`.replace('  ', ' '),
    };
  }
  if (c.startsWith('ERR_SSL') || c.startsWith('ERR_TLS')) {
    return { key: `tls:${c}`, message: `TLS handshake with broker ${host} failed (${c}): check the mqtts:// port and TLS settings; ${RETRY}` };
  }
  if (c === CLOSED_BEFORE_CONNACK) {
    return { key: 'closed', message: `broker ${ctx.url} closed the connection without accepting it: check that this port speaks MQTT${ctx.url.startsWith('mqtts') ? ' over TLS' : ' without TLS'} and the broker's log; ${RETRY}` };
  }
  if (c === 'ECONNRESET' || c === 'EPIPE') {
    return { key: 'reset', message: `broker ${ctx.url} closed the connection during the handshake (${c}): check TLS vs plain port and credentials; ${RETRY}` };
  }
  if (/connack timeout|timed? ?out/i.test(message)) {
    return { key: 'timeout', message: `broker ${ctx.url} did not answer the MQTT handshake in time: check that this port speaks MQTT (${ctx.url.startsWith('mqtts') ? 'TLS' : 'no TLS'}); ${RETRY}` };
  }
  const detail = message.split('\n')[0]!.slice(0, 200);
  return { key: `other:${c || detail}`, message: `cannot connect to broker ${ctx.url}: ${detail}; ${RETRY}` };
}
