/**
 * The length bounds of a password, for the DTOs of every module that accepts one (register,
 * sign in, change, reset); the rest of the policy runs in the users module.
 */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;
