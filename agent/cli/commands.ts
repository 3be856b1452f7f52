import type { Command } from './command.js';
import { collectCommand } from './collect.js';
import { demoCommand } from './demo.js';
import { inspectCommand } from './inspect.js';
import { replayCommand } from './replay.js';
import { runCommand } from './run.js';
import { evalCommand } from './eval.js';
import { trainCommand } from './train.js';
import { scoreCommand } from './score.js';

/** Every sub-command, in the order `picket --help` lists them. Add a command with one line here. */
export const COMMANDS: readonly Command[] = [inspectCommand, replayCommand, runCommand, evalCommand, trainCommand, scoreCommand, collectCommand, demoCommand];
