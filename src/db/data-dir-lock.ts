import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

// PGlite keeps its database in the memory of the process that opened it and
// writes its files from there: a second process on the same DATA_DIR reads a
// copy, and the two diverge (each sees only its own writes) until one
// overwrites the other's files. So one process holds a DATA_DIR at a time.
const LOCK_FILE = "gateway.lock";

/**
 * Claims `dir` for this process (its pid in `dir/gateway.lock`), taking over a
 * lock whose process is gone; throws, naming the holder, while another lives.
 * Returns the release.
 */
export function lockDataDir(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw error;
    }
    const holder = Number(readFileSync(path, "utf8").trim());
    if (holder !== process.pid && isAlive(holder)) {
      throw new Error(
        `DATA_DIR ${dir} is in use by process ${holder}: the embedded database serves one gateway process. ` +
          `Stop that one, give this one another DATA_DIR, or set DATABASE_URL to run several instances ` +
          `(delete ${path} if no gateway runs there).`,
      );
    }
    rmSync(path, { force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it lives, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
