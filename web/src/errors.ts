// Turns gRPC errors into what a person reads. Which form field a message
// belongs to and how long to wait come from the error's details
// (google.rpc.BadRequest, google.rpc.RetryInfo), never from its wording.
import { Code, ConnectError } from "@connectrpc/connect";
import { type BadRequest_FieldViolation, BadRequestSchema, RetryInfoSchema } from "./gen/google/rpc/error_details_pb";

/** The form fields a message can sit next to. */
export type FormField = "email" | "password" | "current_password" | "new_password" | "code" | "title" | "description" | "priority" | "tags" | "due";

export interface Problem {
  /** A sentence for the whole form or screen; it stands on its own wherever it is shown. */
  message: string;
  /** Shorter messages for the fields they are about, when the server named them. */
  fields: Partial<Record<FormField, string>>;
  /** The backend is unreachable: show a calm "reconnecting" state, not an error. */
  offline: boolean;
}

/**
 * What the user was doing: the same code means different things at sign-in,
 * on the task screen and in the account's forms (password reset,
 * verification, sessions, deletion), which are not about tasks and have no
 * live stream to reconnect.
 */
export type Context = "login" | "signup" | "task" | "account";

/** Request fields as the servers name them in BadRequest, mapped to the forms' fields. */
const FIELDS: Readonly<Record<string, FormField>> = {
  email: "email",
  password: "password",
  current_password: "current_password",
  new_password: "new_password",
  code: "code",
  "task.title": "title",
  "task.description": "description",
  "task.priority": "priority",
  "task.tags": "tags",
  "task.due_time": "due",
};

export function describe(error: unknown, context: Context = "task"): Problem {
  if (!(error instanceof ConnectError)) return general("Something went wrong. Please try again.");
  switch (error.code) {
    case Code.InvalidArgument:
      return { ...general(capitalize(error.rawMessage)), fields: fieldMessages(error.findDetails(BadRequestSchema).flatMap((request) => request.fieldViolations)) };
    case Code.AlreadyExists:
      return atField("email", "An account with this email already exists.");
    case Code.Unauthenticated:
      return context === "login" ? atField("password", "Wrong email or password.") : general("Your session has ended. Please sign in again.");
    case Code.ResourceExhausted: {
      // The account's limits (mail sent, password checks) say in their own words what was limited.
      if (context === "account") return general(error.rawMessage ? sentence(error.rawMessage) : tooMany(error));
      const message = tooMany(error);
      return context === "task" ? general(message) : atField("password", message);
    }
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return offline(context);
    case Code.Unknown:
      // fetch() itself failed (no connection): Connect-ES reports its TypeError as UNKNOWN.
      return error.cause instanceof TypeError ? offline(context) : general(OUR_SIDE);
    case Code.FailedPrecondition:
      return general(error.rawMessage ? sentence(error.rawMessage) : OUR_SIDE);
    case Code.Unimplemented:
      return general("This server cannot do that yet.");
    case Code.Aborted:
      return general("Someone else changed this task meanwhile.");
    case Code.NotFound:
      return general(context === "account" ? sentence(error.rawMessage || "It no longer exists") : "This task no longer exists.");
    default:
      return general(OUR_SIDE);
  }
}

const OUR_SIDE = "Something went wrong on our side. Please try again.";

function general(message: string): Problem {
  return { message, fields: {}, offline: false };
}

function atField(field: FormField, message: string): Problem {
  return { message, fields: { [field]: message }, offline: false };
}

/** The task screen reconnects by itself; a form only waits for the user to try again. */
function offline(context: Context): Problem {
  const message = context === "account" ? "Could not reach the server. Check your connection and try again." : "Reconnecting…";
  return { message, fields: {}, offline: true };
}

/** Each violation's description at its form field; the first one wins when a field has several. */
function fieldMessages(violations: readonly BadRequest_FieldViolation[]): Problem["fields"] {
  const fields: Problem["fields"] = {};
  for (const violation of violations) {
    const field = FIELDS[violation.field];
    if (field && !fields[field]) fields[field] = capitalize(violation.description);
  }
  return fields;
}

function tooMany(error: ConnectError): string {
  const delay = error.findDetails(RetryInfoSchema)[0]?.retryDelay;
  if (!delay) return "Too many attempts. Please wait a little and try again.";
  return `Too many attempts: try again in ${waitText(Number(delay.seconds) * 1000 + delay.nanos / 1e6)}.`;
}

/** A wait as a person reads it, rounded up so it never promises too early: `45 s`, `2 min`, `2 min 5 s`. */
export function waitText(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  if (minutes === 0) return `${rest} s`;
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A server's message as a sentence: capitalised and ending with a full stop. */
function sentence(text: string): string {
  const trimmed = capitalize(text.trim());
  return /[.!?…]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}
