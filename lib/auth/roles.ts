/** Role changes, including suspension: audited, and every session of the user ends at once. */
import { auditOp, type RequestOrigin } from "../audit.ts";
import { AppError } from "../errors.ts";
import type { Store } from "../store/port.ts";
import { invalidateUserSessions } from "./session.ts";
import { nextCredentialVersion, type Role, type User } from "./users.ts";

/**
 * Gives `user` a new role. `actorId` is the admin's user id, or `cli` for ops commands. The
 * user's sessions end, so the new role (above all SUSPENDED) applies from their next request.
 */
export async function changeRole(
  store: Store,
  user: User,
  role: Role,
  actorId: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<User> {
  if (user.role === role) throw new AppError(409, "role_unchanged", `The user is already ${role}.`);
  const [updated] = await store.commit([
    // The new version ends every session at once, even one a sign-in racing this change opens
    // with the old role read (the deletion below only tidies up).
    {
      op: "update",
      collection: "users",
      id: user._id,
      set: { role, ...nextCredentialVersion(user) },
      ifVersion: user._v,
    },
    auditOp({
      action: "admin.role_changed",
      outcome: "success",
      userId: user._id,
      actorId,
      origin,
      details: { from: user.role, to: role },
    }, now),
  ]);
  await invalidateUserSessions(store, user._id);
  return updated as User;
}
