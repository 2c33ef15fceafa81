/**
 * Read-only mode, the emergency brake: every write stops except signing in and out and admin
 * actions. Ops turn it on with READ_ONLY=true (all instances, at deploy) or an admin flips it in
 * the console (stored, so every instance sees it within a few seconds).
 */
import { auditOp, type RequestOrigin } from "./audit.ts";
import { ConflictError, type Doc, type Store } from "./store/port.ts";

const SETTING_ID = "read_only";
/** How long an instance trusts what it last read; a switch reaches every instance within this. */
const CACHE_MS = 2000;

/** Whether writes are stopped, and why. */
export type ReadOnlyState = {
  on: boolean;
  source: "env" | "admin" | null;
  since: Date | null;
  reason: string | null;
};

/** Reads the switch with a short cache, so checking it on every request costs no store call. */
export function readOnlySwitch(store: Store, forcedByEnv: boolean) {
  let cached: { state: ReadOnlyState; at: number } | undefined;
  return {
    async state(now = Date.now()): Promise<ReadOnlyState> {
      if (forcedByEnv) return { on: true, source: "env", since: null, reason: "READ_ONLY is set" };
      if (cached && now - cached.at < CACHE_MS) return cached.state;
      let doc: Setting | null;
      try {
        doc = await store.get<Setting>("app_settings", SETTING_ID);
      } catch {
        // A store that does not answer fails the request on its own (health says 503); the switch
        // keeps its last known position rather than turning every page into an error.
        return cached?.state ?? { on: false, source: null, since: null, reason: null };
      }
      const state: ReadOnlyState = doc?.on
        ? { on: true, source: "admin", since: doc.changedAt, reason: doc.reason }
        : { on: false, source: null, since: null, reason: null };
      cached = { state, at: now };
      return state;
    },
    /** Forgets the cached state, after this instance changed it. */
    invalidate() {
      cached = undefined;
    },
  };
}

export type ReadOnlySwitch = ReturnType<typeof readOnlySwitch>;

/** Turns read-only mode on or off as an admin; audited. */
export async function setReadOnly(
  store: Store,
  on: boolean,
  reason: string,
  actorId: string,
  origin: RequestOrigin,
  now = new Date(),
): Promise<void> {
  for (;;) {
    const current = await store.get<Setting>("app_settings", SETTING_ID);
    const fields = { on, reason: on ? reason : null, changedAt: now, changedBy: actorId };
    try {
      await store.commit([
        current
          ? {
            op: "update",
            collection: "app_settings",
            id: SETTING_ID,
            set: fields,
            ifVersion: current._v,
          }
          : { op: "insert", collection: "app_settings", doc: { _id: SETTING_ID, ...fields } },
        auditOp({
          action: "admin.read_only",
          outcome: "success",
          actorId,
          origin,
          details: { on, reason: on ? reason : null },
        }, now),
      ]);
      return;
    } catch (err) {
      // Two admins at once: apply on top of the other's change.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}

type Setting = Doc & { on: boolean; reason: string | null; changedAt: Date; changedBy: string };
