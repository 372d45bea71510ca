// A user agent as a person recognises their device: "Firefox on Windows",
// "Safari on iPhone", "grpcurl". The server keeps the raw string; this only
// names it, so an unknown agent falls back to its first product name.

const BROWSERS: readonly (readonly [pattern: RegExp, name: string])[] = [
  [/\bEdg(e|A|iOS)?\//, "Edge"],
  [/\b(OPR|Opera)\//, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\b(Firefox|FxiOS)\//, "Firefox"],
  [/\b(HeadlessChrome|Chrome|CriOS|Chromium)\//, "Chrome"],
  [/\bVersion\/[\d.]+.*\bSafari\//, "Safari"],
];

const SYSTEMS: readonly (readonly [pattern: RegExp, name: string])[] = [
  [/\biPhone\b/, "iPhone"],
  [/\biPad\b/, "iPad"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bWindows\b/, "Windows"],
  [/\b(Macintosh|Mac OS X)\b/, "macOS"],
  [/\bLinux\b/, "Linux"],
];

/** Clients that are not browsers, by the product their agent starts with. */
const CLIENTS: readonly (readonly [pattern: RegExp, name: string])[] = [
  [/^grpcurl\b/i, "grpcurl"],
  [/^grpc-go\b/i, "gRPC client (Go)"],
  [/^grpc-java/i, "gRPC client (Java)"],
  [/^grpc-python/i, "gRPC client (Python)"],
  [/^(grpc-node|grpc-js)/i, "gRPC client (Node.js)"],
  [/^(tonic|grpc-rust)/i, "gRPC client (Rust)"],
  [/^connect-es\b/i, "Connect client"],
  [/^curl\//i, "curl"],
];

export function deviceName(userAgent: string): string {
  const agent = userAgent.trim();
  if (!agent) return "Unknown device";
  for (const [pattern, name] of CLIENTS) if (pattern.test(agent)) return name;
  const browser = BROWSERS.find(([pattern]) => pattern.test(agent))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(agent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  if (browser) return browser;
  if (system) return `A browser on ${system}`;
  // The first product token ("MyApp/1.2 …" → "MyApp"), bounded so a long agent cannot fill the row.
  const product = agent.split(/[\s/]/, 1)[0];
  return product.length > 40 ? `${product.slice(0, 39)}…` : product;
}
