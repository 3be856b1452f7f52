import type { FlagSpecs } from './args.js';

/** One `picket <name>` sub-command. */
export interface Command {
  name: string;
  /** One line for `picket --help`. */
  summary: string;
  /** Usage line after `picket <name>`, e.g. `CAPTURE... [--alerts]`. */
  usage: string;
  flags: FlagSpecs;
  /** Resolves to the process exit code. */
  run(argv: readonly string[]): Promise<number>;
}
