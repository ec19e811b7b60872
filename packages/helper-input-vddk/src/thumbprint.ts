/**
 * The server's SSL thumbprint when -io vddk-thumbprint is not given, as newer virt-v2v finds it
 * (`openssl s_client -connect SERVER:443 | openssl x509 -fingerprint -sha1`): the SHA1
 * fingerprint of the certificate the server presents, in VDDK's form (XX:XX:…). VDDK then
 * checks the server against it, so taking it unverified here trusts the server on first use, as
 * virt-v2v does.
 */
import net from "node:net";
import tls from "node:tls";
import { UserError } from "@split-v2v/common";

export interface ThumbprintOptions {
  /** The HTTPS port of vCenter or ESXi (443; -io vddk-port when given). */
  port: number;
  timeoutMs?: number;
}

/** Connects with TLS and reads the peer certificate's SHA1 fingerprint. */
export function fetchThumbprint(server: string, options: ThumbprintOptions): Promise<string> {
  const { port } = options;
  const advice =
    "give it with ‘-io vddk-thumbprint=XX:XX:...’ (see the nbdkit-vddk-plugin(1) manual for how to find it)";
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: server,
      port,
      // The certificate is what we ask for, not what we trust: VDDK checks the thumbprint.
      rejectUnauthorized: false,
      // SNI takes host names only.
      ...(net.isIP(server) === 0 ? { servername: server } : {}),
    });
    const fail = (reason: string) => {
      socket.destroy();
      reject(
        new UserError(
          `could not fetch the SSL thumbprint from ${server}:${port} (${reason}); ${advice}`,
        ),
      );
    };
    socket.setTimeout(options.timeoutMs ?? 20000, () => fail("no answer"));
    socket.once("error", (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    socket.once("secureConnect", () => {
      const certificate = socket.getPeerCertificate();
      socket.end();
      // Node's fingerprint is the SHA1 digest of the DER certificate, "AB:CD:…", as openssl's.
      if (typeof certificate.fingerprint !== "string" || certificate.fingerprint === "") {
        fail("the server presented no certificate");
        return;
      }
      resolve(certificate.fingerprint.toUpperCase());
    });
  });
}
