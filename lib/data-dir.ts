/**
 * The data directory of a PhotonCloud node: checked and claimed before anything is written.
 * A directory is ours when it holds `photoncloud.json` (the marker); an empty or missing one is
 * claimed by writing the marker; anything else is refused, so a typo in `--data-dir` never
 * scribbles over someone's files.
 */
import { accessSync, closeSync, constants, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { defineErrors, GrpcStatus } from "./errors.ts";

/** Errors of data directory handling. */
export const DataDirErrors = defineErrors("DATA", {
  NotADirectory: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "point --data-dir at a directory" },
  Foreign: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "use an empty directory or one PhotonCloud created" },
  NotWritable: { grpc: GrpcStatus.PERMISSION_DENIED, hint: "fix the permissions or pick another directory" },
  UnsupportedFormat: { grpc: GrpcStatus.FAILED_PRECONDITION, hint: "upgrade PhotonCloud to read this directory" },
});

/** Name of the marker file that makes a directory PhotonCloud's. */
export const markerFile = "photoncloud.json";
/** On-disk layout version written in the marker. */
export const dataFormat = 1;

/** What the marker records. */
export interface DataDirMarker {
  format: number;
  createdAt: string;
  node: string;
}

/** Writes `content` to `path` atomically: temp file, fsync, rename. */
export function writeFileAtomic(path: string, content: string, mode = 0o644): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, "w", mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * Checks and claims `dir` for node `node`; returns its absolute path and marker.
 * @throws DATA:NotADirectory, DATA:Foreign (non-empty, no marker), DATA:NotWritable,
 *   DATA:UnsupportedFormat — each naming the path; nothing is written when it throws.
 */
export function claimDataDir(dir: string, node: string): { path: string; marker: DataDirMarker } {
  const path = resolve(dir);
  let entries: string[] | undefined;
  try {
    const st = statSync(path);
    if (!st.isDirectory()) throw DataDirErrors.NotADirectory(`data directory ${path} is not a directory`);
    entries = readdirSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EACCES") throw DataDirErrors.NotWritable(`data directory ${path} is not readable`);
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const markerPath = join(path, markerFile);
  if (entries?.includes(markerFile)) {
    let marker: DataDirMarker;
    try {
      marker = JSON.parse(readFileSync(markerPath, "utf8")) as DataDirMarker;
    } catch (e) {
      throw DataDirErrors.Foreign(`data directory ${path} has an unreadable ${markerFile}: ${(e as Error).message}`);
    }
    if (marker.format !== dataFormat) {
      throw DataDirErrors.UnsupportedFormat(`data directory ${path} has format ${marker.format}, this build reads ${dataFormat}`);
    }
    assertWritable(path);
    return { path, marker };
  }
  if (entries && entries.length > 0) {
    throw DataDirErrors.Foreign(`data directory ${path} is not empty and is not a PhotonCloud data directory (no ${markerFile})`);
  }
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw DataDirErrors.NotWritable(`cannot create data directory ${path}: ${(e as Error).message}`);
  }
  const marker: DataDirMarker = { format: dataFormat, createdAt: new Date().toISOString(), node };
  try {
    writeFileAtomic(markerPath, JSON.stringify(marker, null, 2) + "\n");
  } catch (e) {
    throw DataDirErrors.NotWritable(`data directory ${path} is not writable: ${(e as Error).message}`);
  }
  return { path, marker };
}

function assertWritable(path: string): void {
  try {
    accessSync(path, constants.W_OK);
  } catch (e) {
    throw DataDirErrors.NotWritable(`data directory ${path} is not writable: ${(e as Error).message}`);
  }
}
