/**
 * `deno task admin:promote <email>`: makes an existing, signed-up user an ADMIN. There is no
 * default admin; this is how ops appoint the first one. The change is audited (actor `cli`) and
 * the user's sessions end, so the new role applies from their next sign-in.
 */
import { changeRole } from "../lib/auth/roles.ts";
import { findUserByEmail } from "../lib/auth/users.ts";
import { runWithStore } from "./run_with_store.ts";

const email = Deno.args[0];
if (!email || Deno.args.length !== 1) {
  console.error("usage: deno task admin:promote <email>");
  Deno.exit(2);
}

await runWithStore("admin:promote", async (store) => {
  const user = await findUserByEmail(store, email);
  if (!user) {
    console.error(`admin:promote: no user has the email ${email}; they must sign up first`);
    return 1;
  }
  if (user.role === "SUSPENDED") {
    console.error(`admin:promote: ${user.email} is suspended; reinstate them before promoting`);
    return 1;
  }
  if (user.role === "ADMIN") {
    // Already an admin is what the operator wanted.
    console.log(`${user.email} is already an ADMIN.`);
    return 0;
  }
  const operator = Deno.env.get("USER") ?? "unknown";
  await changeRole(store, user, "ADMIN", "cli", {
    ip: "cli",
    userAgent: `admin:promote by ${operator}`,
  });
  console.log(`${user.email} is now an ADMIN (was ${user.role}); their sessions were signed out.`);
  return 0;
});
