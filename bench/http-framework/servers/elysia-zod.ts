/** Elysia validating with the same zod schema as Hono (Standard Schema), to separate framework from validator. */
import { Elysia } from "elysia";
import { announce, port, userBody } from "./shared.ts";

const app = new Elysia()
  .get("/hello", () => ({ message: "hello" }))
  .post("/users/:id", ({ params, body }) => ({ id: params.id, ...body }), { body: userBody })
  .listen({ hostname: "127.0.0.1", port });
announce(app.server?.port);
