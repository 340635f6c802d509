/** Hono on Bun.serve, validating with zod through hono/validator (how PhotonCloud services do it). */
import { Hono } from "hono";
import { validator } from "hono/validator";
import { announce, port, userBody } from "./shared.ts";

const app = new Hono()
  .get("/hello", (c) => c.json({ message: "hello" }))
  .post(
    "/users/:id",
    validator("json", (value, c) => {
      const body = userBody.safeParse(value);
      return body.success ? body.data : c.json({ error: body.error.issues[0]?.message }, 400);
    }),
    (c) => c.json({ id: c.req.param("id"), ...c.req.valid("json") }),
  );

const server = Bun.serve({ hostname: "127.0.0.1", port, fetch: app.fetch });
announce(server.port);
