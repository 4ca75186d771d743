// Every npm script runs through here: `node scripts/with-node.mjs <command> [args...]`.
// Written for any Node npm itself runs on, so it works on Windows too (npm runs scripts
// with cmd.exe there, which cannot run with-node.sh).
// - Node on PATH is new enough (package.json devEngines): the command runs as it is.
// - Older, on Linux: scripts/with-node.sh brings the pinned Node first (ensure-node.sh).
// - Older, elsewhere: it says to install Node and fails.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('..', import.meta.url);
const { devEngines } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const minimum = /(\d+)\.(\d+)/.exec(devEngines.runtime.version).slice(1).map(Number);
const [major, minor] = process.versions.node.split('.').map(Number);
const recentEnough = major > minimum[0] || (major === minimum[0] && minor >= minimum[1]);
const [command, ...args] = process.argv.slice(2);

let child;
if (recentEnough) {
  // cmd.exe resolves `nest`/`vitest` to their .cmd shims; elsewhere no shell touches the arguments.
  const windows = process.platform === 'win32';
  child = windows
    ? spawn([command, ...args].map((a) => (/[\s"]/.test(a) ? `"${a.replace(/"/g, '\\"')}"` : a)).join(' '), {
        stdio: 'inherit',
        shell: true,
      })
    : spawn(command, args, { stdio: 'inherit' });
} else if (process.platform === 'linux') {
  child = spawn(fileURLToPath(new URL('scripts/with-node.sh', root)), [command, ...args], { stdio: 'inherit' });
} else {
  process.stderr.write(
    `This project needs Node ${devEngines.runtime.version}; this is ${process.version}. ` +
      'Install a current LTS (nodejs.org, winget, fnm, mise or Volta) and run again.\n',
  );
  process.exit(1);
}

// npm, a supervisor or a terminal signals this process: the command gets the same signal.
const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP'];
for (const signal of forwarded) process.on(signal, () => child.kill(signal));
child.on('error', (error) => {
  process.stderr.write(`${command}: ${error.message}\n`);
  process.exit(127);
});
child.on('exit', (code, signal) => {
  if (signal) {
    for (const s of forwarded) process.removeAllListeners(s);
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
