/**
 * Workspace secrets (docs/secrets.md): validated at create, their values kept on the host in
 * one 0600 file inside the workspace's directory (never in workspace.json, which keeps only
 * names and source kinds), written into the sandbox by the agent's `secrets.write` after
 * every boot (create, reset, start), handed to a command only through `secret_env`, and
 * redacted from everything a sandbox sends back (src/core/redact.ts).
 */
import fs from "node:fs/promises";
import path from "node:path";

import { PyroError, StateError, ValidationError } from "../errors.js";
import { writeFileAtomic } from "../store/atomic.js";
import type { RuntimeRecord, WorkspaceRecord, WorkspaceSecret } from "../store/records.js";
import { checkEnv, checkHostPath } from "../shared/limits.js";
import type { ManagerContext } from "./context.js";
import { Redactor, type SecretValue } from "../shared/redact.js";

const SECRET_LIMITS = {
  /** Secrets per workspace. */
  maxCount: 32,
  /** Bytes of one value (UTF-8). */
  maxValueBytes: 8 * 1024,
  /** Bytes of all values together. */
  maxTotalBytes: 64 * 1024,
} as const;

/** A secret's name: an environment-variable-like word, so it is also a safe file name. */
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** One `secrets` item of workspace_create: exactly one of value and file_path. */
export interface SecretInput {
  name: string;
  value?: string;
  file_path?: string;
}

/** The validated secrets of a create: the record's metadata and the values. */
interface CheckedSecrets {
  metadata: WorkspaceSecret[];
  values: SecretValue[];
}

/**
 * Validates `secrets` (names, duplicates, sizes, UTF-8) and reads the file_path ones.
 * No message ever includes a value: a value is described by its name and size only.
 */
export async function checkSecrets(
  raw: readonly SecretInput[] | undefined,
): Promise<CheckedSecrets> {
  if (raw === undefined || raw === null) return { metadata: [], values: [] };
  if (!Array.isArray(raw)) {
    throw new ValidationError("secrets must be a list of {name, value} or {name, file_path}", {
      field: "secrets",
    });
  }
  if (raw.length > SECRET_LIMITS.maxCount) {
    throw new ValidationError(
      `secrets must have at most ${SECRET_LIMITS.maxCount} items, got ${raw.length}`,
      { field: "secrets", limit: SECRET_LIMITS.maxCount },
    );
  }
  const metadata: WorkspaceSecret[] = [];
  const values: SecretValue[] = [];
  let total = 0;
  for (const [index, item] of raw.entries()) {
    const field = `secrets[${index}]`;
    if (typeof item !== "object" || item === null) {
      throw new ValidationError(`${field} must be an object {name, value} or {name, file_path}`, {
        field,
      });
    }
    const name = checkSecretName(item.name, `${field}.name`);
    if (metadata.some((each) => each.name === name)) {
      throw new ValidationError(`${field}.name: secret '${name}' is given twice`, {
        field: `${field}.name`,
        value: name,
      });
    }
    const hasValue = item.value !== undefined;
    const hasFile = item.file_path !== undefined;
    if (hasValue === hasFile) {
      throw new ValidationError(
        `${field} (secret '${name}') must have exactly one of value and file_path`,
        { field, name },
      );
    }
    const value = hasValue
      ? checkValueText(item.value, name, `${field}.value`)
      : await readSecretFile(item.file_path, name, `${field}.file_path`);
    total += Buffer.byteLength(value);
    if (total > SECRET_LIMITS.maxTotalBytes) {
      throw new ValidationError(
        `secrets must be at most ${SECRET_LIMITS.maxTotalBytes} bytes in all (values, UTF-8)`,
        { field: "secrets", limit: SECRET_LIMITS.maxTotalBytes },
      );
    }
    metadata.push({ name, source_kind: hasValue ? "literal" : "file" });
    values.push({ name, value });
  }
  return { metadata, values };
}

function checkSecretName(raw: unknown, field: string): string {
  if (typeof raw !== "string" || !SECRET_NAME.test(raw)) {
    const shown = typeof raw === "string" ? `'${raw.slice(0, 80)}'` : String(raw);
    throw new ValidationError(`${field} must match ${SECRET_NAME.source}, got ${shown}`, {
      field,
      value: typeof raw === "string" ? raw.slice(0, 80) : null,
    });
  }
  return raw;
}

function checkValueText(raw: unknown, name: string, field: string): string {
  if (typeof raw !== "string") {
    throw new ValidationError(`${field} (secret '${name}') must be a string`, { field, name });
  }
  return checkValueBytes(Buffer.from(raw, "utf8"), raw, name, field);
}

function checkValueBytes(bytes: Buffer, text: string, name: string, field: string): string {
  if (bytes.length === 0) {
    throw new ValidationError(`${field} (secret '${name}') must not be empty`, { field, name });
  }
  if (bytes.length > SECRET_LIMITS.maxValueBytes) {
    throw new ValidationError(
      `${field} (secret '${name}') must be at most ${SECRET_LIMITS.maxValueBytes} bytes, got ${bytes.length} bytes`,
      { field, name, limit: SECRET_LIMITS.maxValueBytes },
    );
  }
  // Env values cannot hold a NUL, and a lone surrogate does not survive UTF-8.
  if (text.includes("\0") || Buffer.from(text, "utf8").toString("utf8") !== text) {
    throw new ValidationError(`${field} (secret '${name}') must be UTF-8 text without NUL bytes`, {
      field,
      name,
    });
  }
  return text;
}

async function readSecretFile(raw: unknown, name: string, field: string): Promise<string> {
  if (typeof raw !== "string") {
    throw new ValidationError(`${field} (secret '${name}') must be a host path`, { field, name });
  }
  checkHostPath(field, raw);
  const file = path.resolve(raw);
  const stat = await fs.stat(file).catch(() => null);
  if (!stat?.isFile()) {
    throw new PyroError("not_found", `${field} (secret '${name}') is not a file: '${file}'`, {
      field,
      value: raw,
    });
  }
  if (stat.size > SECRET_LIMITS.maxValueBytes) {
    throw new ValidationError(
      `${field} (secret '${name}') must be at most ${SECRET_LIMITS.maxValueBytes} bytes, got ${stat.size} bytes`,
      { field, name, limit: SECRET_LIMITS.maxValueBytes },
    );
  }
  const bytes = await fs.readFile(file);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ValidationError(`${field} (secret '${name}') must be UTF-8 text`, { field, name });
  }
  return checkValueBytes(bytes, text, name, field);
}

// ---- the host's copy ---------------------------------------------------------------

function valuesFile(context: ManagerContext, workspaceId: string): string {
  return path.join(context.layout.workspaceDir(workspaceId), "secrets", "values.json");
}

/** Stores the values (0700 directory, 0600 file, written whole): create only. */
export async function storeSecrets(
  context: ManagerContext,
  workspaceId: string,
  values: readonly SecretValue[],
): Promise<void> {
  if (values.length === 0) return;
  const file = valuesFile(context, workspaceId);
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await fs.chmod(path.dirname(file), 0o700);
  await writeFileAtomic(file, JSON.stringify({ secrets: values }));
}

/**
 * Gives a fork its source's secret values (workspace_fork): a copy of the file, never a
 * link, so deleting either workspace leaves the other's intact. Nothing when it has none.
 */
export async function copySecrets(
  context: ManagerContext,
  fromId: string,
  toId: string,
): Promise<void> {
  await storeSecrets(context, toId, await loadSecrets(context, fromId));
}

/** The values of a workspace's secrets (none when it has none). */
async function loadSecrets(context: ManagerContext, workspaceId: string): Promise<SecretValue[]> {
  // Only ids that name a directory of their own (an error path may pass an unchecked one).
  if (!/^[A-Za-z0-9_-]+$/.test(workspaceId)) return [];
  let text: string;
  try {
    text = await fs.readFile(valuesFile(context, workspaceId), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const parsed = JSON.parse(text) as { secrets?: unknown };
  if (!Array.isArray(parsed.secrets)) return [];
  return parsed.secrets.filter(
    (each): each is SecretValue =>
      typeof each === "object" &&
      each !== null &&
      typeof (each as SecretValue).name === "string" &&
      typeof (each as SecretValue).value === "string",
  );
}

/** The redactor for a workspace's output, or null when it has no secrets. */
export async function redactorFor(
  context: ManagerContext,
  workspaceId: string,
): Promise<Redactor | null> {
  const values = await loadSecrets(context, workspaceId);
  return values.length === 0 ? null : new Redactor(values);
}

/**
 * Runs `work` and redacts the workspace's secret values from any error it throws (message
 * and details): an agent's or a command's error may quote output.
 */
export async function redactingErrors<T>(
  context: ManagerContext,
  workspaceId: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    const redactor = await redactorFor(context, workspaceId).catch(() => null);
    if (!redactor) throw error;
    error.message = redactor.redact(error.message);
    if (error instanceof PyroError) {
      const details = redactor.redactDeep(error.details) as Record<string, unknown>;
      Object.assign(error, { details });
    }
    if (typeof error.stack === "string") error.stack = redactor.redact(error.stack);
    throw error;
  }
}

// ---- in the sandbox ----------------------------------------------------------------

/**
 * Writes the workspace's secrets into its freshly booted sandbox (`/run/pyro-secrets/NAME`
 * in a guest). Called from the boot path, so every create, reset and start gets them.
 */
export async function materializeSecrets(
  context: ManagerContext,
  record: WorkspaceRecord,
  runtime: RuntimeRecord,
): Promise<void> {
  if ((record.secrets ?? []).length === 0) return;
  const values = await loadSecrets(context, record.workspace_id);
  if (!(await context.pool.supports(runtime, "secrets.write"))) {
    throw new StateError(
      `workspace '${record.workspace_id}' booted an agent without secrets support; update the guest environment (\`pyro env pull --force\`)`,
      { workspace_id: record.workspace_id, reason: "agent_too_old" },
    );
  }
  await context.pool.call(runtime, "secrets.write", {
    secrets: values.map(({ name, value }) => ({ name, value })),
  });
}

/**
 * The environment `secret_env` ({ENV_NAME: SECRET_NAME}) asks for, merged into `env`.
 * An unknown secret name is refused, naming it; so is a variable set by both.
 */
export async function secretEnv(
  context: ManagerContext,
  record: WorkspaceRecord,
  secretEnvInput: Record<string, string> | undefined,
  env: Record<string, string> | undefined,
): Promise<Record<string, string> | undefined> {
  if (secretEnvInput === undefined || secretEnvInput === null) return env;
  if (typeof secretEnvInput !== "object" || Array.isArray(secretEnvInput)) {
    throw new ValidationError("secret_env must be an object {ENV_NAME: SECRET_NAME}", {
      field: "secret_env",
    });
  }
  const entries = Object.entries(secretEnvInput);
  if (entries.length === 0) return env;
  const values = new Map(
    (await loadSecrets(context, record.workspace_id)).map((each) => [each.name, each.value]),
  );
  const merged: Record<string, string> = { ...(env ?? {}) };
  for (const [envName, secretName] of entries) {
    const field = `secret_env.${envName}`;
    const value = typeof secretName === "string" ? values.get(secretName) : undefined;
    if (value === undefined) {
      const known = [...values.keys()];
      throw new ValidationError(
        `${field}: workspace '${record.workspace_id}' has no secret named '${String(secretName).slice(0, 80)}' (its secrets: ${known.length > 0 ? known.join(", ") : "none"})`,
        { field, value: secretName, secrets: known },
      );
    }
    if (env && Object.hasOwn(env, envName)) {
      throw new ValidationError(`${field}: ${envName} is also set in env; set it in one place`, {
        field,
        value: envName,
      });
    }
    merged[envName] = value;
  }
  // The names follow env's rule; the sizes count the values (messages never show them).
  return checkEnv(merged, "secret_env");
}
