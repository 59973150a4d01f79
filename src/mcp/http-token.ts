/**
 * The bearer token `pyro mcp serve --http` requires: `PYRO_MCP_TOKEN`, else `--token-file`,
 * else one generated once into `<state dir>/mcp/http-token` (0600, in a 0700 directory) and
 * reused by later starts, so configured clients keep working. A file another user owns, or
 * a symlink, is refused; a token file others could read is replaced (its token may have
 * leaked).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

import { PyroError, ValidationError } from "../errors.js";

export interface HttpToken {
  token: string;
  /** Where it came from, for the start-up message. */
  source: "PYRO_MCP_TOKEN" | "--token-file" | "generated";
  /** The file holding it (--token-file or the generated one). */
  file?: string;
  /** Chosen by the operator (env or --token-file), which a non-loopback bind requires. */
  explicit: boolean;
}

/** RFC 6750 `b64token` characters, so it fits an Authorization header as is. */
const TOKEN_SHAPE = /^[A-Za-z0-9\-._~+/]+=*$/;
const MIN_TOKEN_LENGTH = 16;

function checkShape(token: string, origin: string): string {
  if (token.length < MIN_TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) {
    throw new ValidationError(
      `${origin} must hold a token of at least ${MIN_TOKEN_LENGTH} characters from A-Z a-z 0-9 - . _ ~ + / (got ${token.length} characters${TOKEN_SHAPE.test(token) || token.length === 0 ? "" : " with other characters"})`,
      { field: origin },
    );
  }
  return token;
}

export async function loadHttpToken(options: {
  stateDir: string;
  tokenFile?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<HttpToken> {
  const env = options.env ?? process.env;
  if (options.tokenFile !== undefined) {
    const file = path.resolve(options.tokenFile);
    await checkPrivateFile(file, "--token-file");
    const token = (await fs.readFile(file, "utf8")).trim();
    return {
      token: checkShape(token, "--token-file"),
      source: "--token-file",
      file,
      explicit: true,
    };
  }
  if (env.PYRO_MCP_TOKEN !== undefined && env.PYRO_MCP_TOKEN !== "") {
    return {
      token: checkShape(env.PYRO_MCP_TOKEN, "PYRO_MCP_TOKEN"),
      source: "PYRO_MCP_TOKEN",
      explicit: true,
    };
  }
  const file = path.join(await privateDir(path.join(options.stateDir, "mcp")), "http-token");
  return { token: await generatedToken(file), source: "generated", file, explicit: false };
}

/** `<state>/mcp`, created 0700; refused when another user owns it, tightened when loose. */
async function privateDir(dir: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const stat = await fs.lstat(dir);
  if (!stat.isDirectory() || stat.uid !== process.getuid?.()) {
    throw new PyroError(
      "invalid_state",
      `${dir} must be a directory owned by this user (uid ${process.getuid?.()}); it is ${stat.isDirectory() ? `owned by uid ${stat.uid}` : "not a directory"}. Remove it and start again`,
      { path: dir },
    );
  }
  if ((stat.mode & 0o077) !== 0) await fs.chmod(dir, 0o700);
  return dir;
}

/** A regular file (not a symlink) owned by this user that no one else may read or write. */
async function checkPrivateFile(file: string, field: string): Promise<void> {
  const stat = await fs.lstat(file).catch(() => null);
  if (!stat) throw new ValidationError(`${field} '${file}' does not exist`, { field });
  const uid = process.getuid?.();
  if (!stat.isFile()) {
    throw new ValidationError(
      `${field} '${file}' must be a regular file, not a symlink or special file`,
      {
        field,
      },
    );
  }
  if (stat.uid !== uid) {
    throw new ValidationError(
      `${field} '${file}' must be owned by this user (uid ${uid}), it is owned by uid ${stat.uid}`,
      { field },
    );
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new ValidationError(
      `${field} '${file}' must not be readable or writable by others (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`,
      { field },
    );
  }
}

async function generatedToken(file: string): Promise<string> {
  const stat = await fs.lstat(file).catch(() => null);
  if (stat) {
    if (!stat.isFile() || stat.uid !== process.getuid?.()) {
      throw new PyroError(
        "invalid_state",
        `the MCP token file ${file} must be a regular file owned by this user; it is ${stat.isFile() ? `owned by uid ${stat.uid}` : "a symlink or special file"}. Remove it and start again`,
        { path: file },
      );
    }
    if ((stat.mode & 0o077) === 0) {
      const token = (await fs.readFile(file, "utf8")).trim();
      if (token.length >= MIN_TOKEN_LENGTH && TOKEN_SHAPE.test(token)) return token;
    }
    // Readable by others (it may have leaked) or not a token: replaced below.
  }
  const token = randomBytes(32).toString("base64url");
  const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  // Created 0600 from the start (O_EXCL: never through a planted file), then renamed over.
  const handle = await fs.open(temp, "wx", 0o600);
  try {
    try {
      await handle.writeFile(`${token}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  return token;
}

/** Constant-time check of an `Authorization` header against the token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? "");
  if (!match?.[1]) return false;
  // Hashing first makes the lengths equal, so timingSafeEqual leaks nothing about either.
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}
