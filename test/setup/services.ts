/** The Postgres and Redis that multi-instance tests share when DATABASE_URL / REDIS_URL are unset. */
export const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';
export const LOCAL_REDIS = 'redis://127.0.0.1:6379';
