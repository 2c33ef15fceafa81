/** Tests for the JSON-lines logger: level filtering, line format and redaction. */
import assert from "node:assert/strict";
import { createLogger, type LogLevel } from "./log.ts";

function capture(level: LogLevel = "debug") {
  const lines: string[] = [];
  const log = createLogger(level, (line) => lines.push(line));
  const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, lines, entries };
}

Deno.test("[log] each call writes one line of valid JSON with time, level and msg first", () => {
  const { log, lines, entries } = capture();
  log.info("order placed", { orderId: "o1", qty: 3 });
  log.error("boom");
  assert.equal(lines.length, 2);
  assert.ok(lines.every((line) => !line.includes("\n")));
  const [first] = entries();
  assert.deepEqual(Object.keys(first), ["time", "level", "msg", "orderId", "qty"]);
  assert.equal(first.level, "info");
  assert.equal(first.msg, "order placed");
  assert.equal(first.time, new Date(first.time as string).toISOString());
  assert.match(first.time as string, /Z$/);
});

Deno.test("[log] the level filters out less severe entries", () => {
  const { log, entries } = capture("warn");
  log.error("e");
  log.warn("w");
  log.info("i");
  log.debug("d");
  assert.deepEqual(entries().map((entry) => entry.level), ["error", "warn"]);

  const quiet = capture("error");
  quiet.log.warn("w");
  assert.equal(quiet.lines.length, 0);

  const verbose = capture("debug");
  verbose.log.debug("d");
  assert.equal(verbose.lines.length, 1);
});

Deno.test("[log] fields cannot overwrite time, level or msg", () => {
  const { log, entries } = capture();
  log.warn("real", { msg: "fake", level: "debug", time: "then" });
  const [entry] = entries();
  assert.equal(entry.msg, "real");
  assert.equal(entry.level, "warn");
  assert.notEqual(entry.time, "then");
});

Deno.test("[log] child loggers add their fields to every entry", () => {
  const { log, entries } = capture();
  const request = log.child({ requestId: "r1" });
  const user = request.child({ userId: "u1" });
  user.info("hello", { userId: "u2" });
  request.debug("bye");
  assert.deepEqual(entries().map(({ requestId, userId }) => ({ requestId, userId })), [
    { requestId: "r1", userId: "u2" },
    { requestId: "r1", userId: undefined },
  ]);
});

Deno.test("[log] secrets are redacted at any depth", () => {
  const { log, lines, entries } = capture();
  log.info("sign-in", {
    password: "hunter2",
    user: { email: "a@example.com", passwordHash: "h", totpSecret: "JBSW" },
    sessionToken: "tok",
    body: { apiKey: "k1", api_key: "k2", nested: [{ passcode: 123456 }] },
    reset: { newPassphrase: "correct horse" },
  });
  log.child({ secret: "base-secret" }).info("from child");
  const [entry, childEntry] = entries();
  assert.equal(entry.password, "[redacted]");
  assert.deepEqual(entry.user, {
    email: "a@example.com",
    passwordHash: "[redacted]",
    totpSecret: "[redacted]",
  });
  assert.equal(entry.sessionToken, "[redacted]");
  assert.deepEqual(entry.body, {
    apiKey: "[redacted]",
    api_key: "[redacted]",
    nested: [{ passcode: "[redacted]" }],
  });
  assert.deepEqual(entry.reset, { newPassphrase: "[redacted]" });
  assert.equal(childEntry.secret, "[redacted]");
  const secrets = ["hunter2", "tok", "k1", "k2", "123456", "JBSW", "correct horse", "base-secret"];
  for (const value of secrets) {
    assert.ok(!lines.join("\n").includes(value), value);
  }
});

Deno.test("[log] cookie and authorization headers are redacted", () => {
  const { log, entries } = capture();
  const headers = {
    cookie: "session=abc",
    "set-cookie": "session=abc; HttpOnly",
    authorization: "Bearer abc",
    "x-api-key": "abc",
    "user-agent": "test",
  };
  log.info("request", { headers, raw: new Headers(headers) });
  const [entry] = entries();
  const expected = {
    cookie: "[redacted]",
    "set-cookie": "[redacted]",
    authorization: "[redacted]",
    "x-api-key": "[redacted]",
    "user-agent": "test",
  };
  assert.deepEqual(entry.headers, expected);
  assert.deepEqual(entry.raw, expected);
});

Deno.test("[log] string codes are redacted but numeric statuses are kept", () => {
  const { log, entries } = capture();
  log.info("verify", {
    code: "123456",
    totpCode: "654321",
    recoveryCode: "abcd-efgh",
    recoveryCodes: ["a", "b"],
    email_code: "999",
    status: 429,
    statusCode: 404,
    barcode: "kept",
    mongo: { code: 11000 },
    tokenSet: true,
    password: null,
  });
  const [entry] = entries();
  assert.equal(entry.code, "[redacted]");
  assert.equal(entry.totpCode, "[redacted]");
  assert.equal(entry.recoveryCode, "[redacted]");
  assert.equal(entry.recoveryCodes, "[redacted]");
  assert.equal(entry.email_code, "[redacted]");
  assert.equal(entry.status, 429);
  assert.equal(entry.statusCode, 404);
  assert.equal(entry.barcode, "kept");
  assert.deepEqual(entry.mongo, { code: 11000 });
  assert.equal(entry.tokenSet, true);
  assert.equal(entry.password, null);
});

Deno.test("[log] errors are serialised as name and message only", () => {
  const { log, lines, entries } = capture();
  const cause = new TypeError("bad input");
  log.error("failed", { error: cause, nested: { errors: [new RangeError("too big")] } });
  const [entry] = entries();
  assert.deepEqual(entry.error, { name: "TypeError", message: "bad input" });
  assert.deepEqual(entry.nested, { errors: [{ name: "RangeError", message: "too big" }] });
  assert.ok(!lines[0].includes("stack"));
  assert.ok(!lines[0].includes("log_test.ts"));
});

Deno.test("[log] awkward values never make the logger throw", () => {
  const { log, entries } = capture();
  const loop: Record<string, unknown> = { name: "loop" };
  loop.self = loop;
  const shared = { id: 1 };
  log.info("odd", { loop, big: 10n ** 20n, at: new Date(0), pair: [shared, shared] });
  const [entry] = entries();
  assert.deepEqual(entry.loop, { name: "loop", self: "[circular]" });
  assert.equal(entry.big, "100000000000000000000");
  assert.equal(entry.at, "1970-01-01T00:00:00.000Z");
  assert.deepEqual(entry.pair, [{ id: 1 }, { id: 1 }]);
});

Deno.test("[log] without a sink, error and warn go to stderr and the rest to stdout", () => {
  const { log: originalLog, error: originalError } = console;
  const stdout: string[] = [];
  const stderr: string[] = [];
  console.log = (line: string) => stdout.push(line);
  console.error = (line: string) => stderr.push(line);
  try {
    const log = createLogger("debug");
    log.error("e");
    log.warn("w");
    log.info("i");
    log.debug("d");
  } finally {
    console.log = originalLog;
    console.error = originalError;
  }
  assert.deepEqual(stderr.map((line) => JSON.parse(line).msg), ["e", "w"]);
  assert.deepEqual(stdout.map((line) => JSON.parse(line).msg), ["i", "d"]);
});
