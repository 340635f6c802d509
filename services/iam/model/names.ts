/**
 * Name rules. Names are what users type (`photon project create web`), so they are short and
 * shell- and URL-safe: lowercase, DNS-label-like. User names may also hold `.`, `_` and `@` so an
 * email address can be one. Built-in role names (`admin`, `member`, `reader`) are reserved.
 */
import { IamErrors } from "../errors.ts";

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const USER_NAME = /^[a-z0-9][a-z0-9._@-]{0,127}$/;
const RESERVED_ROLE_NAMES = new Set(["admin", "member", "reader"]);

/**
 * Checks a name of kind `what` (for the message: "project", "group"...).
 * @throws IAM:InvalidName saying what is wrong.
 */
export function checkName(name: unknown, what: string): string {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw IamErrors.InvalidName(
      `invalid ${what} name ${JSON.stringify(name)}: use 1-63 lowercase letters, digits and '-', starting with a letter`,
      { details: { field: "name", kind: what } },
    );
  }
  return name;
}

/**
 * Checks a user name (also allows `.`, `_`, `@`, and up to 128 characters).
 * @throws IAM:InvalidName.
 */
export function checkUserName(name: unknown): string {
  if (typeof name !== "string" || !USER_NAME.test(name)) {
    throw IamErrors.InvalidName(
      `invalid user name ${JSON.stringify(name)}: use 1-128 lowercase letters, digits, '.', '_', '@' and '-', starting with a letter or digit`,
      { details: { field: "name", kind: "user" } },
    );
  }
  return name;
}

/**
 * Checks a custom role name: a plain name that is not a built-in role's.
 * @throws IAM:InvalidName.
 */
export function checkRoleName(name: unknown): string {
  checkName(name, "role");
  if (RESERVED_ROLE_NAMES.has(name as string)) {
    throw IamErrors.InvalidName(`role name ${JSON.stringify(name)} is reserved for a built-in role`, { details: { field: "name", kind: "role" } });
  }
  return name as string;
}

/**
 * Checks an optional free-text field (display name, description): at most `max` characters, no
 * control characters.
 * @throws IAM:InvalidArgument naming the field.
 */
export function checkText(value: unknown, field: string, max = 256): string | undefined {
  if (value === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  if (typeof value !== "string" || value.length > max || /[\u0000-\u001f\u007f]/.test(value)) {
    throw IamErrors.InvalidArgument(`${field} must be text of at most ${max} characters without control characters`, { details: { field } });
  }
  return value;
}
