/** Reference: bare Bun.serve with its built-in router, validating with zod by hand. */
import { announce, port, userBody } from "./shared.ts";

const server = Bun.serve({
  hostname: "127.0.0.1",
  port,
  routes: {
    "/hello": { GET: () => Response.json({ message: "hello" }) },
    "/users/:id": {
      POST: async (req) => {
        let json: unknown;
        try {
          json = await req.json();
        } catch {
          return Response.json({ error: "malformed JSON" }, { status: 400 });
        }
        const body = userBody.safeParse(json);
        if (!body.success) return Response.json({ error: body.error.issues[0]?.message }, { status: 400 });
        return Response.json({ id: req.params.id, ...body.data });
      },
    },
  },
  fetch: () => new Response("not found", { status: 404 }),
});
announce(server.port);
