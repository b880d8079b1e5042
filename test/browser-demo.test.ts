// The demo page (client/demo, built with Vite from the typed hooks) in a real
// headless Chromium, against an in-process gateway and the built-in mock
// streamer: sign in as a guest, watch an answer stream in, reload and find it
// stored, stop a slow answer and find the partial answer kept, reload in the
// middle of an answer and watch it go on streaming to its end.
//
// Needs Debian's chromium (/usr/bin/chromium; .ci/run installs it). Skipped
// only outside CI when it is missing.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildDemo } from "../scripts/build-demo.ts";
import { answerText, lastAssistant, openBrowser, runBrowser, send } from "./support/browser.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";

const OUTPUT_DIR = new URL("../test-output/", import.meta.url).pathname;
const SCREENSHOT = join(OUTPUT_DIR, "browser-demo.png");

// Delay between mock deltas: slow enough to see the answer grow.
const DELTA_DELAY_MS = "40";

let gateway: TestGateway;

beforeAll(async () => {
  // The demo is built on npm install; rebuild when client/ changed since.
  buildDemo({ onlyIfStale: true });
  gateway = await startTestGateway({ MOCK_DELTA_DELAY_MS: DELTA_DELAY_MS });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
});

describe("the demo page is served by the gateway", () => {
  test("GET / is the built page, with its assets and a strict CSP", async () => {
    const page = await fetch(`${gateway.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('<div id="root">');
    expect(html).toContain('<meta name="persisted-operations" content="false"');
    expect(html).toContain('<meta name="max-text-length" content="2000"');
    const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${gateway.url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect((await asset.text()).length).toBeGreaterThan(1000);
  });

  test("nothing outside dist/demo/assets is served, and /graphql, /health are untouched", async () => {
    expect((await fetch(`${gateway.url}/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/assets/..%2f..%2fpackage.json`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/assets/%E0%A4%A`)).status).toBe(404);
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
    const graphiql = await fetch(`${gateway.url}/graphql`, { headers: { accept: "text/html" } });
    expect(await graphiql.text()).toContain("Chat gateway");
  });
});

/**
 * Records, inside the page, every state the last assistant message goes
 * through: its status and the text of its text parts, on each DOM change.
 */
async function recordAnswer(page: Page): Promise<void> {
  await page.evaluate(() => {
    const snapshots: { status: string; text: string; reasoning: boolean; tool: boolean }[] = [];
    (window as unknown as { __answer: typeof snapshots }).__answer = snapshots;
    const root = document.querySelector("[data-testid=messages]")!;
    new MutationObserver(() => {
      const messages = root.querySelectorAll('[data-testid=message][data-role="ASSISTANT"]');
      const last = messages[messages.length - 1];
      if (!last) return;
      const text = [...last.querySelectorAll("[data-part=text]")].map((p) => p.textContent ?? "").join("\n");
      const snapshot = {
        status: last.getAttribute("data-status") ?? "",
        text,
        reasoning: last.querySelector("[data-part=reasoning]") !== null,
        tool: last.querySelector("[data-part=tool]") !== null,
      };
      const previous = snapshots[snapshots.length - 1];
      if (!previous || previous.text !== snapshot.text || previous.status !== snapshot.status) snapshots.push(snapshot);
    }).observe(root, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

async function recorded(page: Page) {
  return page.evaluate(
    () =>
      (window as unknown as { __answer: { status: string; text: string; reasoning: boolean; tool: boolean }[] })
        .__answer,
  );
}

describe.skipIf(!runBrowser)("the demo chat in headless Chromium", () => {
  test("sign in, stream an answer, reload to the stored history, stop a slow answer and keep the partial one", async () => {
    const { page, errors, close } = await openBrowser();
    try {
      await page.goto(`${gateway.url}/`);

      // Sign in as a guest: the quota shows.
      await page.getByTestId("sign-in").click();
      await expect.poll(() => page.getByTestId("messages-left").textContent()).toBe("20 messages left today");

      // Send a message and watch the answer stream in.
      await recordAnswer(page);
      await send(page, "Hello from the browser");
      // The user's message shows at once, before any answer.
      await page.locator("[data-testid=message][data-role=USER]", { hasText: "Hello from the browser" }).waitFor();
      const answer = lastAssistant(page);
      await page.locator("[data-testid=message][data-role=ASSISTANT][data-status=COMPLETE]").waitFor();
      const messageId = (await answer.getAttribute("data-message-id"))!;
      const finalText = await answerText(page, messageId);
      expect(finalText).toContain('You said: "Hello from the browser"');
      expect(finalText).toContain("sunny at 21°C");

      // Incremental: the text grew through several partial states while
      // STREAMING, each a prefix of the final answer.
      const snapshots = await recorded(page);
      const streaming = snapshots.filter((s) => s.status === "STREAMING" && s.text.length > 0);
      expect(streaming.length).toBeGreaterThanOrEqual(5);
      for (const s of streaming) expect(finalText.startsWith(s.text)).toBe(true);
      const lengths = streaming.map((s) => s.text.length);
      expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
      expect(new Set(lengths).size).toBeGreaterThanOrEqual(5);
      expect(Math.max(...lengths)).toBeLessThan(finalText.length + 1);
      // Reasoning and the tool call showed up while streaming, before the end.
      expect(snapshots.some((s) => s.status === "STREAMING" && s.reasoning)).toBe(true);
      expect(snapshots.some((s) => s.status === "STREAMING" && s.tool)).toBe(true);

      // Reasoning and the tool call are shown distinctly from the text.
      await expect
        .poll(() => answer.locator("[data-part=reasoning]").textContent())
        .toContain("The user wants an answer.");
      const tool = answer.locator("[data-part=tool]");
      await expect.poll(() => tool.getAttribute("data-state")).toBe("output-available");
      expect(await tool.textContent()).toContain("getWeather");
      expect(await tool.locator("[data-part=tool-output]").textContent()).toContain('"temperatureC":21');

      // The quota went down and the chat is in the list.
      await expect.poll(() => page.getByTestId("messages-left").textContent()).toBe("19 messages left today");
      await expect.poll(() => page.getByTestId("chat-link").count()).toBe(1);
      expect(await page.getByTestId("chat-link").first().textContent()).toContain("Hello from the browser");

      // Reload: the same chat, from the stored history.
      const chatUrl = page.url();
      expect(chatUrl).toMatch(/#\/chat\/[0-9a-f-]{36}$/);
      await page.reload();
      await page.locator(`[data-message-id="${messageId}"][data-status=COMPLETE]`).waitFor();
      expect(page.url()).toBe(chatUrl);
      expect(await answerText(page, messageId)).toBe(finalText);
      expect(await page.locator(`[data-message-id="${messageId}"] [data-part=reasoning]`).count()).toBe(1);
      expect(await page.locator(`[data-message-id="${messageId}"] [data-part=tool]`).getAttribute("data-state")).toBe(
        "output-available",
      );
      expect(await page.locator("[data-testid=message][data-role=USER]").allTextContents()).toEqual([
        expect.stringContaining("Hello from the browser"),
      ]);

      // A slow answer, stopped mid-way: the partial answer stays, marked stopped.
      await send(page, "[slow] Tell me a long story");
      await page.locator("[data-testid=message][data-role=ASSISTANT][data-status=STREAMING]").waitFor();
      const slow = lastAssistant(page);
      const slowId = (await slow.getAttribute("data-message-id"))!;
      expect(slowId).not.toBe(messageId);
      await expect.poll(() => answerText(page, slowId), { timeout: 15_000 }).toMatch(/Part 3 of a long answer/);
      await page.getByTestId("stop").click();
      const stopped = page.locator(`[data-message-id="${slowId}"][data-status=ABORTED]`);
      await stopped.waitFor();
      expect(await stopped.locator(".badge").textContent()).toBe("stopped");
      await expect.poll(() => page.getByTestId("send").isVisible()).toBe(true);
      const partial = await answerText(page, slowId);
      expect(partial).toMatch(/Part \d+ of a long answer/);
      expect(partial).not.toMatch(/Part 400 of a long answer/);
      // It does not grow any more.
      await page.waitForTimeout(500);
      expect(await answerText(page, slowId)).toBe(partial);

      // Reload: the partial answer is stored as ABORTED, as it was shown.
      await page.reload();
      await page.locator(`[data-message-id="${slowId}"][data-status=ABORTED]`).waitFor();
      expect(await answerText(page, slowId)).toBe(partial);
      expect(await answerText(page, messageId)).toBe(finalText);
      await expect.poll(() => page.getByTestId("messages-left").textContent()).toBe("18 messages left today");

      mkdirSync(OUTPUT_DIR, { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);
});

describe.skipIf(!runBrowser)("an answer outlives a reload", () => {
  test("reloading mid-answer shows the same answer still streaming, then finished, every token once", async () => {
    const { page, errors, close } = await openBrowser();
    try {
      await page.goto(`${gateway.url}/`);
      await page.getByTestId("sign-in").click();
      await page.getByTestId("messages-left").waitFor();
      // 150 deltas, 40 ms apart: about 6 s.
      await send(page, "[long:150] Keep going after a reload");
      await page.locator("[data-testid=message][data-role=ASSISTANT][data-status=STREAMING]").waitFor();
      const answerId = (await lastAssistant(page).getAttribute("data-message-id"))!;
      await expect.poll(() => answerText(page, answerId)).toContain("token000010");
      const beforeReload = await answerText(page, answerId);
      expect(beforeReload).not.toContain("token000150");

      await page.reload();
      const answer = page.locator(`[data-message-id="${answerId}"]`);
      await answer.waitFor();
      await recordAnswer(page);
      await page.locator(`[data-message-id="${answerId}"][data-status=COMPLETE]`).waitFor({ timeout: 20_000 });

      const tokens = (text: string) => text.match(/token\d+/g) ?? [];
      const expected = Array.from({ length: 150 }, (_, i) => `token${String(i + 1).padStart(6, "0")}`);
      const finalText = await answerText(page, answerId);
      expect(tokens(finalText)).toEqual(expected);
      expect(finalText.startsWith(beforeReload)).toBe(true);
      // After the reload the page kept streaming it: several growing STREAMING
      // states, each a prefix of the final answer, none repeating a token.
      const streaming = (await recorded(page)).filter((s) => s.status === "STREAMING");
      expect(new Set(streaming.map((s) => s.text)).size).toBeGreaterThanOrEqual(3);
      for (const s of streaming) {
        expect(finalText.startsWith(s.text)).toBe(true);
        expect(tokens(s.text)).toEqual(expected.slice(0, tokens(s.text).length));
      }
      await expect.poll(() => page.getByTestId("send").isVisible()).toBe(true);

      // Stored as shown, and counted once.
      await page.reload();
      await page.locator(`[data-message-id="${answerId}"][data-status=COMPLETE]`).waitFor();
      expect(await answerText(page, answerId)).toBe(finalText);
      expect(await page.locator("[data-testid=message][data-role=ASSISTANT]").count()).toBe(1);
      await expect.poll(() => page.getByTestId("messages-left").textContent()).toBe("19 messages left today");
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);
});

describe.skipIf(!runBrowser)("GraphiQL in headless Chromium", () => {
  test("opens with the guide and runs the SendMessage example over SSE, with no request off this origin", async () => {
    const { page, errors, close } = await openBrowser();
    try {
      const offOrigin: string[] = [];
      let sse = false;
      page.on("request", (request) => {
        const url = request.url();
        // GraphiQL subscribes with GET and `accept: text/event-stream`.
        if (url.startsWith(`${gateway.url}/graphql?`) && request.headers()["accept"]?.includes("text/event-stream")) {
          sse ||= new URL(url).searchParams.get("query")?.startsWith("subscription SendMessage") ?? false;
        }
        if (!url.startsWith(gateway.url) && !/^(data|blob|about):/.test(url)) offOrigin.push(url);
      });
      const { data } = await gateway.gql(`mutation { createGuestSession { token } }`);
      const token = data.createGuestSession.token as string;
      // The token in the Headers tab, as the guide says (put in GraphiQL's
      // storage before it starts: typing into its editor is not the point here).
      await page.addInitScript((t) => {
        if (!localStorage.getItem("graphiql:headers")) {
          localStorage.setItem("graphiql:headers", JSON.stringify({ Authorization: `Bearer ${t}` }));
        }
      }, token);
      await page.goto(`${gateway.url}/graphql`);
      await page.getByText("Welcome to the chat gateway.").first().waitFor();
      await page.locator(".graphiql-execute-button").click();
      await page.getByRole("menuitem", { name: "SendMessage" }).click();
      await expect
        .poll(() => page.locator(".graphiql-response").textContent(), { timeout: 15_000 })
        .toContain("StreamFinished");
      expect(await page.locator(".graphiql-response").textContent()).toMatch(/"status":\s*"COMPLETE"/);
      expect(sse).toBe(true);
      expect(offOrigin).toEqual([]);
      expect(errors.filter((e) => !e.includes("Failed to load resource"))).toEqual([]);
    } finally {
      await close();
    }
  }, 30_000);
});

describe.skipIf(!runBrowser)(
  "the demo chat against a persisted-operations-only gateway, with a longer text limit",
  () => {
    let persisted: TestGateway;
    beforeAll(async () => {
      persisted = await startTestGateway({
        MOCK_DELTA_DELAY_MS: "0",
        PERSISTED_OPERATIONS_ONLY: "true",
        MAX_TEXT_LENGTH: "5000",
      });
    }, 60_000);
    afterAll(async () => {
      await persisted?.close();
    });

    test("the page sends document hashes only, and a turn streams and is stored", async () => {
      const { page, errors, close } = await openBrowser();
      try {
        const bodies: string[] = [];
        page.on("request", (request) => {
          if (request.url().endsWith("/graphql") && request.method() === "POST") bodies.push(request.postData() ?? "");
        });
        await page.goto(`${persisted.url}/`);
        await page.getByTestId("sign-in").click();
        await page.getByTestId("messages-left").waitFor();
        // The page counts against this gateway's MAX_TEXT_LENGTH, not the default's.
        await page.getByTestId("composer").fill("x".repeat(2500));
        expect(await page.getByTestId("char-count").textContent()).toBe("2,500 / 5,000");
        await page.getByTestId("composer").fill("");
        await send(page, "[plain] Persisted hello");
        await page.locator("[data-testid=message][data-role=ASSISTANT][data-status=COMPLETE]").waitFor();
        const id = (await lastAssistant(page).getAttribute("data-message-id"))!;
        expect(await answerText(page, id)).toContain('You said: "[plain] Persisted hello"');
        expect(bodies.length).toBeGreaterThanOrEqual(3);
        for (const body of bodies) {
          const params = JSON.parse(body) as {
            query?: string;
            extensions?: { persistedQuery?: { sha256Hash?: string } };
          };
          expect(params.query).toBeUndefined();
          expect(params.extensions?.persistedQuery?.sha256Hash).toMatch(/^sha256:[0-9a-f]{64}$/);
        }
        expect(errors).toEqual([]);
      } finally {
        await close();
      }
    }, 30_000);
  },
);

describe.skipIf(!runBrowser)("stopping an answer", () => {
  test("a double click on Stop stops the answer and does not send the draft typed meanwhile", async () => {
    const { page, errors, close } = await openBrowser();
    try {
      await page.goto(`${gateway.url}/`);
      await page.getByTestId("sign-in").click();
      await expect.poll(() => page.getByTestId("messages-left").textContent()).toBe("20 messages left today");
      await send(page, "[slow] Tell me a long story");
      await page.locator("[data-testid=message][data-role=ASSISTANT][data-status=STREAMING]").waitFor();
      await page.getByTestId("composer").fill("The next question, half written");
      // Stop turns into Send under the pointer: a person's second click (a fifth of a second later) lands on Send.
      const where = (await page.getByTestId("stop").boundingBox())!;
      const [x, y] = [where.x + where.width / 2, where.y + where.height / 2];
      await page.mouse.click(x, y);
      await page.getByTestId("send").waitFor();
      await page.mouse.click(x, y);
      await page.locator("[data-testid=message][data-role=ASSISTANT][data-status=ABORTED]").waitFor();
      await page.waitForTimeout(1_000);
      expect(await page.locator("[data-testid=message][data-role=USER]").count()).toBe(1);
      expect(await page.getByTestId("composer").inputValue()).toBe("The next question, half written");
      expect(await page.getByTestId("messages-left").textContent()).toBe("19 messages left today");
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);
});

describe.skipIf(!runBrowser)("a refused message", () => {
  test("a message over the limit is counted, refused in plain words, and kept in the composer, not shown as sent", async () => {
    const { page, errors, close } = await openBrowser();
    try {
      await page.goto(`${gateway.url}/`);
      await page.getByTestId("sign-in").click();
      await expect.poll(() => page.getByTestId("messages-left").textContent()).toBe("20 messages left today");

      const tooLong = `${"A sentence that goes on. ".repeat(80)}And one more.`;
      expect(tooLong.length).toBeGreaterThan(2000);
      await page.getByTestId("composer").fill(tooLong);
      const count = page.getByTestId("char-count");
      expect(await count.textContent()).toBe("2,013 / 2,000 (too long to send)");
      expect(await count.getAttribute("data-over")).toBe("true");
      await page.getByTestId("send").click();

      const refusal = page.getByTestId("turn-error");
      await refusal.waitFor();
      expect(await refusal.textContent()).toBe(
        "This message is too long to send: a message can have at most 2,000 characters. Shorten it and send it again.",
      );
      expect(await refusal.getAttribute("data-code")).toBe("bad_request:api");
      // The text is still there to shorten; nothing shows as sent, nothing was counted.
      await expect.poll(() => page.getByTestId("composer").inputValue()).toBe(tooLong);
      expect(await page.locator("[data-testid=message]").count()).toBe(0);
      expect(await page.getByTestId("messages-left").textContent()).toBe("20 messages left today");

      // Shortened, it goes: the refusal gives way to the answer.
      await page.getByTestId("composer").fill("A short one");
      expect(await count.textContent()).toBe("11 / 2,000");
      await page.getByTestId("send").click();
      await page.locator("[data-testid=message][data-role=ASSISTANT][data-status=COMPLETE]").waitFor();
      expect(await refusal.count()).toBe(0);
      expect(await page.getByTestId("composer").inputValue()).toBe("");
      expect(await page.locator("[data-testid=message][data-role=USER]").allTextContents()).toEqual([
        expect.stringContaining("A short one"),
      ]);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 60_000);
});
