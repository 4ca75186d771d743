import { InitialSchema1764100000000 } from './1764100000000-initial-schema.js';

/** Every migration, oldest first. A test checks that each file in this folder is listed. */
export const migrations = [InitialSchema1764100000000];
