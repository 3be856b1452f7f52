import type { Writable } from 'node:stream';
import type { FlagSpecs } from './args.js';

/** Where a command writes: the process streams, or buffers in tests. */
export interface CommandIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
}

export const PROCESS_IO: CommandIo = { stdout: process.stdout, stderr: process.stderr };

/** One `picket <name>` sub-command. */
export interface Command {
  name: string;
  /** One line for `picket --help`. */
  summary: string;
  /** Usage line after `picket <name>`, e.g. `CAPTURE... [--alerts]`. */
  usage: string;
  flags: FlagSpecs;
  /** Resolves to the process exit code. */
  run(argv: readonly string[], io?: CommandIo): Promise<number>;
}
