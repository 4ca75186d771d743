import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPTS = fileURLToPath(new URL('../../scripts/', import.meta.url));

/**
 * scripts/ensure-node.sh on a machine whose Node is too old, with the registry played by a
 * fake `npm pack` that hands over a tarball this test made: a tarball whose sha512 is not
 * the pinned one is refused before anything is unpacked; one that matches is unpacked and
 * put first on PATH. No network: the pin is what is under test, not the download.
 */
describe('the Node bootstrapper (scripts/ensure-node.sh)', () => {
  let dir: string;
  let tarball: string;
  let integrity: string;
  let env: NodeJS.ProcessEnv;
  const pkg = `node-linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}`;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsa-bootstrap-'));
    mkdirSync(join(dir, 'project/scripts'), { recursive: true });
    for (const file of ['ensure-node.sh', 'with-node.sh']) {
      copyFileSync(join(SCRIPTS, file), join(dir, 'project/scripts', file));
    }
    // The "Node" inside the tarball: a script that says which version it is.
    mkdirSync(join(dir, 'package/bin'), { recursive: true });
    writeFileSync(join(dir, 'package/bin/node'), '#!/bin/sh\necho v24.99.0-from-tarball\n', { mode: 0o755 });
    tarball = join(dir, `${pkg}-24.21.0.tgz`);
    execFileSync('tar', ['-czf', tarball, '-C', dir, 'package']);
    integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    // The machine: a `node` too old for the project (the version check fails, the rest runs
    // on this Node), and an `npm pack` that "downloads" the tarball.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'node'),
      `#!/bin/sh\ncase "$2" in *process.versions.node*) exit 1 ;; esac\nexec "${process.execPath}" "$@"\n`,
      { mode: 0o755 },
    );
    writeFileSync(
      join(bin, 'npm'),
      `#!/bin/sh\n[ "$1" = pack ] || exit 2\ncp "${tarball}" .\necho "${pkg}-24.21.0.tgz"\n`,
      { mode: 0o755 },
    );
    env = { PATH: `${bin}:/usr/bin:/bin`, HOME: dir };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = () =>
    spawnSync('bash', [join(dir, 'project/scripts/with-node.sh'), 'node', '--version'], { env, encoding: 'utf8' });
  const installed = () => join(dir, `project/.node/node_modules/${pkg}`);

  it('should refuse a tarball whose sha512 is not the pinned one, and unpack nothing', () => {
    const result = run();
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`has integrity ${integrity}, not the pinned`);
    expect(existsSync(installed())).toBe(false);
  });

  it('should unpack a tarball that matches the pin, mark it verified and run the command with it', () => {
    const script = join(dir, 'project/scripts/ensure-node.sh');
    const pinned = readFileSync(script, 'utf8').replace(
      new RegExp(`(${pkg}\\) echo ')[^']+'`),
      (_match, prefix: string) => `${prefix}${integrity}'`,
    );
    writeFileSync(script, pinned);
    chmodSync(script, 0o755);
    const result = run();
    expect(result.stderr).toContain('sha512 pinned');
    expect(result.stdout.trim()).toBe('v24.99.0-from-tarball');
    expect(readFileSync(join(installed(), '.integrity'), 'utf8').trim()).toBe(integrity);
    // Verified once: the next run uses it without fetching again.
    const again = run();
    expect(again.stdout.trim()).toBe('v24.99.0-from-tarball');
    expect(again.stderr).not.toContain('installing');
  });
});
