import { readKeySetFile, rotateKeySet, writeKeySetFile } from '../modules/auth/jwt/signing-keys.js';
import { CliError, UsageError, type CliCommand } from './cli-command.js';
import { loadCliConfig } from './cli-context.js';

/**
 * `keys:rotate`: a new JWT signing key at the head of the key file. Retired keys stay to
 * verify the tokens they signed until those expire (the access-token lifetime, plus a
 * minute of leeway), then drop out at a later rotation. Instances load the file at boot:
 * roll it out to every instance (restart) within one access-token lifetime.
 */
export const keysRotate: CliCommand = {
  usage: '',
  summary: 'Add a new JWT signing key (the newest signs; older ones verify until their tokens expire).',
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
    const rotated = await rotateKeySet(current, config.auth.accessTtlSeconds + 60, Math.floor(Date.now() / 1000));
    writeKeySetFile(file, rotated);
    const [signing, ...older] = rotated.keys;
    process.stdout.write(
      `New signing key ${signing?.kid} in ${file}; ${older.length} older key(s) kept for verification.\n`,
    );
    return 0;
  },
};
