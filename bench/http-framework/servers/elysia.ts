/** Elysia with its own TypeBox schemas (its idiomatic, compiled validation). */
import { Elysia, t } from "elysia";
import { announce, port } from "./shared.ts";

const app = new Elysia()
  .get("/hello", () => ({ message: "hello" }))
  .post("/users/:id", ({ params, body }) => ({ id: params.id, ...body }), {
    body: t.Object(
      { name: t.String({ minLength: 1, maxLength: 64 }), age: t.Integer({ minimum: 0, maximum: 150 }) },
      { additionalProperties: false },
    ),
  })
  .listen({ hostname: "127.0.0.1", port });
announce(app.server?.port);
