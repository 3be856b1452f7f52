import type { Logger } from './logger.js';

export interface SignalTarget {
  reload(): Promise<boolean>;
  stop(reason: string, code?: number): Promise<void>;
}

/**
 * SIGHUP reloads; SIGTERM and SIGINT stop gracefully (exit 0); a second SIGTERM/SIGINT while
 * stopping exits at once (130), for a person who does not want to wait. Reloads never overlap:
 * a SIGHUP during a reload is applied after it. Returns a function that removes the handlers.
 */
export function installSignals(target: SignalTarget, log: Logger, exit: (code: number) => void = (c) => process.exit(c)): () => void {
  let stopping = false;
  let reloading: Promise<unknown> = Promise.resolve();
  const onHup = (): void => {
    log.info({ event: 'signal', signal: 'SIGHUP' }, 'SIGHUP: reloading the configuration');
    reloading = reloading.then(() => target.reload()).catch((err: unknown) => log.error(`reload failed: ${String(err)}`));
  };
  const onStop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ event: 'signal', signal }, `second ${signal} while stopping: exiting now without finishing the flush`);
      exit(130);
      return;
    }
    stopping = true;
    void target.stop(signal, 0);
  };
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  return () => {
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
  };
}
