/** Password rules and hashing. */
import assert from "node:assert/strict";
import { hashPassword, passwordProblem, verifyPassword } from "./password.ts";

Deno.test("[password] length is 8 to 128 characters, counted as people count them", async () => {
  assert.match((await passwordProblem("Xq7#pL2"))!, /at least 8/);
  assert.match((await passwordProblem("w".repeat(64) + "z".repeat(65)))!, /at most 128/);
  assert.equal(await passwordProblem("vivid-otter-planet-42"), null);
});

Deno.test("[password] common and guessable passwords are refused, passphrases pass", async () => {
  for (const weak of ["password1", "P@ssw0rd", "qwertyuiop", "iloveyou123", "12345678"]) {
    assert.ok(await passwordProblem(weak), `${weak} should be refused`);
  }
  assert.equal(await passwordProblem("correct horse battery staple"), null);
  assert.ok(
    await passwordProblem("jsmith@example.com", ["jsmith@example.com", "John Smith"]),
    "the user's own email is guessable",
  );
});

Deno.test("[password] Argon2id with OWASP parameters; the hash verifies only the same password", async () => {
  const hash = await hashPassword("vivid-otter-planet-42");
  assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.equal(await verifyPassword(hash, "vivid-otter-planet-42"), true);
  assert.equal(await verifyPassword(hash, "vivid-otter-planet-43"), false);
  assert.equal(await verifyPassword("not a hash", "x"), false);
  assert.notEqual(await hashPassword("vivid-otter-planet-42"), hash, "salted");
});
