// How the account page words devices, security events, times and what a
// deletion takes away.
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { deviceName } from "../src/devices";
import { SecurityEvent_Kind as Kind } from "../src/gen/todo/auth/v1/auth_pb";
import { eventLabel, needsAttention } from "../src/security-events";
import { timeText } from "../src/time-text";
import { consequenceText } from "../src/views/delete-account";

describe("device names", () => {
  it.each([
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0.0.0 Safari/537.36", "Chrome on Linux"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iPhone"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on macOS"],
    ["Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", "Chrome on Android"],
    ["grpcurl/1.8.6 grpc-go/1.44.1-dev", "grpcurl"],
    ["grpc-go/1.62.0", "gRPC client (Go)"],
    ["tonic/0.14.2", "gRPC client (Rust)"],
    ["", "Unknown device"],
    ["  ", "Unknown device"],
    ["MyScript/2.0 (+https://example.com)", "MyScript"],
  ])("%s → %s", (agent, name) => {
    expect(deviceName(agent)).toBe(name);
  });

  it("keeps an unknown agent's name short", () => {
    expect(deviceName("x".repeat(300)).length).toBeLessThanOrEqual(40);
  });
});

describe("security events", () => {
  it("names every kind of the contract in words", () => {
    const kinds = Object.values(Kind).filter((value): value is Kind => typeof value === "number");
    const labels = kinds.map(eventLabel);
    expect(new Set(labels).size).toBe(kinds.length);
    for (const label of labels) expect(label).toMatch(/^[A-Z]/);
    expect(eventLabel(Kind.LOGIN)).toBe("Signed in");
    expect(eventLabel(Kind.LOGIN_FAILED)).toBe("Failed sign-in (wrong password)");
  });

  it("reads a kind newer than this app as other activity", () => {
    expect(eventLabel(99 as Kind)).toBe("Other account activity");
  });

  it("makes failed sign-ins and reused tokens stand out, and nothing the owner did", () => {
    expect(needsAttention(Kind.LOGIN_FAILED)).toBe(true);
    expect(needsAttention(Kind.REFRESH_REUSE_DETECTED)).toBe(true);
    expect(needsAttention(Kind.LOGIN)).toBe(false);
    expect(needsAttention(Kind.PASSWORD_CHANGED)).toBe(false);
  });
});

describe("times", () => {
  const now = Date.UTC(2026, 10, 26, 12, 0, 0);
  const ago = (ms: number) => timestampFromMs(now - ms);

  it("says how long ago within a day, in the reader's language", () => {
    expect(timeText(ago(20_000), now, "en")).toBe("just now");
    expect(timeText(ago(-5_000), now, "en")).toBe("just now");
    expect(timeText(ago(5 * 60_000 + 30_000), now, "en")).toBe("5 minutes ago");
    expect(timeText(ago(3 * 3600_000), now, "en")).toBe("3 hours ago");
    expect(timeText(ago(3 * 3600_000), now, "de")).toBe("vor 3 Stunden");
  });

  it("gives the date and time beyond a day", () => {
    const text = timeText(ago(3 * 24 * 3600_000), now, "en-GB");
    expect(text).toMatch(/23 Nov 2026/);
  });

  it("admits a missing time", () => {
    expect(timeText(undefined, now, "en")).toBe("at an unknown time");
  });
});

describe("what a deletion takes away", () => {
  it("counts the tasks when it knows them", () => {
    expect(consequenceText("ada@example.com", 12)).toMatch(/^This deletes the account ada@example.com and all 12 of your tasks, for good\./);
    expect(consequenceText("ada@example.com", 1)).toMatch(/and your 1 task,/);
    expect(consequenceText("ada@example.com", 0)).toMatch(/\(you have no tasks\)/);
    expect(consequenceText("ada@example.com", undefined)).toMatch(/and all of your tasks,/);
  });
});
