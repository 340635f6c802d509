/**
 * What every benchmark server implements, identically:
 * - `GET /hello` → `{"message":"hello"}`;
 * - `POST /users/:id` with a JSON body `{ name: string (1..64), age: integer (0..150) }` →
 *   `{ id, name, age }`, or 400 when the body does not validate.
 * Each server binds 127.0.0.1 on the port in $PORT (0 = any) and prints `{"port":N}` on stdout.
 */
import { z } from "zod";

/** The body of `POST /users/:id`, as a zod schema (Hono, bare Bun.serve, Elysia with zod). */
export const userBody = z.object({ name: z.string().min(1).max(64), age: z.number().int().min(0).max(150) }).strict();

/** The port to bind. */
export const port = Number(process.env.PORT ?? 0);

/** Tells the runner where the server listens. */
export function announce(boundPort: number | undefined): void {
  process.stdout.write(`${JSON.stringify({ port: boundPort })}\n`);
}
