import { readKeySetFile, rotateKeySet, writeKeySetFile } from '../modules/auth/jwt/signing-keys.js';
import { CliError, UsageError, type CliCommand } from './cli-command.js';
import { loadCliConfig } from './cli-context.js';

/**
 * `keys:rotate`: a new signing key of each algorithm (ES256 for access tokens, RS256 for
 * OAuth ID tokens) at the head of the key file. Retired keys stay to verify the tokens they
 * signed until those expire (the longer of the JWT and OAuth access-token lifetimes, which
 * ID tokens share, plus a minute of leeway), then drop out at a later rotation. Instances load the file at boot:
 * roll it out to every instance (restart) within one access-token lifetime.
 */
export const keysRotate: CliCommand = {
  usage: '',
  summary: 'Add new signing keys, ES256 and RS256 (the newest sign; older ones verify until their tokens expire).',
  async run(args) {
    if (args.length > 0) throw new UsageError(`Unexpected arguments: ${args.join(' ')}`);
    const config = loadCliConfig();
    if (config.auth.keysJson) {
      throw new CliError(
        'JWT_KEYS holds the keys inline: rotate them where that value is managed (or use JWT_KEYS_FILE).',
      );
    }
    const file = config.auth.keysFile;
    if (!file) throw new CliError('No key file: set JWT_KEYS_FILE (or a DATA_DIR other than :memory:).');
    const current = readKeySetFile(file) ?? { keys: [] };
    const rotated = await rotateKeySet(current, config.auth.retiredKeyVerifySeconds, Math.floor(Date.now() / 1000));
    writeKeySetFile(file, rotated);
    const signing = rotated.keys.filter((key) => key.retired_at === undefined);
    const older = rotated.keys.length - signing.length;
    process.stdout.write(
      `New signing keys ${signing.map((key) => `${key.kid} (${key.alg})`).join(', ')} in ${file}; ` +
        `${older} older key(s) kept for verification.\n`,
    );
    return 0;
  },
};
