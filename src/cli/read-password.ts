import { Writable } from 'node:stream';
import { createInterface, type Interface } from 'node:readline/promises';
import { CliError } from './cli-command.js';

/**
 * A new password, without echo: from a terminal it is asked twice and both must match;
 * otherwise the first line of stdin is the password (scripts pipe it in).
 */
export async function readNewPassword(
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  if (!input.isTTY) {
    const line = await readFirstLine(input);
    if (line === undefined) {
      throw new CliError('No password on stdin: pipe one line, or run in a terminal to be prompted.');
    }
    return line;
  }
  return promptTwice(input, output);
}

/** The first line, without its line ending; the rest of the stream is not read. */
export async function readFirstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  const lines = createInterface({
    input,
    crlfDelay: Infinity,
    terminal: false,
  });
  try {
    for await (const line of lines) return line;
    return undefined;
  } finally {
    lines.close();
  }
}

/** Drops what readline echoes while a secret is typed; prompts are written around it. */
class MutableOutput extends Writable {
  muted = false;

  constructor(private readonly target: NodeJS.WriteStream) {
    super();
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.muted) done();
    else this.target.write(chunk, encoding, done);
  }
}

async function promptTwice(input: NodeJS.ReadStream, target: NodeJS.WriteStream): Promise<string> {
  const output = new MutableOutput(target);
  // historySize 0: the typed secret is not kept in readline's history.
  const terminal = createInterface({
    input,
    output,
    terminal: true,
    historySize: 0,
  });
  const cancel = new AbortController();
  let interrupted = false;
  terminal.on('SIGINT', () => {
    interrupted = true;
    cancel.abort();
  });
  // Ctrl-D: end of input.
  terminal.on('close', () => cancel.abort());
  try {
    const first = await askHidden(terminal, output, target, 'Password: ', cancel.signal);
    const second = await askHidden(terminal, output, target, 'Password (again): ', cancel.signal);
    if (first !== second) throw new CliError('The passwords do not match.');
    return first;
  } catch (error) {
    if (interrupted) throw new CliError('Cancelled.', 130);
    if (cancel.signal.aborted) throw new CliError('No password given.');
    throw error;
  } finally {
    terminal.close();
  }
}

async function askHidden(
  terminal: Interface,
  output: MutableOutput,
  target: NodeJS.WriteStream,
  prompt: string,
  signal: AbortSignal,
): Promise<string> {
  target.write(prompt);
  output.muted = true;
  try {
    return await terminal.question('', { signal });
  } finally {
    output.muted = false;
    target.write('\n');
  }
}
