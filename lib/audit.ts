/** The audit trail (`audit_logs`): who did what, when, from where, and whether it worked. */
import type { Doc, NewDoc, Store, WriteOp } from "./store/port.ts";

/** Where a request came from; every audited event carries it. */
export type RequestOrigin = { ip: string; userAgent: string };

/** What to record. Details must never hold a password, code or token. */
export type AuditEvent = {
  action: AuditAction;
  outcome: "success" | "failure";
  /** The user the event is about, when there is one. */
  userId?: string | null;
  /** Who acted, when not the user themself (an admin, or `cli` for ops commands). */
  actorId?: string | null;
  origin?: RequestOrigin;
  details?: Record<string, string | number | boolean | null>;
};

/** One stored entry; `at` is UTC. */
export type AuditEntry = Doc & {
  at: Date;
  action: AuditAction;
  outcome: "success" | "failure";
  userId: string | null;
  actorId: string | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, string | number | boolean | null>;
};

/** Records one event on its own. */
export async function audit(store: Store, event: AuditEvent, now = new Date()): Promise<void> {
  await store.insert<AuditEntry>("audit_logs", auditEntry(event, now));
}

/** The insert that records `event` inside a larger atomic unit, so the change and its record land together. */
export function auditOp(event: AuditEvent, now = new Date()): WriteOp {
  return { op: "insert", collection: "audit_logs", doc: auditEntry(event, now) };
}

function auditEntry(event: AuditEvent, now: Date): NewDoc<AuditEntry> {
  return {
    at: now,
    action: event.action,
    outcome: event.outcome,
    userId: event.userId ?? null,
    actorId: event.actorId ?? null,
    // User agents are attacker-chosen text; a bound keeps one entry from bloating the log.
    ip: event.origin?.ip ?? null,
    userAgent: event.origin?.userAgent.slice(0, 300) ?? null,
    details: event.details ?? {},
  };
}

/** Every action the audit log knows, so a typo cannot create a new kind of entry. */
export type AuditAction =
  | "auth.sign_up"
  | "auth.email_verification_sent"
  | "auth.email_verified"
  | "auth.email_changed"
  | "auth.sign_in"
  | "auth.lockout"
  | "auth.sign_out"
  | "auth.session_revoked"
  | "auth.reauthenticated"
  | "auth.password_changed"
  | "auth.password_reset_requested"
  | "auth.password_reset"
  | "auth.totp_enabled"
  | "auth.totp_disabled"
  | "auth.totp_locked"
  | "auth.recovery_code_used"
  | "auth.recovery_codes_regenerated"
  | "admin.role_changed"
  | "admin.read_only"
  | "admin.sessions_cleared"
  | "account.opened"
  | "account.reset"
  | "account.closed"
  | "account.lot_method_changed"
  | "user.weekly_statement_changed"
  | "user.notification_email_changed"
  | "order.placed"
  | "order.rejected"
  | "order.filled"
  | "order.cancelled"
  | "order.replaced"
  | "order.expired"
  | "export.downloaded"
  | "api_key.created"
  | "api_key.revoked"
  | "api_key.new_address"
  | "webhook.created"
  | "webhook.updated"
  | "webhook.deleted"
  | "webhook.disabled"
  | "signal_url.created"
  | "signal_url.revoked";
