/** Its own module so that the entry point can recognise it without loading the embedded database. */
export class DataDirLockedError extends Error {
  constructor(dir: string, pid: number) {
    super(
      `The embedded database in ${dir} is already in use by process ${pid}. ` +
        'Stop that process, or point DATA_DIR at another folder, or set DATABASE_URL.',
    );
    this.name = 'DataDirLockedError';
  }
}
