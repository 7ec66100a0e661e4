// Colour for a human at a terminal only: never when stdout is a pipe or a file,
// never with NO_COLOR set (no-color.org) or TERM=dumb.

import type { CommandIO } from './io.js';

export function colourWanted(env: CommandIO['env'], isTTY: boolean): boolean {
  return isTTY && !env.NO_COLOR && env.TERM !== 'dumb';
}

export type Paint = (text: string) => string;

export function painter(io: Pick<CommandIO, 'colour'>, code: number): Paint {
  return io.colour ? (text) => `\x1b[${code}m${text}\x1b[0m` : (text) => text;
}

export const red = (io: Pick<CommandIO, 'colour'>) => painter(io, 31);
export const green = (io: Pick<CommandIO, 'colour'>) => painter(io, 32);
export const yellow = (io: Pick<CommandIO, 'colour'>) => painter(io, 33);
