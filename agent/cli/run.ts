import { PROCESS_IO, type Command } from './command.js';
import { flagBool, parseArgs, UsageError } from './args.js';
import { picketVersion } from '../sink/mqtt/broker-options.js';
import { Daemon, StartError } from '../daemon/daemon.js';
import { registeredDetectors } from '../daemon/detect-port.js';
import { createLogger } from '../daemon/logger.js';
import { resolveSettings, RUN_FLAGS, SettingsError } from '../daemon/settings.js';
import { installSignals } from '../daemon/signals.js';

/** How long after a clean stop the process may linger on open handles before it is ended. */
const EXIT_GRACE_MS = 2000;

export const runCommand: Command = {
  name: 'run',
  summary: 'the sensor daemon: live capture and/or NetFlow collection, detection, alerts to MQTT; SIGHUP reloads, SIGTERM stops',
  usage: '[--config FILE] [--interface IF]... [--filter BPF] [--netflow HOST:PORT] [--metrics HOST:PORT] [--model FILE] [--alerts-jsonl FILE] [broker flags]',
  flags: RUN_FLAGS,
  async run(argv, io = PROCESS_IO) {
    const args = parseArgs(argv, RUN_FLAGS);
    if (args.positionals.length > 0) throw new UsageError(`takes no arguments (got "${args.positionals[0]}"); capture files go to picket replay`);
    const detectors = registeredDetectors();
    const resolve = () => resolveSettings(args.flags, detectors);
    let settings;
    try {
      settings = resolve();
    } catch (err) {
      if (!(err instanceof SettingsError)) throw err;
      for (const line of err.lines) io.stderr.write(`picket run: ${line}\n`);
      return 2;
    }
    if (flagBool(args, 'check')) {
      const c = settings.config;
      io.stdout.write(
        `picket run: configuration OK${settings.configPath ? ` (${settings.configPath})` : ''}: ` +
          `${c.capture.interfaces.length} interfaces, netflow ${c.netflow.listen || 'off'}, broker ${settings.broker?.url ?? 'none'}, metrics ${c.metrics.listen || 'off'}\n`,
      );
      return 0;
    }
    const c0 = settings.config;
    if (c0.capture.interfaces.length === 0 && c0.netflow.listen === '' && !settings.broker?.queueDir) {
      throw new UsageError(
        'nothing to do: give --interface IF or --netflow HOST:PORT (or capture.interfaces / netflow.listen in the config); --broker URL with --queue-dir DIR alone drains that queue',
      );
    }
    const log = createLogger(settings.config.logging.level);
    const daemon = new Daemon(settings, { log, resolve, version: picketVersion() });
    try {
      await daemon.start();
    } catch (err) {
      if (!(err instanceof StartError)) throw err;
      log.fatal({ event: 'start_failed' }, err.message);
      io.stderr.write(`picket run: ${err.message}\n`);
      return 1;
    }
    const uninstall = installSignals(daemon, log);
    const code = await daemon.wait();
    uninstall();
    // Everything is closed; a handle someone forgot must not keep a stopped sensor alive.
    setTimeout(() => {
      log.warn('exiting with handles still open');
      process.exit(code);
    }, EXIT_GRACE_MS).unref();
    return code;
  },
};
