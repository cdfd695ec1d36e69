// The client's credentials against live servers that authenticate: bearer tokens over TLS, and
// client certificates (mutual TLS). The project's pytest starts both servers and sets:
//   FINANCE_TRACKER_JWT_ADDRESS   host:port of a server taking bearer tokens, over TLS
//   FINANCE_TRACKER_MTLS_ADDRESS  host:port of a server taking client certificates
//   FINANCE_TRACKER_CREDENTIALS   a directory made by tools/dev_credentials.py (ca.crt, client.crt, client.key)
//   FINANCE_TRACKER_TOKENS        JSON: { subject, tokens: [several tokens of that subject] }
//   FINANCE_TRACKER_CLIENT_ID     the identity of client.crt
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";

import { Code, ConnectError, Member_Role, createFinanceClient } from "../src/index.js";

const env = process.env;
const jwtAddress = env.FINANCE_TRACKER_JWT_ADDRESS ?? "";
const mtlsAddress = env.FINANCE_TRACKER_MTLS_ADDRESS ?? "";
const directory = env.FINANCE_TRACKER_CREDENTIALS ?? "";
const skip =
  jwtAddress && mtlsAddress && directory && env.FINANCE_TRACKER_TOKENS
    ? false
    : "FINANCE_TRACKER_JWT_ADDRESS, _MTLS_ADDRESS, _CREDENTIALS and _TOKENS are not set (tests/test_typescript_sdk.py sets them)";

/** @param {string} name */
const pem = (name) => readFileSync(join(directory, name));

/** @type {{ subject: string, tokens: string[] }} */
const { subject, tokens } = skip ? { subject: "", tokens: [] } : JSON.parse(env.FINANCE_TRACKER_TOKENS ?? "");

/**
 * The actors (principal and calling service) of a user's audit trail.
 * @param {ReturnType<typeof createFinanceClient>} client @param {string} parent
 */
async function auditActors(client, parent) {
  const { auditEvents } = await client.audit.listAuditEvents({ parent });
  return [...new Set(auditEvents.map((e) => `${e.actor} ${e.actorService}`))];
}

describe("bearer tokens over TLS", { skip }, () => {
  const tls = skip ? {} : { ca: pem("ca.crt") };

  test("a token calls as its subject, who owns the user it creates", async () => {
    const client = createFinanceClient({ baseUrl: jwtAddress, tls, token: tokens[0] });
    const user = await client.users.createUser({ user: { displayName: "Token" } });
    const { members } = await client.members.listMembers({ parent: user.name });
    assert.deepEqual(
      members.map((m) => [m.principal, m.role]),
      [[subject, Member_Role.OWNER]],
    );
    assert.deepEqual(await auditActors(client, user.name), [`${subject} `]);
  });

  test("a token provider is asked before every call", async () => {
    /** @type {string[]} */
    const handedOut = [];
    const tokenProvider = async () => {
      handedOut.push(tokens[handedOut.length % tokens.length]);
      return handedOut[handedOut.length - 1];
    };
    const client = createFinanceClient({ baseUrl: `https://${jwtAddress}`, tls, tokenProvider });
    const user = await client.users.createUser({ user: { displayName: "Provider" } });
    await client.users.getUser({ name: user.name });
    await client.users.getUser({ name: user.name });
    assert.equal(handedOut.length, 3);
    assert.equal(new Set(handedOut).size, Math.min(3, tokens.length));
  });

  test("a call without a token is unauthenticated", async () => {
    const client = createFinanceClient({ baseUrl: jwtAddress, tls });
    await assert.rejects(client.users.createUser({ user: { displayName: "Nobody" } }), (error) => {
      assert.ok(error instanceof ConnectError);
      assert.equal(error.code, Code.Unauthenticated);
      return true;
    });
  });
});

describe("client certificates (mutual TLS)", { skip }, () => {
  test("a client certificate calls as its identity", async () => {
    const tls = { ca: pem("ca.crt"), cert: pem("client.crt"), key: pem("client.key") };
    const client = createFinanceClient({ baseUrl: mtlsAddress, tls });
    const user = await client.users.createUser({ user: { displayName: "Certificate" } });
    const identity = env.FINANCE_TRACKER_CLIENT_ID;
    assert.deepEqual(await auditActors(client, user.name), [`${identity} ${identity}`]);
  });

  test("a client without a certificate is turned away", async () => {
    const client = createFinanceClient({ baseUrl: mtlsAddress, tls: { ca: pem("ca.crt") } });
    await assert.rejects(client.users.createUser({ user: { displayName: "Stranger" } }), (error) => {
      // The TLS handshake fails before any call reaches the server: Node reports the stream
      // it closed (Canceled) rather than a status the server sent.
      assert.ok(error instanceof ConnectError, `a ConnectError, not ${error}`);
      assert.notEqual(error.code, Code.Unauthenticated);
      return true;
    });
  });
});

describe("credential options", () => {
  test("tls with a plaintext URL is refused", () => {
    assert.throws(
      () => createFinanceClient({ baseUrl: "http://127.0.0.1:1", tls: {} }),
      /tls needs an https:\/\/ baseUrl/,
    );
  });

  test("a token and a token provider together are refused", () => {
    assert.throws(
      () => createFinanceClient({ baseUrl: "127.0.0.1:1", token: "a", tokenProvider: () => "b" }),
      /token or tokenProvider/,
    );
  });

  test("a client certificate needs its key", () => {
    assert.throws(
      () => createFinanceClient({ baseUrl: "127.0.0.1:1", tls: { cert: "PEM" } }),
      /tls.cert and tls.key go together/,
    );
  });
});
