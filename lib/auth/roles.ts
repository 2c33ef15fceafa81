/** Role changes, including suspension: audited, and every session of the user ends at once. */
import { auditOp, type RequestOrigin } from "../audit.ts";
import { AppError } from "../errors.ts";
import type { Store } from "../store/port.ts";
import { retryOnConflict } from "../store/retry.ts";
import { invalidateUserSessions } from "./session.ts";
import { nextCredentialVersion, type Role, type User } from "./users.ts";

/**
 * Gives `user` a new role. `actorId` is the admin's user id, or `cli` for ops commands. The
 * user's sessions end, so the new role (above all SUSPENDED) applies from their next request.
 * The user is read again on each attempt: another write to the user between the caller's read
 * and this change (a profile or notification-email change) must not make the admin's change fail.
 */
export async function changeRole(
  store: Store,
  user: User,
  role: Role,
  actorId: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<User> {
  const updated = await retryOnConflict(async () => {
    const current = await store.get<User>("users", user._id);
    if (!current) throw new AppError(404, "not_found", "No such user.");
    if (current.role === role) {
      throw new AppError(409, "role_unchanged", `The user is already ${role}.`);
    }
    const [written] = await store.commit([
      // The new version ends every session at once, even one a sign-in racing this change opens
      // with the old role read (the deletion below only tidies up).
      {
        op: "update",
        collection: "users",
        id: current._id,
        set: { role, ...nextCredentialVersion(current) },
        ifVersion: current._v,
      },
      auditOp({
        action: "admin.role_changed",
        outcome: "success",
        userId: current._id,
        actorId,
        origin,
        details: { from: current.role, to: role },
      }, now),
    ]);
    return written as User;
  }, "The user changed while their role was being set. Please try again.");
  await invalidateUserSessions(store, user._id);
  return updated;
}
