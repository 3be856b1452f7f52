// @ts-check
/**
 * The dashboard's connection to the collector: JSON GETs and the live stream, both with the API
 * token when the collector needs one. The stream is read with fetch (not EventSource) so the
 * token travels in the Authorization header, never in a URL.
 */

const TOKEN_KEY = 'picket.token';

/** Raised for HTTP 401 so the page can ask for the token. */
export class NeedToken extends Error {}

/** Raised for 4xx answers with the collector's one-line message. */
export class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** @returns {Record<string, string>} */
function headers() {
  const t = sessionStorage.getItem(TOKEN_KEY);
  return t ? { authorization: `Bearer ${t}` } : {};
}

/** @param {string} token */
export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/**
 * GET a JSON API path.
 * @param {string} path
 * @param {Record<string, string | number | undefined>} [params]
 * @returns {Promise<any>}
 */
export async function getJson(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const url = q.size > 0 ? `${path}?${q}` : path;
  const res = await fetch(url, { headers: headers(), cache: 'no-store' });
  if (res.status === 401) throw new NeedToken('token required');
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, typeof body.error === 'string' ? body.error : `HTTP ${res.status}`);
  return body;
}

/**
 * Follows /api/stream, reconnecting after errors; calls onEvent(name, data) per event and
 * onState(true/false) when the connection opens or drops. Returns a function that stops it.
 * @param {(name: string, data: any) => void} onEvent
 * @param {(live: boolean) => void} onState
 */
export function follow(onEvent, onState) {
  let stopped = false;
  /** @type {AbortController | null} */
  let ctl = null;
  const run = async () => {
    while (!stopped) {
      ctl = new AbortController();
      try {
        const res = await fetch('/api/stream', { headers: headers(), signal: ctl.signal, cache: 'no-store' });
        if (!res.ok || !res.body) throw new Error(`stream HTTP ${res.status}`);
        onState(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          // Bound what a misbehaving server could make us hold.
          if (buf.length > 4 << 20) throw new Error('stream message too large');
          let cut;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            let name = 'message';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) name = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (!data) continue;
            try {
              onEvent(name, JSON.parse(data));
            } catch {
              // A broken message is skipped; the next refresh shows the truth anyway.
            }
          }
        }
      } catch {
        // Dropped or refused: fall through to the retry.
      }
      onState(false);
      if (!stopped) await new Promise((r) => setTimeout(r, 3000));
    }
  };
  void run();
  return () => {
    stopped = true;
    ctl?.abort();
  };
}
