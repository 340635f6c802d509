/** A free TCP port on 127.0.0.1 (for listeners that must know their port before they bind). */
import { createServer } from "node:net";

/** Resolves to a port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
