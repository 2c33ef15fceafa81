/**
 * The outbound URL rules: the address classifier on literals, and whole URLs through the system
 * resolver (`localhost`) and through a resolver given as a parameter (names that resolve to
 * private, link-local and mixed addresses, which no public DNS entry can be relied on for).
 */
import assert from "node:assert/strict";
import { type AddressClass, checkWebhookUrl, classifyAddress, type Resolver } from "./ssrf.ts";

Deno.test("[webhooks/ssrf] addresses are classed by the ranges that are not the public internet", () => {
  const cases: [string, AddressClass][] = [
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.0.0.1", "private"],
    ["172.16.5.4", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "metadata"],
    ["169.254.10.1", "link-local"],
    ["100.64.0.1", "shared"],
    ["0.0.0.0", "reserved"],
    ["192.0.2.10", "reserved"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "reserved"],
    ["::1", "loopback"],
    ["::", "reserved"],
    ["::ffff:127.0.0.1", "ipv4-in-ipv6"],
    ["::ffff:7f00:1", "ipv4-in-ipv6"],
    ["::ffff:8.8.8.8", "ipv4-in-ipv6"],
    ["64:ff9b::a00:1", "ipv4-in-ipv6"],
    ["2002:a00:1::1", "ipv4-in-ipv6"],
    ["fc00::1", "private"],
    ["fd12:3456::1", "private"],
    ["fd00:ec2::254", "metadata"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["ff02::1", "multicast"],
    ["2001:db8::1", "reserved"],
    // The neighbours of the ranges are public: the prefixes are not wider than they should be.
    ["172.32.0.1", "public"],
    ["172.15.255.255", "public"],
    ["100.128.0.1", "public"],
    ["11.0.0.1", "public"],
    ["8.8.8.8", "public"],
    ["2606:4700:4700::1111", "public"],
    ["fbff::1", "public"],
    ["not an address", "reserved"],
  ];
  for (const [address, expected] of cases) {
    assert.equal(classifyAddress(address), expected, address);
  }
});

/** A resolver with fixed answers, as DNS would give them. */
const dns = (answers: Record<string, string[]>): Resolver => (host) =>
  Promise.resolve(answers[host] ?? []);

const STRICT = { allowLoopback: false };

Deno.test("[webhooks/ssrf] names are resolved and every address they resolve to is checked", async () => {
  const resolve = dns({
    "hooks.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "internal.example.com": ["10.20.30.40"],
    "mixed.example.com": ["93.184.216.34", "192.168.0.5"],
    "metadata.example.com": ["169.254.169.254"],
    "mapped.example.com": ["::ffff:10.0.0.1"],
    "ula.example.com": ["fd00:ec2::254"],
  });
  const ok = await checkWebhookUrl("https://hooks.example.com/orion?x=1#frag", {
    ...STRICT,
    resolve,
  });
  assert.equal(ok.address, "93.184.216.34");
  assert.equal(ok.port, 443);
  assert.equal(ok.tls, true);
  assert.equal(ok.url.href, "https://hooks.example.com/orion?x=1");

  const refusals: [string, RegExp][] = [
    ["https://internal.example.com/", /internal\.example\.com \(10\.20\.30\.40\).*private/],
    ["https://mixed.example.com/", /192\.168\.0\.5.*private/],
    ["https://metadata.example.com/", /cloud metadata/],
    ["https://mapped.example.com/", /IPv4-in-IPv6/],
    ["https://ula.example.com/", /cloud metadata/],
    ["https://nowhere.example.com/", /does not resolve/],
  ];
  for (const [url, reason] of refusals) {
    await assert.rejects(checkWebhookUrl(url, { ...STRICT, resolve }), reason, url);
  }
});

Deno.test("[webhooks/ssrf] a name the system resolves to 127.0.0.1 is refused, as loopback literals are", async () => {
  for (
    const url of [
      "https://localhost/hook",
      "https://api.localhost/hook",
      "https://127.0.0.1/hook",
      "https://[::1]/hook",
      "https://[::ffff:127.0.0.1]/hook",
      "https://2130706433/hook", // 127.0.0.1 written as one number: URL parsing normalises it
      "https://0x7f.1/hook",
      "https://10.0.0.1/hook",
      "https://169.254.169.254/latest/meta-data/",
      "https://[fd00:ec2::254]/",
      "https://0.0.0.0/",
    ]
  ) {
    await assert.rejects(checkWebhookUrl(url, STRICT), /Webhooks cannot be sent to/, url);
  }
});

Deno.test("[webhooks/ssrf] https only, no credentials; the development flag opens http and loopback only", async () => {
  await assert.rejects(checkWebhookUrl("http://8.8.8.8/hook", STRICT), /must start with https/);
  await assert.rejects(checkWebhookUrl("ftp://8.8.8.8/hook", STRICT), /must start with https/);
  await assert.rejects(checkWebhookUrl("not a url", STRICT), /not a URL/);
  await assert.rejects(
    checkWebhookUrl("https://user:pw@8.8.8.8/hook", STRICT),
    /user name or password/,
  );
  await assert.rejects(checkWebhookUrl(`https://8.8.8.8/${"a".repeat(2001)}`, STRICT), /longer/);

  const dev = { allowLoopback: true };
  const local = await checkWebhookUrl("http://localhost:9000/hook", dev);
  assert.equal(local.address, "127.0.0.1");
  assert.equal(local.port, 9000);
  assert.equal(local.tls, false);
  assert.equal((await checkWebhookUrl("http://[::1]:9000/", dev)).address, "::1");
  // Loopback only: the private network and the metadata service stay closed in development too.
  await assert.rejects(checkWebhookUrl("http://10.0.0.1/", dev), /private/);
  await assert.rejects(checkWebhookUrl("http://169.254.169.254/", dev), /metadata/);
  await assert.rejects(checkWebhookUrl("http://[::ffff:127.0.0.1]/", dev), /IPv4-in-IPv6/);
});
