import { PassThrough } from 'node:stream';
import type { Command } from '../../agent/cli/command.js';

/** Exit code and everything a command wrote. */
export interface CommandRun {
  code: number;
  out: string;
  err: string;
}

/** Runs a `picket` sub-command in this process with its stdout and stderr captured. */
export async function runCommand(cmd: Command, argv: readonly string[]): Promise<CommandRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await cmd.run(argv, { stdout, stderr });
  return { code, out, err };
}
