import { User } from '../modules/users/user.entity.js';

/** Every TypeORM entity; the app and the migration CLI share this list. */
export const entities = [User];
