/**
 * The demo's in-process MQTT broker: aedes (MQTT 3.1.1 only, no shared subscriptions) on a
 * TCP listener. For the demo and tests only; production uses mosquitto (systemd/mosquitto/).
 */
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  url: string;
  close(): Promise<void>;
}

/** Starts aedes on host:port (0: any free port); rejects with a one-line Error when it cannot listen. */
export async function startEmbeddedBroker(host: string, port: number): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker({ heartbeatInterval: 60_000, drainTimeout: 10_000 });
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      aedes.close();
      const why = err.code === 'EADDRINUSE' ? 'the port is in use (a mosquitto already running there?): use --broker-port N, or --broker URL to use that broker' : err.message;
      reject(new Error(`cannot start the embedded broker on ${host}:${port}: ${why}`));
    });
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `mqtt://${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        // aedes.close disconnects every client, after which the listener can finish closing.
        aedes.close(() => server.close(() => resolve()));
      }),
  };
}
