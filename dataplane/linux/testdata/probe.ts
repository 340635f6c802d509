/**
 * Tiny network probes run inside test namespaces (`ip netns exec NS bun probe.ts ...`):
 *   tcp-listen PORT            accept connections, answer with the peer's address, print "ready"
 *   tcp-listen6 PORT           the same on IPv6 (and IPv4): bound to ::
 *   udp-echo PORT              answer each datagram with the sender's address, print "ready"
 *   tcp-connect IP PORT MS     exit 0 and print the answer when connected within MS, else exit 1
 *   udp-ask IP PORT MS         send a datagram, exit 0 and print the answer within MS, else exit 1
 */
export {};

const [cmd, a, b, c] = process.argv.slice(2);

if (cmd === "tcp-listen" || cmd === "tcp-listen6") {
  Bun.listen({
    hostname: cmd === "tcp-listen6" ? "::" : "0.0.0.0",
    port: Number(a),
    socket: {
      open(s) {
        s.end(`${s.remoteAddress}\n`);
      },
      data() {},
    },
  });
  console.log("ready");
} else if (cmd === "udp-echo") {
  await Bun.udpSocket({
    hostname: "0.0.0.0",
    port: Number(a),
    socket: {
      data(s, _buf, port, addr) {
        s.send(`${addr}\n`, port, addr);
      },
    },
  });
  console.log("ready");
} else if (cmd === "tcp-connect") {
  const timer = setTimeout(() => process.exit(1), Number(c));
  let got = "";
  await Bun.connect({
    hostname: a!,
    port: Number(b),
    socket: {
      data(_s, d) {
        got += d.toString();
      },
      close() {
        clearTimeout(timer);
        console.log(got.trim());
        process.exit(got ? 0 : 1);
      },
      connectError() {
        process.exit(1);
      },
    },
  }).catch(() => process.exit(1));
} else if (cmd === "udp-ask") {
  setTimeout(() => process.exit(1), Number(c));
  const sock = await Bun.udpSocket({
    socket: {
      data(_s, buf) {
        console.log(buf.toString().trim());
        process.exit(0);
      },
    },
  });
  sock.send("ping", Number(b), a!);
} else {
  console.error("unknown probe");
  process.exit(2);
}
