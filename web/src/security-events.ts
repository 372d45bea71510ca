// What each kind of security event means to the account's owner, and which
// ones deserve a second look (someone else may be trying the account).
import { SecurityEvent_Kind as Kind } from "./gen/todo/auth/v1/auth_pb";

const LABELS: Readonly<Record<Kind, string>> = {
  [Kind.UNSPECIFIED]: "Other account activity",
  [Kind.SIGN_UP]: "Account created",
  [Kind.LOGIN]: "Signed in",
  [Kind.LOGIN_FAILED]: "Failed sign-in (wrong password)",
  [Kind.LOGOUT]: "Signed out",
  [Kind.REFRESH_REUSE_DETECTED]: "A sign-in token was used twice; that session was ended",
  [Kind.PASSWORD_CHANGED]: "Password changed",
  [Kind.SESSION_REVOKED]: "A device was signed out remotely",
  [Kind.PASSWORD_RESET_REQUESTED]: "Password reset code sent",
  [Kind.PASSWORD_RESET]: "Password reset with an emailed code",
  [Kind.EMAIL_VERIFIED]: "Email address verified",
};

/** A sentence for `kind`; kinds newer than this app read as "Other account activity". */
export function eventLabel(kind: Kind): string {
  return LABELS[kind] ?? LABELS[Kind.UNSPECIFIED];
}

/** Events that may mean someone else is at the account: shown so they stand out. */
export function needsAttention(kind: Kind): boolean {
  return kind === Kind.LOGIN_FAILED || kind === Kind.REFRESH_REUSE_DETECTED;
}
