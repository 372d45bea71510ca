// The hash addresses of the screens, above all the links our emails carry.
import { describe, expect, it } from "vitest";
import { parseRoute, routeHash } from "../src/route";

describe("routes", () => {
  it("reads a reset link with its email and code", () => {
    expect(parseRoute("#/reset?email=ada%40example.com&code=K7Q-29X")).toEqual({ name: "reset", email: "ada@example.com", code: "K7Q-29X" });
  });

  it("reads a verification link, in either order and without the #", () => {
    expect(parseRoute("/verify?code=123456&email=ada@example.com")).toEqual({ name: "verify", email: "ada@example.com", code: "123456" });
  });

  it("keeps a plus in an email whether or not the link encoded it", () => {
    expect(parseRoute("#/reset?email=ada+todo@example.com&code=1")).toMatchObject({ email: "ada+todo@example.com" });
    expect(parseRoute("#/reset?email=ada%2Btodo%40example.com&code=1")).toMatchObject({ email: "ada+todo@example.com" });
  });

  it("survives links mangled on the way: &amp;, spaces around the code, a bad escape, a trailing slash", () => {
    expect(parseRoute("#/verify?email=ada%40example.com&amp;code=%20123456%20")).toEqual({ name: "verify", email: "ada@example.com", code: "123456" });
    expect(parseRoute("#/reset/?email=100%&code=x")).toEqual({ name: "reset", email: "100%", code: "x" });
  });

  it("opens the first step of a reset without a code, and with what was typed", () => {
    expect(parseRoute("#/reset")).toEqual({ name: "reset", email: "", code: "" });
    expect(parseRoute("#/reset?email=ada%40example.com")).toEqual({ name: "reset", email: "ada@example.com", code: "" });
  });

  it("takes anything else for the task list", () => {
    expect(parseRoute("")).toEqual({ name: "tasks" });
    expect(parseRoute("#/")).toEqual({ name: "tasks" });
    expect(parseRoute("#/nowhere?x=1")).toEqual({ name: "tasks" });
    expect(parseRoute("#/account")).toEqual({ name: "account" });
  });

  it("keeps the task screen's view and filters, and leaves defaults out", () => {
    expect(parseRoute("#/today?q=milk%20%23home&priority=high&sort=due")).toEqual({
      name: "tasks", view: { view: "today", query: "milk #home", tag: "", priority: "high", sort: "due" },
    });
    expect(parseRoute("#/?tag=%23home&priority=urgent&sort=sideways")).toEqual({
      name: "tasks", view: { view: "all", query: "", tag: "home", priority: "", sort: "newest" },
    });
    expect(parseRoute("#/?sort=newest")).toEqual({ name: "tasks" });
    const view = { view: "upcoming", query: "a&b", tag: "work", priority: "low", sort: "title-desc" } as const;
    expect(routeHash({ name: "tasks", view })).toBe("#/upcoming?q=a%26b&tag=work&priority=low&sort=title-desc");
    expect(parseRoute(routeHash({ name: "tasks", view }))).toEqual({ name: "tasks", view });
  });

  it("writes hashes that read back the same", () => {
    for (const route of [
      { name: "tasks" } as const,
      { name: "account" } as const,
      { name: "reset", email: "ada+todo@example.com", code: "" } as const,
      { name: "verify", email: "ada@example.com", code: "a&b=c" } as const,
      { name: "sign-up", email: "ada+todo@example.com" } as const,
      { name: "sign-in", email: "" } as const,
    ]) {
      expect(parseRoute(routeHash(route))).toEqual(route);
    }
    expect(routeHash({ name: "reset", email: "", code: "" })).toBe("#/reset");
    expect(routeHash({ name: "sign-up", email: "" })).toBe("#/sign-up");
  });
});
