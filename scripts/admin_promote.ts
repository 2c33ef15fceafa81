/**
 * `deno task admin:promote <email>`: makes an existing, signed-up user an ADMIN. There is no
 * default admin; this is how ops appoint the first one. The change is audited (actor `cli`) and
 * the user's sessions end, so the new role applies from their next sign-in.
 */
import { changeRole } from "../lib/auth/roles.ts";
import { findUserByEmail } from "../lib/auth/users.ts";
import { ConfigError, loadConfig, readEnv } from "../lib/config.ts";
import { AppError } from "../lib/errors.ts";
import { openStore } from "../lib/store/open.ts";

const email = Deno.args[0];
if (!email || Deno.args.length !== 1) {
  console.error("usage: deno task admin:promote <email>");
  Deno.exit(2);
}

let exitCode = 1;
try {
  const store = await openStore(loadConfig(await readEnv()));
  try {
    const user = await findUserByEmail(store, email);
    if (!user) {
      console.error(`admin:promote: no user has the email ${email}; they must sign up first`);
    } else if (user.role === "SUSPENDED") {
      console.error(`admin:promote: ${user.email} is suspended; reinstate them before promoting`);
    } else {
      const operator = Deno.env.get("USER") ?? "unknown";
      await changeRole(store, user, "ADMIN", "cli", {
        ip: "cli",
        userAgent: `admin:promote by ${operator}`,
      });
      console.log(
        `${user.email} is now an ADMIN (was ${user.role}); their sessions were signed out.`,
      );
      exitCode = 0;
    }
  } finally {
    await store.close();
  }
} catch (error) {
  if (error instanceof ConfigError) {
    for (const problem of error.problems) console.error(`config: ${problem}`);
  } else if (error instanceof AppError) {
    console.error(`admin:promote: ${error.message}`);
    // Already an admin is what the operator wanted.
    if (error.code === "role_unchanged") exitCode = 0;
  } else console.error(`admin:promote: ${error instanceof Error ? error.message : String(error)}`);
}
Deno.exit(exitCode);
